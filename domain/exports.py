"""What an export is made of, as plain values both storage and documents understand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, NamedTuple


class ReportLine(NamedTuple):
    """One report as the "Báo cáo" sheet shows it: a plain tuple, cheap to make a million
    of, with the names a reader needs (the report itself holds codes and ids)."""

    id: int
    occurred_on: dt.date
    unit_name: str
    person_name: str
    indicator: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime | None
    version: int
    photos: int
    values: Mapping[str, Any]
