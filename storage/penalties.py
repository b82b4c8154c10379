"""What bonus/penalty rules count that the reporting tallies do not: returns in review."""

from __future__ import annotations

import datetime as dt

from storage._codec import fetch_all
from storage.port import Tx
from storage.totals import Units, unit_filters

RETURNED = "returned"
"""The review trail's action for a report given back to its officer (report_audit)."""


async def returned(tx: Tx, units: Units, first: dt.date, last: dt.date) -> dict[str, int]:
    """Per unit: how many times a reviewer returned its reports of activities between
    `first` and `last` (each return counts, also of a report fixed or withdrawn since)."""
    out: dict[str, int] = {}
    for cond, params in unit_filters(units, "r.unit_code"):
        rows = await fetch_all(
            tx,
            "SELECT r.unit_code, COUNT(*) FROM reports r "
            "JOIN report_audit a ON a.report_id = r.id "
            f"WHERE {cond}r.occurred_on BETWEEN ? AND ? AND a.action = ? "
            "GROUP BY r.unit_code",
            [*params, first.isoformat(), last.isoformat(), RETURNED],
        )
        for row in rows:
            out[row[0]] = out.get(row[0], 0) + int(row[1])
    return out
