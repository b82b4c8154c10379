"""Deadlines in chat: the reminder fan-out the scheduler fires, the reminder buttons,
and /deadlines, /missing, /mute, /unmute, /completeness.

Who owes what is computed from the reports and "Không có hoạt động"
declarations at the moment a reminder goes out, so a unit that reported an
hour ago is not reminded, and a stale reminder button answers "đã báo cáo rồi".
Every reminder row carries a dedupe key: the same reminder is never queued
twice, whatever restarts or overlapping firings happen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import partial
from typing import ClassVar

from domain.access import Action as Access
from domain.dates import format_date
from domain.errors import UserInputError
from domain.messages import Button, OutboxItem, Reply
from domain.models import Person
from domain.numbers import format_percent
from domain.obligations import (
    Met,
    Obligation,
    Tally,
    due_moment,
    periods_due_between,
    rates_by_unit,
)
from domain.periods import Period, PeriodKind, parse_period
from domain.reminders import (
    NoticeReason,
    PlannedReminder,
    ReminderKind,
    plan_reminders,
    snooze_until,
    who_to_remind,
)
from domain.signing import sign
from handlers import report as report_flow
from runtime import access
from runtime.callbacks import CallbackData
from runtime.context import Ctx, HandlerSettings, Translator
from runtime.routes import (
    LEADERS,
    REGISTERED,
    CallbackRoute,
    Command,
    Feature,
    HelpEntry,
    ScheduledJob,
    Work,
)
from usecases import Tx, delivery, people
from usecases import deadlines as owed
from usecases.access import require_role

LOOKBACK = dt.timedelta(days=70)  # how far back a period's reminders can still be due


class ReminderAction(StrEnum):
    REPORT = "r"
    NOTHING = "n"
    SNOOZE = "s"


@dataclass(frozen=True)
class ReminderButton(CallbackData):
    """A reminder's button, `rm:<action>:<obligation>:<period>`, sealed with a signature for
    the one chat it was sent to (domain.signing)."""

    prefix: ClassVar[str] = "rm"
    action: ReminderAction
    obligation: str
    period: str


PREFIX = ReminderButton.prefix


def pack(action: ReminderAction, obligation: str, period_key: str) -> str:
    """The unsealed data of a reminder button (sealed per chat by `seal_for`)."""
    return ReminderButton(action, obligation, period_key).pack()


def seal_for(key: bytes, channel: str, chat_id: str) -> Callable[[str], str]:
    return partial(sign, key, channel, chat_id)


async def _unseal(ctx: Ctx, raw: str) -> str | None:
    """The data of a button the bot signed for this very chat; None for any other."""
    inbound = ctx.inbound
    return await owed.verified_button(ctx.tx, inbound.channel, inbound.chat_id, raw)


@dataclass(frozen=True, slots=True)
class Planned:
    """One reminder message as it would be queued (also what `reminders preview` prints)."""

    person: Person
    channel: str
    chat_id: str
    reply: Reply
    dedupe_key: str
    at: dt.datetime
    kind: str


def _label(obligation: Obligation, lang: str) -> str:
    return obligation.label.get(lang) if obligation.label else obligation.code


class Reminders:
    """The fan-out: what is due in a window, to whom, in their language."""

    def __init__(self, settings: HandlerSettings, translate: Translator) -> None:
        self.settings = settings
        self.translate = translate
        self._key = b""

    async def plan(self, tx: Tx, start: dt.datetime, end: dt.datetime) -> list[Planned]:
        """Every reminder whose moment falls in (start, end], without writing anything
        (but the button-signing key, made on first use)."""
        self._key = await owed.button_key(tx)
        planned: list[Planned] = []
        for obligation in self.settings.obligations:
            first, last = (start - LOOKBACK).date(), (end + LOOKBACK).date()
            for period in periods_due_between(obligation, first, last):
                items = [
                    item
                    for item in plan_reminders(
                        obligation, period, self.settings.reminders, self.settings.tz
                    )
                    if start < item.at <= end
                ]
                if items:
                    planned += await self._for_period(tx, obligation, period, items)
        planned += await self._snoozes_ending(tx, start, end)
        return planned

    async def fire(
        self, tx: Tx, fire_at: dt.datetime, previous: dt.datetime | None
    ) -> list[OutboxItem]:
        """The scheduler's job: queue the window's reminders, each at most once ever."""
        start = previous if previous is not None else fire_at - dt.timedelta(minutes=5)
        items: list[OutboxItem] = []
        for p in await self.plan(tx, start, fire_at):
            item = await delivery.enqueue(tx, p.channel, p.chat_id, p.reply, fire_at, p.dedupe_key)
            if item is not None:
                items.append(item)
        return items

    async def _for_period(
        self, tx: Tx, obligation: Obligation, period: Period, items: list[PlannedReminder]
    ) -> list[Planned]:
        standings = await owed.standings_for(tx, self.settings, obligation, period)
        owing = [s.unit for s in standings if not s.met.met]
        if not owing:
            return []
        recipients, by_id = await owed.recipients(
            tx, [s.unit for s in standings], period.start.year
        )
        out: list[Planned] = []
        for item in items:
            grouped: dict[int, list[tuple[str, NoticeReason]]] = {}
            for notice in who_to_remind(item, owing, recipients):
                grouped.setdefault(notice.person_id, []).append((notice.unit, notice.reason))
            for person_id, lines in grouped.items():
                person = by_id[person_id]
                if item.kind in (ReminderKind.BEFORE, ReminderKind.DUE_DAY, ReminderKind.OVERDUE):
                    until = await owed.snoozed_until(tx, person_id, obligation.code, period.key)
                    if until is not None and until > item.at:
                        continue
                reply = self._message(person, obligation, period, item, lines)
                kind = f"{item.kind.value}:{item.day_offset}"
                key = f"rm:{obligation.code}:{period.key}:{kind}:{person_id}"
                out += await self._address(tx, person, reply, key, item.at, item.kind.value)
        return out

    async def _snoozes_ending(self, tx: Tx, start: dt.datetime, end: dt.datetime) -> list[Planned]:
        out: list[Planned] = []
        for person, code, period_key, until in await owed.snoozes_ending(tx, start, end):
            obligation = self.settings.obligation(code)
            if obligation is None:
                continue
            period = Period.from_key(period_key)
            standing = next(
                (
                    s
                    for s in await owed.standings_for(tx, self.settings, obligation, period)
                    if s.unit.unit == person.unit_code
                ),
                None,
            )
            if standing is None or standing.met.met:
                continue
            item = PlannedReminder(
                ReminderKind.OVERDUE
                if until > due_moment(obligation, period, self.settings.tz)
                else ReminderKind.BEFORE,
                obligation.code,
                period.key,
                due_moment(obligation, period, self.settings.tz),
                0,
                until,
                until,
            )
            reply = self._message(
                person, obligation, period, item, [(person.unit_code, NoticeReason.OWING)]
            )
            key = f"rm:{code}:{period_key}:snooze:{until.isoformat()}:{person.id}"
            out += await self._address(tx, person, reply, key, until, "snoozed")
        return out

    async def _address(
        self, tx: Tx, person: Person, reply: Reply, key: str, at: dt.datetime, kind: str
    ) -> list[Planned]:
        chat = await delivery.preferred_chat(tx, person.id)
        if chat is None:
            return []
        channel, chat_id = chat
        seal = seal_for(self._key, channel, chat_id)
        buttons = tuple(tuple(_sealed(b, seal) for b in row) for row in reply.buttons)
        reply = replace(reply, buttons=buttons)
        return [Planned(person, channel, chat_id, reply, key, at, kind)]

    def _message(
        self,
        person: Person,
        obligation: Obligation,
        period: Period,
        item: PlannedReminder,
        lines: list[tuple[str, NoticeReason]],
    ) -> Reply:
        lang = person.language.value
        t = self.translate
        label, period_label = _label(obligation, lang), period.name(partial(t, lang))
        due = item.due.astimezone(self.settings.tz)
        days = (due.date() - item.at.astimezone(self.settings.tz).date()).days
        if days > 0:
            when = t(lang, "reminder.due_in", days=days)
        elif days == 0:
            when = t(lang, "reminder.due_today")
        else:
            when = t(lang, "reminder.overdue", days=-days)
        common = {
            "obligation": label,
            "period": period_label,
            "due": format_date(due.date(), lang),
            "when": when,
        }
        if item.kind == ReminderKind.DIGEST_CLUSTER_HEAD:
            body = [t(lang, "reminder.digest", **common)]
            for unit, reason in lines:
                name = self._unit_name(unit)
                body.append(t(lang, f"reminder.digest_{reason.value}", unit=name))
            return Reply("\n".join(body))
        unit = self._unit_name(lines[0][0])
        if item.kind == ReminderKind.ESCALATE_CHAIR:
            return Reply(t(lang, "reminder.escalated", unit=unit, **common))

        def button(action: ReminderAction, label: str) -> Button:
            return ReminderButton(action, obligation.code, period.key).button(t(lang, label))

        buttons = (
            (button(ReminderAction.REPORT, "btn.report_now"),),
            (
                button(ReminderAction.NOTHING, "btn.nothing_to_report"),
                button(ReminderAction.SNOOZE, "btn.snooze"),
            ),
        )
        return Reply(t(lang, "reminder.owing", unit=unit, **common), buttons)

    def _unit_name(self, code: str) -> str:
        unit = self.settings.units.get(code)
        return unit.name if unit else code


# ---- buttons on a reminder -----------------------------------------------------------------


def _sealed(button: Button, seal: Callable[[str], str]) -> Button:
    data = ReminderButton.unpack(button.data)
    assert data is not None, "a reminder carries only reminder buttons"
    return data.button(button.label, nav=button.nav, seal=seal)


async def on_button(ctx: Ctx, pressed: ReminderButton) -> None:
    """📝 Báo cáo ngay / Không có hoạt động / ⏰ Nhắc lại sau, pressed on a reminder.

    Only a button the bot signed for this very chat reaches here (the route's `unseal`):
    edited data (another period, another obligation) or a button copied from another chat
    is refused before.
    """
    if ctx.person is None:
        raise UserInputError("err.not_registered")
    caller = await access.caller(ctx)
    require_role(caller, Access.ANSWER_REMINDER)
    action, code, period_key = pressed.action, pressed.obligation, pressed.period
    obligation = ctx.settings.obligation(code)
    try:
        period = Period.from_key(period_key)
    except ValueError:
        period = None
    if obligation is None or period is None or not obligation.covers(period):
        raise UserInputError("err.stale_button")
    standing = await owed.my_standing(ctx.tx, caller, ctx.settings, obligation, period)
    label, period_label = _label(obligation, ctx.lang), period.name(ctx.t)
    if standing.met.met:
        key = "reminder.already_declared" if standing.met.declared else "reminder.already_reported"
        raise UserInputError(
            key, obligation=label, period=period_label, id=standing.met.report_id or ""
        )
    if action == ReminderAction.REPORT:
        indicator = (
            ctx.settings.indicator(obligation.indicators[0])
            if len(obligation.indicators) == 1
            else None
        )
        day = min(ctx.today, period.end)
        await report_flow.start_for_period(ctx, indicator, day)
    elif action == ReminderAction.NOTHING:
        await owed.declare_nothing(ctx.tx, caller, obligation, period, ctx.now)
        unit = ctx.settings.units.get(ctx.person.unit_code)
        ctx.reply(
            ctx.t(
                "reminder.declared",
                unit=unit.name if unit else "",
                obligation=label,
                period=period_label,
            ),
            edit=True,
        )
    else:
        until = snooze_until(ctx.now, ctx.settings.tz, ctx.settings.reminders)
        await owed.snooze(ctx.tx, caller, obligation, period, until)
        shown = until.astimezone(ctx.settings.tz).strftime("%H:%M %d/%m/%Y")
        ctx.reply(ctx.t("reminder.snoozed", when=shown), edit=True)


# ---- commands -------------------------------------------------------------------------------


def _status(ctx: Ctx, met: Met) -> str:
    if not met.met:
        return ctx.t("deadline.missing")
    if met.declared:
        return ctx.t("deadline.declared")
    return ctx.t("deadline.on_time") if met.on_time else ctx.t("deadline.late")


async def deadlines(ctx: Ctx) -> None:
    """/deadlines: what my unit owes, by when, and whether it is done."""
    lines = [ctx.t("deadline.title")]
    caller = await access.caller(ctx)
    for d in await owed.my_deadlines(ctx.tx, caller, ctx.settings, ctx.today):
        lines.append(
            ctx.t(
                "deadline.line",
                obligation=_label(d.obligation, ctx.lang),
                period=d.period,
                due=format_date(d.due.date(), ctx.lang),
                status=_status(ctx, d.met),
            )
        )
    if len(lines) == 1:
        lines.append(ctx.t("deadline.none"))
    ctx.reply("\n".join(lines))


async def missing(ctx: Ctx) -> None:
    """/missing [period]: units that have not reported (cluster heads: their cluster)."""
    asked: Period | None = (
        parse_period(ctx.inbound.args, ctx.today) if ctx.inbound.args.strip() else None
    )
    caller = await access.caller(ctx)
    lines: list[str] = []
    for m in await owed.missing(ctx.tx, caller, ctx.settings, asked, ctx.now):
        lines.append(
            ctx.t(
                "missing.header",
                obligation=_label(m.obligation, ctx.lang),
                period=m.period,
                count=len(m.units),
            )
        )
        lines += [
            f"• {ctx.settings.units[u.unit].name}" for u in m.units if u.unit in ctx.settings.units
        ]
    if asked is not None and not lines:
        raise UserInputError("missing.no_obligation", period=asked)
    ctx.reply("\n".join(lines) if lines else ctx.t("deadline.none"))


async def completeness_cmd(ctx: Ctx) -> None:
    """/completeness [period]: per unit of my cluster, reports sent of those due, and on time.

    The rate is the one /standings and the workbook show (usecases.rates): a
    period not yet due counts for nothing, so a unit with nothing due reads
    "chưa có báo cáo nào đến hạn", never 0 %.
    """
    typed = ctx.inbound.args.strip()
    period = (
        parse_period(typed, ctx.today, PeriodKind.YEAR)
        if typed
        else Period(PeriodKind.YEAR, ctx.today.year, 1)
    )
    caller = await access.caller(ctx)
    refs, rates = await owed.completeness(ctx.tx, caller, ctx.settings, period, ctx.now)
    owing = [o for o in ctx.settings.obligations if rates.get(o.code) and rates[o.code].units]
    sections: list[tuple[str, dict[str, Tally]]] = []
    if len(owing) > 1:
        sections.append((ctx.t("completeness.all"), rates_by_unit(rates)))
    sections += [(f"{_label(o, ctx.lang)}:", dict(rates[o.code].units)) for o in owing]
    lines = [ctx.t("completeness.title", period=period)]
    for header, tallies in sections:
        lines.append(header)
        for ref in refs:
            tally = tallies.get(ref.unit)
            if tally is None:
                continue
            unit = ctx.settings.units[ref.unit].name
            if not tally.expected:
                lines.append(ctx.t("completeness.not_due", unit=unit))
                continue
            lines.append(
                ctx.t(
                    "completeness.line",
                    unit=unit,
                    sent=tally.met,
                    owed=tally.expected,
                    complete=_pct(tally.completeness, ctx.lang),
                    on_time=_pct(tally.on_time_rate, ctx.lang),
                )
            )
    ctx.reply("\n".join(lines))


def _pct(rate: float | None, lang: str) -> str:
    return "—" if rate is None else format_percent(rate, lang)


async def mute(ctx: Ctx) -> None:
    await people.set_muted(ctx.tx, await access.caller(ctx), True)
    ctx.reply(ctx.t("reminder.muted"))


async def unmute(ctx: Ctx) -> None:
    await people.set_muted(ctx.tx, await access.caller(ctx), False)
    ctx.reply(ctx.t("reminder.unmuted"))


# ---- routes -------------------------------------------------------------------------------


FEATURE = Feature(
    name="reminders",
    commands={
        "deadlines": Command(deadlines, Access.DEADLINES, menu=REGISTERED),
        "missing": Command(missing, Access.MISSING, private_only=False, menu=LEADERS),
        "completeness": Command(
            completeness_cmd, Access.COMPLETENESS, private_only=False, menu=LEADERS
        ),
        "mute": Command(mute, Access.MUTE),
        "unmute": Command(unmute, Access.MUTE),
    },
    callbacks=(
        CallbackRoute(
            ReminderButton,
            Access.ANSWER_REMINDER,
            on_button,
            unseal=_unseal,
            refusal="access.button_not_issued",
        ),
    ),
    help=(HelpEntry("help.cluster_head", 40, Access.MISSING),),
    jobs=(
        ScheduledJob(
            "reminders",
            cron=lambda settings: "*/5 * * * *",
            make=lambda settings, translate: Work(Reminders(settings, translate).fire),
            grace=dt.timedelta(hours=12),
        ),
    ),
)
