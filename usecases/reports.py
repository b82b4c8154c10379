"""Reports: create, edit, retract, and the unit's latest ones (/myreports).

The conversation that gathers the values lives in handlers/report.py; here a
report is checked against the access policy (own unit, or an admin on behalf
of another; own reports only to change them), its date against the open
periods, and saved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.access import Action
from domain.errors import UserInputError
from domain.fields import DateRules, check_date
from domain.models import FieldType, IndicatorDef, Photo, Report, ReportStatus, ReviewState
from domain.rules import Broken, Unusual, broken, outliers
from domain.settings import HandlerSettings
from domain.suggest import unit_code
from storage import org, people, report_checks
from storage import reports as reports_repo
from storage.db import Tx
from usecases.access import Caller, allowed, require
from usecases.unlocks import open_rules


def may_report_for_others(caller: Caller) -> bool:
    """Whether the caller may name another unit to report for (admins)."""
    return allowed(caller, Action.REPORT_FOR_UNIT, caller.target())


def report_unit(caller: Caller, settings: HandlerSettings, typed: str | None = None) -> str:
    """The unit a new report is for: the caller's own, or (`typed`, admins) another."""
    if typed:
        code = unit_code(settings.units, typed)
        require(caller, Action.REPORT_FOR_UNIT, caller.target(unit=code))
        return code
    require(caller, Action.REPORT, caller.target(unit=caller.actor.unit))
    assert caller.actor.unit is not None  # the policy grants REPORT to registered people only
    return caller.actor.unit


def _require_report(caller: Caller, unit: str) -> int:
    if unit == caller.actor.unit:
        require(caller, Action.REPORT, caller.target(unit=unit))
    else:
        require(caller, Action.REPORT_FOR_UNIT, caller.target(unit=unit))
    assert caller.actor.person_id is not None
    return caller.actor.person_id


def _occurred(indicator: IndicatorDef, values: Mapping[str, Any], rules: DateRules) -> dt.date:
    """The day the activity happened (its date field, else today), in an open period."""
    date_field = indicator.date_field
    day = (
        dt.date.fromisoformat(values[date_field.code])
        if date_field and date_field.code in values
        else rules.today
    )
    return check_date(day, rules)


_NUMERIC = (FieldType.INTEGER, FieldType.MONEY, FieldType.NUMBER)


@dataclass(frozen=True, slots=True)
class Checked:
    """What the checks beyond one field say of a report about to be saved: the rules it
    breaks (refused), else its unusual values (asked "Bạn chắc chắn?", kept as warnings)."""

    broken: tuple[Broken, ...] = ()
    warnings: tuple[Unusual, ...] = ()


async def _unusual(
    tx: Tx,
    settings: HandlerSettings,
    *,
    unit: str,
    indicator: IndicatorDef,
    values: Mapping[str, Any],
    now: dt.datetime,
    report_id: int | None,
) -> tuple[Unusual, ...]:
    numeric = {
        f.code: f.soft_max for f in indicator.fields if f.type in _NUMERIC and f.code in values
    }
    rules = settings.outliers
    usual: dict[str, float] = {}
    if rules.enabled and numeric:
        today = now.astimezone(settings.tz).date()
        usual = await report_checks.medians(
            tx,
            unit_code=unit,
            indicator=indicator.code,
            fields=list(numeric),
            since=today - dt.timedelta(days=rules.days),
            min_reports=rules.min_reports,
            leave_out=report_id,
        )
    return outliers(numeric, values, usual, rules)


def _rules_broken(indicator: IndicatorDef, values: Mapping[str, Any]) -> tuple[Broken, ...]:
    return broken([r.tree for r in indicator.rules], values)


def _refuse_broken(
    settings: HandlerSettings, indicator: IndicatorDef, values: Mapping[str, Any]
) -> None:
    """Saving a report that breaks a rule is refused here too, whoever calls."""
    for found in _rules_broken(indicator, values):
        message = indicator.rules[found.index].message.get(settings.default_language)
        raise UserInputError("check.refused", message=message)


async def check(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    *,
    unit: str,
    indicator: IndicatorDef,
    values: Mapping[str, Any],
    now: dt.datetime,
    report_id: int | None = None,
) -> Checked:
    """The checks beyond one field, before ✅ Lưu saves (`report_id`: an edit of that one)."""
    if report_id is None:
        _require_report(caller, unit)
    else:
        await changeable(tx, caller, settings, report_id, now)
    found = _rules_broken(indicator, values)
    if found:
        return Checked(broken=found)
    unusual = await _unusual(
        tx,
        settings,
        unit=unit,
        indicator=indicator,
        values=values,
        now=now,
        report_id=report_id,
    )
    return Checked(warnings=unusual)


async def warnings(tx: Tx, caller: Caller, report_id: int) -> tuple[Unusual, ...]:
    """The unusual values a report's current version was confirmed with.

    For whoever may see the report: its own unit, who may look at that unit (/unit), and
    who may see it on the dashboard or review it (its cluster's leaders, the federation's
    reviewers, admins).
    """
    report = await reports_repo.get(tx, report_id)
    if report is None:
        raise UserInputError("err.no_such_report", id=report_id)
    about = caller.target(unit=report.unit_code)
    if not allowed(caller, Action.REPORT, about):
        cluster = await org.cluster_of(tx, report.unit_code, caller.year or report.occurred_on.year)
        about = caller.target(unit=report.unit_code, cluster=cluster.code if cluster else None)
        seen = (Action.VIEW_REPORTS, Action.REVIEW_LED, Action.REVIEW_FEDERATION)
        if not any(allowed(caller, action, about) for action in seen):
            require(caller, Action.VIEW_UNIT, about, id=report_id)
    return await report_checks.of_report(tx, report.id, report.version)


