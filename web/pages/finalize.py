"""Finalising ("chốt số liệu") from the browser: a cluster's period with what is still open
and a confirm form, then "Đã chốt ngày …"; an admin's reopen form with a reason. The same
use cases as /finalize and /reopen in the chat (usecases/finalize.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from domain.access import Action
from domain.periods import Period
from domain.snapshots import OpenItems
from usecases import access, dashboard, finalize
from web.app import redirect
from web.context import BadInput, Nav, Page, Route, WebCtx
from web.pages.standings import asked_period


def open_lines(w: WebCtx, items: OpenItems) -> list[str]:
    """What is still open, one line each, in the chat's words."""
    lines = []
    if items.unreviewed:
        lines.append(w.t("finalize.open_unreviewed", count=items.unreviewed))
    for m in items.missing:
        lines.append(w.t("finalize.open_missing", unit=m.name, met=m.met, expected=m.expected))
    if items.unlocks:
        lines.append(w.t("finalize.open_unlocks", units=", ".join(items.unlocks)))
    return [line.lstrip("• ") for line in lines]


def _here(cluster: str, period: Period, **more: str) -> str:
    return "/app/finalize?" + urlencode({"cluster": cluster, "period": period.key, **more})


async def show(w: WebCtx) -> web.StreamResponse:
    """The period as it stands: finalised (when, by whom, the ranking kept; admins may
    reopen), else what is still open and the confirm form."""
    asked = await asked_period(w)
    async with w.tx() as tx:
        caller = await w.caller(tx)
        choices = await dashboard.cluster_choices(tx, caller, Action.FINALIZE, asked.period.year)
        code = asked.cluster or (choices[0].code if choices else None)
        final = await finalize.finalised(tx, caller, asked.period, code) if code else None
        shown = None
        if final is None:
            shown = await finalize.preview(tx, caller, w.settings, asked.period, w.now, code)
        of_year = await access.in_year(tx, caller, asked.period.year)
        trail = await finalize.trail(tx, caller, asked.period, code) if code else []
    cluster = final.result.cluster if final is not None else shown.cluster if shown else None
    assert cluster is not None
    t = w.t
    values: dict[str, Any] = {
        "note": None,
        "rows": [],
        "may_reopen": False,
        "open": [],
        "question": "",
    }
    if final is not None:
        snapshot = final.snapshot
        values["note"] = t(
            "finalize.note",
            date=f"{snapshot.finalised_on(w.settings.tz):%d/%m/%Y}",
            who=snapshot.finalised_by_name or t("finalize.operator"),
        )
        values["rows"] = [
            t(
                "finalize.row",
                rank=f"={row.rank}" if row.tied else str(row.rank),
                unit=row.unit_name,
                score=row.format_score(w.lang),
                rating=row.rating,
            )
            for row in snapshot.rows
        ]
        values["may_reopen"] = access.allowed(
            of_year, Action.REOPEN_PERIOD, of_year.target(cluster=cluster.code)
        )
    elif shown is not None:
        values["open"] = open_lines(w, shown.open_items)
        values["question"] = t("finalize.question", period=asked.period)
    query = {"cluster": cluster.code, "period": asked.period.key}
    return w.render(
        "finalize",
        cluster=cluster,
        clusters=choices,
        period=asked.period,
        period_name=asked.period.name(t),
        periods=[(p.key, p.name(t)) for p in asked.periods],
        said=w.param("said", max_len=300),
        standings="/app/standings?" + urlencode(query),
        history=history(w, trail),
        **values,
    )


#: What each line of the period's trail says was done.
TRAIL_WORDS = {"finalised": "web.history_finalised", "reopened": "web.history_reopened"}


def history(w: WebCtx, trail: list[finalize.TrailEntry]) -> list[dict[str, str]]:
    """The period's finalisations and reopenings, newest first: when, who, what, why."""
    tz = w.settings.tz
    return [
        {
            "at": entry.at.astimezone(tz).strftime("%H:%M %d/%m/%Y"),
            "who": entry.person_name
            or (w.t("finalize.operator") if entry.person_id is None else "—"),
            "action": w.t(TRAIL_WORDS.get(entry.action, "web.history_finalised")),
            "reason": entry.reason or "",
        }
        for entry in reversed(trail)
    ]


async def _posted(w: WebCtx) -> tuple[str, Period, str]:
    form = await w.request.post()
    cluster = str(form.get("cluster", ""))
    if not cluster or len(cluster) > 32:
        raise BadInput("cluster")
    try:
        period = Period.from_key(str(form.get("period", "")))
    except ValueError:
        raise BadInput("period") from None
    return cluster, period, str(form.get("reason", ""))


async def confirm(w: WebCtx) -> web.StreamResponse:
    """POST the confirm form: the snapshot stored (the person saw what is open and said
    yes), then the page again saying so."""
    cluster, period, _ = await _posted(w)
    async with w.tx() as tx:
        caller = await w.caller(tx)
        await finalize.finalize(
            tx, caller, w.settings, period, w.now, confirmed=True, cluster_code=cluster
        )
    return redirect(_here(cluster, period))


async def reopen(w: WebCtx) -> web.StreamResponse:
    """POST an admin's reopening, with the reason (kept in the period's trail)."""
    cluster, period, reason = await _posted(w)
    async with w.tx() as tx:
        caller = await w.caller(tx)
        snapshot = await finalize.reopen(tx, caller, w.settings, period, reason, w.now, cluster)
    local = snapshot.finalised_at.astimezone(w.settings.tz)
    said = w.t(
        "finalize.reopened",
        cluster=snapshot.cluster_name,
        period=period,
        when=f"{local:%H:%M %d/%m/%Y}",
    )
    return redirect(_here(cluster, period, said=said[:300]))


PAGE = Page(
    "finalize",
    routes=(
        Route("GET", "/finalize", show, Action.FINALIZE),
        Route("POST", "/finalize", confirm, Action.FINALIZE),
        Route("POST", "/finalize/reopen", reopen, Action.REOPEN_PERIOD),
    ),
    nav=Nav("web.nav_finalize", "/finalize", Action.FINALIZE),
)
