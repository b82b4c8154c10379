"""Targets: the year's targets of a cluster (its head and deputy, read only) or of every
unit (admins); the template to fill in; a filled one uploaded with the same all-or-nothing
reading and row-numbered problems as `thidua targets import`; one target edited."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from documents.targets_file import MAX_BYTES, TargetsFileError, targets_template
from domain.access import Action
from domain.errors import UserInputError
from domain.numbers import format_number, parse_number
from domain.periods import Period
from usecases import dashboard
from usecases import targets as targets_uc
from web.app import redirect
from web.context import BadInput, Nav, Page, Route, WebCtx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUFFIXES = frozenset({".xlsx", ".csv"})


def whole(w: WebCtx, name: str, default: int, lo: int, hi: int) -> int:
    """A whole number of the query in lo..hi (absent: `default`); 400 otherwise."""
    raw = w.param(name, max_len=12)
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not lo <= int(raw) <= hi:
        raise BadInput(name)
    return int(raw)


EVERY = "*"  # ?cluster=* : every unit (admins); no cluster: the first one the person may see


def asked_cluster(w: WebCtx, choices: Sequence[dashboard.ClusterChoice]) -> str | None:
    """The cluster in the query; `*` every unit (None); none: the first of `choices`, so a
    federation's page stays one cluster long unless every unit is asked for."""
    asked = w.param("cluster", max_len=32)
    if asked == EVERY:
        return None
    return asked or (choices[0].code if choices else None)


def year_of(w: WebCtx) -> int:
    """The year a page is about (?year=, default this year)."""
    return whole(w, "year", w.today.year, 2000, 2100)


def _period_key(raw: str, year: int | None = None) -> str:
    """A period key ("2026", "2026-H1"…); 400 otherwise."""
    try:
        period = Period.from_key(raw)
    except ValueError:
        raise BadInput("period") from None
    if year is not None and period.year != year:
        raise BadInput("period")
    return period.key


async def show(
    w: WebCtx,
    *,
    status: int = 200,
    problems: list[tuple[int, str]] | None = None,
    summary: str = "",
    year: int | None = None,
) -> web.StreamResponse:
    year = year if year is not None else year_of(w)
    async with w.tx() as tx:
        caller = await w.caller(tx)
        choices = await dashboard.cluster_choices(tx, caller, Action.VIEW_TARGETS, year)
        cluster = asked_cluster(w, choices)
        page = await targets_uc.of_year(tx, caller, w.settings, year, cluster)
    lang = w.lang
    rows = [
        {
            "unit": unit,
            "measure": measure,
            "values": [
                (key, _shown(page.values.get((unit.code, measure.code, key)), lang))
                for key in page.periods
            ],
        }
        for unit in page.units
        for measure in page.measures
    ]
    imported = whole(w, "imported", -1, 0, 1_000_000) if not problems else -1
    edited = w.param("edited", max_len=120) if not problems else ""
    return w.render(
        "targets",
        status=status,
        year=year,
        page=page,
        clusters=choices,
        rows=rows,
        periods=[(key, Period.from_key(key).name(w.t)) for key in page.periods],
        settable=[
            (key, Period.from_key(key).name(w.t))
            for key in dict.fromkeys([*page.periods, f"{year}-H1", f"{year}-H2"])
        ],
        problems=problems or [],
        summary=summary,
        imported=imported,
        edited=edited,
        max_mb=format_number(MAX_BYTES / 1e6, lang),
        every=EVERY,
    )


def _shown(value: float | None, lang: str) -> str:
    return "" if value is None else format_number(value, lang)


async def view(w: WebCtx) -> web.StreamResponse:
    return await show(w)


