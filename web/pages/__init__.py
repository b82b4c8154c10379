"""The dashboard's pages, in navigation order (see web/__init__.py: how a page is added)."""

from __future__ import annotations

from web.context import Page
from web.pages import (
    completeness,
    finalize,
    overview,
    people,
    reports,
    standings,
    targets,
    unit,
    unlocks,
)

PAGES: tuple[Page, ...] = (
    standings.PAGE,
    completeness.PAGE,
    finalize.PAGE,
    unlocks.PAGE,
    unit.PAGE,
    reports.PAGE,
    targets.PAGE,
    people.PAGE,
    overview.PAGE,
)
