"""The export (workbook) of a cluster or of the federation: data in a transaction, the file
outside it.

`gather` reads, in the caller's transaction, everything the workbook shows
but the report rows: each cluster's standings and reporting rates, the
targets, and that there are reports at all. It returns a plain model. The
file is then made with the database free: `render` (a cluster's export in
chat, its few thousand rows held in the model, run in the worker process)
or `write_from_snapshot` (`thidua export`: a federation's year streamed
from a read-only snapshot into the file, a row at a time).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO

from documents.filing import Filing, minutes_docx, summary_docx
from documents.workbook import (
    ClusterSheet,
    ReportShape,
    TargetRow,
    Translate,
    write_workbook,
)
from domain.access import Action
from domain.errors import UserInputError
from domain.exports import ReportLine
from domain.models import Cluster, ClusterRole, IndicatorDef
from domain.periods import Period
from domain.scoring import Standings
from domain.settings import HandlerSettings
from domain.text import capitalized
from storage import exports as rows
from storage import finalised as finalised_repo
from storage import org
from storage import targets as targets_repo
from storage.db import Tx
from usecases.access import Caller, require
from usecases.standings import compute, reporting_rates


@dataclass(frozen=True, slots=True)
class ExportData:
    """What the workbook shows, as plain values (picklable: it goes to the worker process).

    `reports` holds the report rows when they were read in the transaction;
    None means they are to be streamed from the database file.
    """

    federation: str
    scope: str
    period: Period
    period_label: str
    clusters: tuple[ClusterSheet, ...]
    targets: tuple[TargetRow, ...]
    indicators: tuple[IndicatorDef, ...]
    lang: str
    generated_at: dt.datetime
    tz: dt.tzinfo
    unit_codes: tuple[str, ...]
    file_name: str
    reports: tuple[ReportLine, ...] | None = None
    filed: tuple[Filed, ...] = ()
    """The documents of each finalised cluster (none while the period is provisional)."""


@dataclass(frozen=True, slots=True)
class Filed:
    """One finalised cluster's documents to file: what they show, and their names' stem."""

    stem: str
    filing: Filing


def filed(
    settings: HandlerSettings,
    cluster: Cluster,
    standings: Standings,
    *,
    period: Period,
    period_label: str,
    lang: str,
    now: dt.datetime,
    finalised_on: dt.date | None,
) -> Filed:
    """The summary table and minutes of a cluster's ranking: the cluster head's unit
    beside "Chủ trì", the members as configured, dated today on the federation's clock."""
    head = next((m.unit for m in cluster.members if m.role is ClusterRole.HEAD), None)
    filing = Filing.of_standings(
        standings,
        federation=settings.federation_name,
        cluster=cluster.name,
        period_label=period_label,
        place=settings.federation_place,
        day=now.astimezone(settings.tz).date(),
        lang=lang,
        finalised_on=finalised_on,
        head_unit=_name(settings, head) if head else "",
        members=tuple(_name(settings, m.unit) for m in cluster.members),
        generated_at=now,
    )
    return Filed(f"thidua-{cluster.code}-{period.key}", filing)


FILED_KINDS = ("bang-tong-hop", "bien-ban")
"""The documents a finalised cluster files, by the end of their file names."""


def filed_document(each: Filed, kind: str, translate: Translate) -> tuple[str, bytes]:
    """(file name, .docx bytes) of the summary table ("bang-tong-hop") or the minutes
    ("bien-ban"); run it in the worker process or a thread (python-docx holds the
    interpreter)."""
    make = summary_docx if kind == "bang-tong-hop" else minutes_docx
    return f"{each.stem}-{kind}.docx", make(each.filing, translate)