async def create(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    *,
    unit: str,
    indicator: IndicatorDef,
    values: Mapping[str, Any],
    photos: tuple[Photo, ...],
    source_key: str,
    now: dt.datetime,
) -> Report:
    """Save a new report, once per `source_key` (a redelivered confirmation finds it).

    A report breaking a rule of its indicator is refused; its unusual values (the
    caller asked "Bạn chắc chắn?" first) are kept with it as warnings.
    """
    person_id = _require_report(caller, unit)
    occurred = _occurred(indicator, values, await open_rules(tx, settings, unit, now))
    _refuse_broken(settings, indicator, values)
    unusual = await _unusual(
        tx, settings, unit=unit, indicator=indicator, values=values, now=now, report_id=None
    )
    report, created = await reports_repo.create(
        tx,
        unit_code=unit,
        person_id=person_id,
        indicator=indicator.code,
        values=values,
        occurred_on=occurred,
        photos=photos,
        source_key=source_key,
        now=now,
        review=settings.review.on_save(),
    )
    if created:
        await report_checks.save(
            tx, report.id, report.version, unusual, person_id=person_id, now=now
        )
    return report


def check_may_change(
    caller: Caller, settings: HandlerSettings, report: Report, now: dt.datetime
) -> None:
    """Own reports only (the access policy), still active, within the edit window."""
    about = caller.target(unit=report.unit_code, author=report.person_id)
    require(caller, Action.CHANGE_REPORT, about, id=report.id)
    if report.status != ReportStatus.ACTIVE:
        raise UserInputError("err.report_retracted", id=report.id)
    if report.review == ReviewState.RETURNED:
        return  # to be fixed whatever its age (its period must be open: `changeable`)
    if now - report.created_at > settings.edit_window:
        hours = int(settings.edit_window.total_seconds() // 3600)
        raise UserInputError("err.edit_window_over", id=report.id, hours=hours)


async def changeable(
    tx: Tx, caller: Caller, settings: HandlerSettings, report_id: int, now: dt.datetime
) -> Report:
    """The report `report_id`, if the caller may still edit or retract it."""
    report = await reports_repo.get(tx, report_id)
    if report is None:
        raise UserInputError("err.no_such_report", id=report_id)
    check_may_change(caller, settings, report, now)
    if report.review == ReviewState.RETURNED:
        # A returned report of a closed period goes through "xin mở khóa" (err.period_closed
        # offers it) like any date of a closed period.
        check_date(report.occurred_on, await open_rules(tx, settings, report.unit_code, now))
    return report


async def update(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    *,
    report_id: int,
    indicator: IndicatorDef,
    values: Mapping[str, Any],
    added_photos: tuple[Photo, ...],
    now: dt.datetime,
) -> tuple[Report, bool]:
    """Edit a saved report in place; the second item says whether anything changed."""
    report = await changeable(tx, caller, settings, report_id, now)
    assert caller.actor.person_id is not None  # CHANGE_REPORT: own reports only
    occurred = _occurred(indicator, values, await open_rules(tx, settings, report.unit_code, now))
    _refuse_broken(settings, indicator, values)
    unusual = await _unusual(
        tx,
        settings,
        unit=report.unit_code,
        indicator=indicator,
        values=values,
        now=now,
        report_id=report.id,
    )
    updated, changed = await reports_repo.update_values(
        tx,
        report,
        person_id=caller.actor.person_id,
        values=values,
        occurred_on=occurred,
        now=now,
        added_photos=added_photos,
        review=settings.review.on_save(),
    )
    if changed:
        await report_checks.save(
            tx, updated.id, updated.version, unusual, person_id=caller.actor.person_id, now=now
        )
    return updated, changed


async def retract(
    tx: Tx, caller: Caller, settings: HandlerSettings, report_id: int, now: dt.datetime
) -> Report:
    """Retract one's own report (never deleted: standings skip it, the trail keeps it)."""
    report = await changeable(tx, caller, settings, report_id, now)
    assert caller.actor.person_id is not None
    await reports_repo.retract(tx, report, person_id=caller.actor.person_id, now=now)
    return report


async def find(tx: Tx, caller: Caller, report_id: int) -> Report | None:
    """A report of the caller's own unit (to show it again), None otherwise."""
    report = await reports_repo.get(tx, report_id)
    if report is None or not allowed(caller, Action.REPORT, caller.target(unit=report.unit_code)):
        return None
    return report


@dataclass(frozen=True, slots=True)
class Listed:
    """One of the unit's latest reports: who wrote it, and whether the caller may change it."""

    report: Report
    author: str
    may_change: bool


async def latest(
    tx: Tx, caller: Caller, settings: HandlerSettings, now: dt.datetime
) -> list[Listed]:
    """The caller's unit's latest reports (/myreports), newest first."""
    unit = caller.actor.unit
    require(caller, Action.REPORT, caller.target(unit=unit))
    assert unit is not None
    found = await reports_repo.recent_for_unit(tx, unit, settings.myreports_limit)
    authors: dict[int, str] = {}
    out: list[Listed] = []
    for r in found:
        if r.person_id not in authors:
            author = await people.get(tx, r.person_id)
            authors[r.person_id] = author.name if author else "?"
        try:
            check_may_change(caller, settings, r, now)
            may = True
        except UserInputError:
            may = False
        out.append(Listed(r, authors[r.person_id], may))
    return out
