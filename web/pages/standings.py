"""Standings: a cluster's ranking for a period (switchable), each criterion's done/target,
the chart, "Vì sao?" per unit, and the workbook; the same use cases as /standings."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from documents.chart import standings_chart
from domain.access import Action
from domain.numbers import format_number, format_percent
from domain.obligations import Tally
from domain.periods import Period
from domain.scoring import explain, format_points
from runtime import workers
from runtime.context import Tx
from usecases import access, dashboard, exports, finalize
from usecases import standings as ranking
from usecases.access import Caller
from usecases.standings import ClusterStandings
from web.context import BadInput, Nav, Page, Route, WebCtx


@dataclass(frozen=True, slots=True)
class Asked:
    cluster: str
    period: Period
    periods: list[Period]


async def asked_period(w: WebCtx) -> Asked:
    """The period (a key of the years that have clusters) and cluster in the query."""
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
        raise BadInput("period")
    cluster = w.param("cluster", max_len=32)
    return Asked(cluster, period, periods)


def _percent(ratio: float | None, lang: str) -> str:
    return format_percent(ratio, lang) if ratio is not None else "—"


async def _ranking(
    w: WebCtx, tx: Tx, caller: Caller, asked: Asked
) -> tuple[ClusterStandings, dict[str, Tally], str | None]:
    """The ranking shown: a finalised period's snapshot (never the live figures) with its
    "đã chốt" note, else the live standings."""
    final = await finalize.finalised(tx, caller, asked.period, asked.cluster or None)
    if final is not None:
        snapshot = final.snapshot
        note = w.t(
            "finalize.note",
            date=f"{snapshot.finalised_on(w.settings.tz):%d/%m/%Y}",
            who=snapshot.finalised_by_name or w.t("finalize.operator"),
        )
        return final.result, snapshot.rates, note
    result, rates = await dashboard.cluster_standings(
        tx, caller, w.settings, asked.cluster, asked.period, w.now
    )
    return result, rates, None


async def show(w: WebCtx) -> web.StreamResponse:
    asked = await asked_period(w)
    async with w.tx() as tx:
        caller = await w.caller(tx)
        result, rates, note = await _ranking(w, tx, caller, asked)
        choices = await dashboard.cluster_choices(
            tx, caller, Action.VIEW_CLUSTER_STANDINGS, asked.period.year
        )
        of_year = await access.in_year(tx, caller, asked.period.year)
    # asked of the policy for the cluster shown (not by listing every exportable cluster:
    # 350 built with their members for an admin at a city federation's size)
    may_export = access.can_ever(caller, Action.EXPORT) and access.allowed(
        of_year, Action.EXPORT, of_year.target(cluster=result.cluster.code)
    )
    t = w.t
    rows = []
    for row in result.standings.rows:
        rate = rates.get(row.unit.code)
        rows.append(
            {
                "rank": row.rank,
                "unit": row.unit.name,
                "code": row.unit.code,
                "score": format_points(row.score, w.lang),
                "rating": t(row.rating.label_key),
                "rate": _percent(rate.completeness if rate else None, w.lang),
                "criteria": [
                    {
                        "done": format_number(c.done, w.lang),
                        "target": format_number(c.target, w.lang) if c.target is not None else "—",
                        "ratio": _percent(c.ratio, w.lang),
                    }
                    for c in row.criteria
                ],
                "why": [
                    t(p.key, **p.params, **({"label": p.label} if p.label else {}))
                    for p in explain(row, w.lang)
                ],
            }
        )
    criteria = (
        [c.criterion.label.get(w.lang) for c in result.standings.rows[0].criteria]
        if result.standings.rows
        else []
    )
    query = {"cluster": result.cluster.code, "period": asked.period.key}
    return w.render(
        "standings",
        cluster=result.cluster,
        clusters=choices,
        period=asked.period,
        periods=[(p.key, p.name(t)) for p in asked.periods],
        period_name=asked.period.name(t),
        rows=rows,
        criteria=criteria,
        query=query,
        may_export=may_export,
        filed=note is not None,
        finalised=note,
        provisional=None if note else w.t("web.provisional", date=f"{w.today:%d/%m/%Y}"),
        advisory=w.t("standings.advisory_finalised" if note else "standings.advisory"),
    )


async def chart(w: WebCtx) -> web.StreamResponse:
    """The chart as a PNG, drawn in the drawing process and kept until the standings change."""
    asked = await asked_period(w)
    async with w.tx() as tx:
        result, _, note = await _ranking(w, tx, await w.caller(tx), asked)
    title = f"{result.cluster.name} — {result.period.name(w.t)}"
    key = ("standings", result.cluster.code, result.period.key, w.lang, note is not None)
    png = await workers.draw_cached(
        key, standings_chart, result.standings, title, w.lang, w.deps.translate
    )
    return web.Response(body=png, content_type="image/png")


async def _export_data(w: WebCtx, *, hold_reports: bool) -> exports.ExportData:
    """What /export gathers for the asked cluster and period, asked of the same policy."""
    asked = await asked_period(w)
    async with w.tx() as tx:
        caller = await w.caller(tx)
        cluster = await dashboard.export_cluster(tx, caller, asked.cluster, asked.period.year)
        return await exports.gather(
            tx,
            caller,
            w.settings,
            w.deps.translate,
            w.lang,
            cluster,
            asked.period,
            w.now,
            hold_reports=hold_reports,
        )


async def workbook(w: WebCtx) -> web.StreamResponse:
    """The cluster's workbook (standings, reports, targets), made in the worker process."""
    data = await _export_data(w, hold_reports=True)
    xlsx = await workers.draw(exports.render, data, w.deps.translate)
    return web.Response(
        body=xlsx,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{data.file_name}"'},
    )


async def filed(w: WebCtx) -> web.StreamResponse:
    """A finalised period's summary table or minutes (.docx), as /export sends them in the
    chat; a period not finalised has none (400, saying so)."""
    kind = w.request.match_info["kind"]
    if kind not in exports.FILED_KINDS:
        raise web.HTTPNotFound()
    data = await _export_data(w, hold_reports=False)
    if not data.filed:
        raise BadInput("period")
    name, made = await workers.draw(exports.filed_document, data.filed[0], kind, w.deps.translate)
    return web.Response(
        body=made,
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


PAGE = Page(
    "standings",
    routes=(
        Route("GET", "/standings", show, Action.VIEW_CLUSTER_STANDINGS),
        Route("GET", "/standings/chart.png", chart, Action.VIEW_CLUSTER_STANDINGS),
        Route("GET", "/standings/workbook.xlsx", workbook, Action.EXPORT),
        Route("GET", "/standings/filed/{kind}", filed, Action.EXPORT),
    ),
    nav=Nav("web.nav_standings", "/standings", Action.VIEW_CLUSTER_STANDINGS),
)
