"""The federation overview (admins): each cluster's leader, reporting rate and this week's
reports, for a period of the years that have clusters; from the totals standings read."""

from __future__ import annotations

from aiohttp import web

from domain.access import Action
from domain.dates import format_date
from domain.numbers import format_percent
from domain.obligations import Tally
from domain.scoring import format_points
from usecases import overview
from usecases import standings as ranking
from web.context import BadInput, Nav, Page, Route, WebCtx


def _rate(tally: Tally, lang: str) -> str:
    rate = tally.completeness
    return "—" if rate is None else format_percent(rate, lang)


async def show(w: WebCtx) -> web.StreamResponse:
    async with w.tx() as tx:
        years = await ranking.cluster_years(tx)
    periods = ranking.valid_periods(years)
    keys = {p.key: p for p in periods}
    wanted = w.param("period")
    if wanted and wanted not in keys:
        raise BadInput("period")
    default = next((p for p in periods if p.year == w.today.year), periods[0] if periods else None)
    period = keys[wanted] if wanted else default
    if period is None:
        return w.render("overview", seen=None, rows=[], periods=[], period=None)
    async with w.tx() as tx:
        seen = await overview.federation(tx, await w.caller(tx), w.settings, period, w.now)
    rows = [
        {
            "cluster": c.cluster,
            "units": c.units,
            "leader": c.leader.name if c.leader else "—",
            "tied": c.tied,
            "score": format_points(c.leader_score, w.lang) if c.leader_score is not None else "",
            "rate": _rate(c.rate, w.lang),
            "owed": c.rate.expected - c.rate.met,
            "week": c.this_week,
        }
        for c in seen.clusters
    ]
    return w.render(
        "overview",
        seen=seen,
        rows=rows,
        period=period,
        periods=[(p.key, p.name(w.t)) for p in periods],
        total_rate=_rate(seen.rate, w.lang),
        week_from=format_date(seen.week_from, w.lang),
    )


PAGE = Page(
    "overview",
    routes=(Route("GET", "/overview", show, Action.VIEW_ALL_STANDINGS),),
    nav=Nav("web.overview.nav", "/overview", Action.VIEW_ALL_STANDINGS),
)
