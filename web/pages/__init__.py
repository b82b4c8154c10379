"""The dashboard's pages, in navigation order (see web/__init__.py: how a page is added)."""

from __future__ import annotations

from web.context import Page
from web.pages import completeness, overview, people, reports, standings, targets

PAGES: tuple[Page, ...] = (
    standings.PAGE,
    completeness.PAGE,
    reports.PAGE,
    targets.PAGE,
    people.PAGE,
    overview.PAGE,
)