async def template(w: WebCtx) -> web.StreamResponse:
    """The targets sheet of a period, with what is set filled in (admins)."""
    key = _period_key(w.param("period", str(w.today.year)))
    async with w.tx() as tx:
        existing = await targets_uc.every_target(tx, await w.caller(tx))
    data = await asyncio.to_thread(
        targets_template,
        list(w.settings.units.values()),
        list(w.settings.measures),
        key,
        translate=w.deps.translate,
        lang=w.lang,
        existing=existing,
        generated_at=w.now,
    )
    name = w.t("web.targets.file_name", period=key)
    return web.Response(
        body=data,
        content_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _uploaded(w: WebCtx) -> tuple[str, bytes]:
    """The file of the upload form: its name and bytes; UserInputError (said on the page)
    when there is none, it is not .xlsx or .csv, or it is too big."""
    form = await w.request.post()
    field = form.get("file")
    if not isinstance(field, web.FileField) or not field.filename:
        raise UserInputError("web.targets.no_file")
    name = PurePath(field.filename).name[:200]
    if PurePath(name).suffix.lower() not in SUFFIXES:
        raise UserInputError("web.targets.wrong_kind", name=name)
    data = field.file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise UserInputError("web.targets.too_big", most=format_number(MAX_BYTES / 1e6, w.lang))
    return name, data


async def upload(w: WebCtx) -> web.StreamResponse:
    """A filled targets file: every row good and all are set, or none is and every problem
    is shown with its row number (the reading `thidua targets import` does)."""
    year = year_of(w)
    async with w.tx() as tx:
        caller = await w.caller(tx)
    try:
        name, data = await _uploaded(w)
        rows = await asyncio.to_thread(
            targets_uc.read_file,
            caller,
            w.settings,
            data,
            name,
            translate=w.deps.translate,
            lang=w.lang,
        )
    except TargetsFileError as refused:
        summary = w.t("web.targets.refused", count=len(refused.problems))
        return await show(w, status=400, problems=refused.problems, summary=summary, year=year)
    except UserInputError as refused:
        problem = w.t(refused.key, **refused.params)
        return await show(w, status=400, problems=[(0, problem)], summary=problem, year=year)
    async with w.tx() as tx:
        count = await targets_uc.import_rows(tx, caller, rows, w.now)
    return redirect(_back(w, year, imported=count))


def _back(w: WebCtx, year: int, **extra: Any) -> str:
    query: dict[str, Any] = {"year": year}
    cluster = w.param("cluster", max_len=32)
    if cluster:
        query["cluster"] = cluster
    return f"/app/targets?{urlencode({**query, **extra})}"


async def edit(w: WebCtx) -> web.StreamResponse:
    """One target set (admins): unit, measure, period of the year shown, value."""
    year = year_of(w)
    form = await w.request.post()

    def field(name: str, most: int = 64) -> str:
        value = form.get(name)
        if not isinstance(value, str) or len(value) > most:
            raise BadInput(name)
        return value.strip()

    key = _period_key(field("period"), year)
    try:
        value = parse_number(field("value"))
    except UserInputError as refused:
        problem = w.t(refused.key, **refused.params)
        return await show(w, status=400, problems=[(0, problem)], summary=problem, year=year)
    async with w.tx() as tx:
        target = await targets_uc.set_one(
            tx,
            await w.caller(tx),
            w.settings,
            unit=field("unit", 32),
            measure=field("measure", 32),
            period=Period.from_key(key),
            value=value,
            now=w.now,
        )
    said = f"{target.unit} · {target.measure} · {target.period} = {format_number(value, w.lang)}"
    return redirect(_back(w, year, edited=said))


PAGE = Page(
    "targets",
    routes=(
        Route("GET", "/targets", view, Action.VIEW_TARGETS),
        Route("GET", "/targets/template.xlsx", template, Action.SET_TARGET),
        Route("POST", "/targets/upload", upload, Action.SET_TARGET, max_body=MAX_BYTES + 2**18),
        Route("POST", "/targets/edit", edit, Action.SET_TARGET),
    ),
    nav=Nav("web.targets.nav", "/targets", Action.VIEW_TARGETS),
)