async def gather(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    translate: Translate,
    lang: str,
    cluster: Cluster | None,
    period: Period,
    now: dt.datetime,
    *,
    hold_reports: bool,
) -> ExportData:
    """The export of one cluster, or (`cluster` None) of the federation: every cluster of the
    period's year with its standings, and every unit's reports and targets.

    A period without a single report raises "export.no_data" rather than make
    a file of empty sheets. With `hold_reports` the report rows are read here
    (one join; a cluster's year is small), else they are left for
    `write_from_snapshot`.
    """
    about = caller.target(cluster=cluster.code) if cluster else caller.target(federation=True)
    require(caller, Action.EXPORT, about)
    today = now.astimezone(settings.tz).date()
    if cluster is not None:
        clusters = [cluster]
        codes = [m.unit for m in cluster.members]
    else:
        clusters = [
            each
            for code in await org.cluster_codes(tx, period.year)
            if (each := await org.cluster(tx, code, period.year)) is not None
        ]
        codes = list(settings.units)
    scope = cluster.name if cluster is not None else settings.federation_name
    if not await rows.count(tx, codes, period.start, period.end):
        raise UserInputError("export.no_data", scope=scope or "—", period=period)
    sheets: list[ClusterSheet] = []
    documents: list[Filed] = []
    label = capitalized(period.name(partial(translate, lang)))
    for each in clusters:
        if settings.scoring is None:
            sheets.append(ClusterSheet(each.name, None))
            continue
        final = await finalised_repo.standing(tx, each.code, period.key)
        if final is not None:  # finalised: the snapshot, "đã chốt ngày …"
            finalised_on = final.finalised_on(settings.tz)
            sheets.append(ClusterSheet(each.name, final.standings, final.rates, finalised_on))
            documents.append(
                filed(
                    settings,
                    each,
                    final.standings,
                    period=period,
                    period_label=label,
                    lang=lang,
                    now=now,
                    finalised_on=finalised_on,
                )
            )
            continue
        result = await compute(tx, settings, each, period, today, now=now)
        rates = await reporting_rates(tx, settings, result, now)
        sheets.append(ClusterSheet(each.name, result.standings, rates))
    measure_labels = {m.code: m.label.get(lang) for m in settings.measures}
    targets = [
        TargetRow(
            t.unit,
            _name(settings, t.unit),
            t.measure,
            measure_labels.get(t.measure, t.measure),
            t.period,
            t.value,
        )
        for t in await targets_repo.for_period(tx, period.key, codes)
    ]
    held = tuple(await rows.lines(tx, codes, period.start, period.end)) if hold_reports else None
    return ExportData(
        federation=settings.federation_name,
        scope=scope,
        period=period,
        period_label=label,
        clusters=tuple(sheets),
        targets=tuple(targets),
        indicators=tuple(settings.indicators),
        lang=lang,
        generated_at=now,
        tz=settings.tz,
        unit_codes=tuple(codes),
        file_name=f"thidua-{cluster.code if cluster else 'all'}-{period.key}.xlsx",
        reports=held,
        filed=tuple(documents),
    )


def render(data: ExportData, translate: Translate) -> bytes:
    """The .xlsx bytes of an export whose reports are held (run it in the worker process)."""
    if data.reports is None:
        raise ValueError("render needs the reports held; stream with write_from_snapshot")
    buffer = io.BytesIO()
    _write(buffer, data, translate, data.reports)
    return buffer.getvalue()


def write_from_snapshot(
    data: ExportData,
    translate: Translate,
    database: str | Path,
    out: Path,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Write the export to `out`, the reports streamed from a read-only snapshot of the
    database file (blocking: call it in a thread). The file appears whole or not at all."""
    period = data.period
    codes: Sequence[str] = data.unit_codes
    with rows.Snapshot(database) as snapshot:
        shape = ReportShape.from_keys(
            snapshot.shape_keys(codes, period.start, period.end),
            snapshot.count(codes, period.start, period.end),
            data.indicators,
        )
        lines = snapshot.lines(codes, period.start, period.end)
        fd, partial_path = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent or ".")
        os.close(fd)
        try:
            _write(partial_path, data, translate, lines, shape, progress)
            os.replace(partial_path, out)
        except BaseException:
            Path(partial_path).unlink(missing_ok=True)
            raise


def _write(
    target: str | IO[bytes],
    data: ExportData,
    translate: Translate,
    reports: Iterable[ReportLine],
    shape: ReportShape | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    write_workbook(
        target,
        translate=translate,
        federation=data.federation,
        scope=data.scope,
        period_label=data.period_label,
        clusters=data.clusters,
        reports=reports,
        targets=data.targets,
        indicators=data.indicators,
        lang=data.lang,
        shape=shape,
        progress=progress,
        generated_at=data.generated_at,
        tz=data.tz,
    )


def _name(settings: HandlerSettings, code: str) -> str:
    unit = settings.units.get(code)
    return unit.name if unit else code


__all__ = [
    "FILED_KINDS",
    "ExportData",
    "Filed",
    "filed",
    "filed_document",
    "gather",
    "render",
    "write_from_snapshot",
]
