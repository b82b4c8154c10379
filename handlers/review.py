"""/review: the reviewer's queue, one card at a time, oldest first (issue 12 §1).

Each card shows the unit, who sent it and when, every value, the photos and the warnings
the report was saved with, with ✅ Duyệt, ↩️ Trả lại (a quick reason or one typed) and
⏭ Để sau. At the end of the queue a summary offers "Duyệt tất cả N báo cáo của đơn vị X"
for what was left for later. Where there are no buttons the same choices are numbered.
A returned report's officer is told (through the outbox) with the reason and one tap (or
a number) to fix it; the fixed report waits in the queue again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from pydantic import ConfigDict

from domain.access import Action as Can
from domain.access import ActorRole
from domain.errors import AccessDenied, UserInputError
from domain.evidence import PhotoState, ReportEvidence
from domain.fields import format_value
from domain.messages import Button, OutboxItem, Outgoing, Reply
from domain.models import FieldType, Report, ReviewState
from domain.reminders import defer, snooze_until
from domain.review import QUICK_REASONS
from domain.rules import Unusual
from handlers import myreports
from runtime import access, drafts
from runtime.callbacks import CallbackData, FlowCallback
from runtime.context import Ctx, HandlerSettings, Translator, new_flow_id
from runtime.render import indicator_title, local_time, report_line, unit_name, unusual_lines
from runtime.routes import (
    LEADERS,
    CallbackRoute,
    Command,
    Feature,
    FlowRoute,
    HelpEntry,
    ScheduledJob,
    Work,
)
from runtime.states import Flow, Step
from usecases import Tx, delivery, evidence, review
from usecases import reports as reports_uc
from usecases.review import Card, Outcome, Result


class Act(StrEnum):
    ACCEPT = "a"
    RETURN = "r"
    LATER = "s"


@dataclass(frozen=True)
class ReviewButton(CallbackData):
    """A button of a review card: `rv:<act>:<report id>:<version seen>`."""

    prefix: ClassVar[str] = "rv"
    act: Act
    report_id: int
    version: int


@dataclass(frozen=True)
class AcceptAllButton(CallbackData):
    """ "Duyệt tất cả" of one unit in the summary: those waiting since `until` (epoch s)."""

    prefix: ClassVar[str] = "ra"
    until: int
    unit: str


@dataclass(frozen=True)
class ReasonButton(FlowCallback):
    """A quick reason (or cancel, code "-") while a return waits for its reason."""

    prefix: ClassVar[str] = "rr"
    code: str


@dataclass(frozen=True)
class FixButton(CallbackData):
    """The officer's one tap on a returned report: open it to fix (`rf:<report id>`)."""

    prefix: ClassVar[str] = "rf"
    report_id: int


class Later(StrEnum):
    NOW = "n"
    SNOOZE = "z"


@dataclass(frozen=True)
class ReminderButton(CallbackData):
    """A button of a reviewer's reminder: open the queue, or "Nhắc lại sau"."""

    prefix: ClassVar[str] = "rq"
    act: Later


@dataclass(frozen=True, slots=True)
class Returning:
    """The draft while a reviewer says why a report goes back."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    report_id: int
    version: int


CANCEL = "-"


# ---- the card -----------------------------------------------------------------------------


async def _card_text(ctx: Ctx, card: Card) -> tuple[str, tuple[str, ...]]:
    """The card's text, and the stored photos sent with it (an album on Telegram)."""
    report = card.report
    unit = ctx.settings.units.get(report.unit_code)
    indicator = ctx.settings.indicator(report.indicator)
    lines = [
        ctx.t("review.card_title", id=report.id, waiting=card.waiting),
        ctx.t("review.card_unit", unit=unit.name if unit else report.unit_code),
        ctx.t("review.card_who", who=card.author, when=local_time(ctx, report.created_at)),
    ]
    if indicator is None:
        lines.append(report_line(ctx, report))
    else:
        lines.append(indicator_title(indicator, ctx.lang))
        for f in indicator.fields:
            if f.type == FieldType.PHOTO:
                continue
            value = report.values.get(f.code)
            shown = (
                format_value(f, value, ctx.lang)
                if value is not None
                else ctx.t("report.empty_value")
            )
            lines.append(f"• {f.label.get(ctx.lang)}: {shown}")
    # Photos: sent with the card; listed here only when not kept, or also on another report.
    kept = await _evidence(ctx, report)
    lines.append(
        ctx.t("review.card_photos", count=len(report.photos))
        if report.photos
        else ctx.t("review.card_no_photos")
    )
    for photo in kept.photos if kept is not None else ():
        if photo.state is not PhotoState.STORED or photo.duplicates:
            lines += myreports.photo_lines(ctx, report.unit_code, photo)
    # Warnings the report was saved with (unusual values the officer confirmed).
    warnings = await _warnings(ctx, report)
    if warnings and indicator is not None:
        lines.append(ctx.t("review.card_warnings"))
        lines += unusual_lines(
            ctx.t,
            indicator,
            warnings,
            ctx.lang,
            unit_name(ctx.settings, report.unit_code),
            ctx.settings.outliers.days,
        )
    lines.append("")
    lines.append(ctx.t("review.card_question"))
    return "\n".join(lines), kept.album if kept is not None else ()


async def _evidence(ctx: Ctx, report: Report) -> ReportEvidence | None:
    if not report.photos:
        return None
    try:
        return await evidence.report_photos(ctx.tx, await access.caller(ctx), report.id)
    except AccessDenied:
        return None


async def _send_card(ctx: Ctx, card: Card, *, edit: bool = False) -> None:
    """A card; one with photos is a new message (an album cannot replace a card's text)."""
    text, album = await _card_text(ctx, card)
    ctx.reply(text, _card_buttons(ctx, card.report), edit=edit and not album, album=album)


async def _warnings(ctx: Ctx, report: Report) -> tuple[Unusual, ...]:
    try:
        return await reports_uc.warnings(ctx.tx, await access.caller(ctx), report.id)
    except AccessDenied:  # who may review a report sees them (usecases.reports.warnings)
        return ()


def _card_buttons(ctx: Ctx, report: Report) -> tuple[tuple[Button, ...], ...]:
    def b(act: Act, key: str) -> Button:
        return ReviewButton(act, report.id, report.version).button(ctx.t(key))

    return (
        (b(Act.ACCEPT, "btn.review_accept"), b(Act.RETURN, "btn.review_return")),
        (b(Act.LATER, "btn.review_later"),),
    )


async def _show_next(ctx: Ctx, after: int | None = None, *, edit: bool = False) -> None:
    """The next card (after `after`'s place), or the summary at the end of the queue."""
    caller = await access.caller(ctx)
    card = await review.next_card(ctx.tx, caller, ctx.settings, after)
    if card is not None:
        await _send_card(ctx, card, edit=edit)
        return
    left = await review.summary(ctx.tx, caller, ctx.settings)
    if not left:
        ctx.reply(ctx.t("review.queue_empty"), edit=edit)
        return
    until = int(ctx.now.timestamp())
    lines = [ctx.t("review.summary_title", count=sum(n for _, n, _ in left))]
    rows: list[tuple[Button, ...]] = []
    for unit_code, count, oldest in left:
        unit = ctx.settings.units.get(unit_code)
        name = unit.name if unit else unit_code
        lines.append(
            ctx.t("review.summary_line", unit=name, count=count, since=local_time(ctx, oldest))
        )
        label = ctx.t("btn.review_accept_all", count=count, unit=name)
        rows.append((AcceptAllButton(until, unit_code).button(label),))
    lines.append("")
    lines.append(ctx.t("review.summary_hint"))
    ctx.reply("\n".join(lines), tuple(rows), edit=edit)


async def show(ctx: Ctx) -> None:
    """/review: the oldest report waiting in the caller's queue."""
    await _show_next(ctx)


# ---- decisions ----------------------------------------------------------------------------


async def _after(ctx: Ctx, outcome: Outcome) -> None:
    """Say what became of the decision, then show the next card."""
    report = outcome.report
    if outcome.result is Result.TAKEN:
        key = (
            "review.taken_accepted"
            if report.review == ReviewState.ACCEPTED
            else ("review.taken_returned")
        )
        ctx.reply(ctx.t(key, id=report.id, who=outcome.by or "?"))
    elif outcome.result is Result.EDITED:
        ctx.reply(ctx.t("review.edited", id=report.id))
        caller = await access.caller(ctx)
        card = await review.next_card(ctx.tx, caller, ctx.settings)
        if card is not None and card.report.id == report.id:
            await _send_card(ctx, card)
            return
    elif outcome.result is Result.RETRACTED:
        ctx.reply(ctx.t("review.retracted", id=report.id))
    await _show_next(ctx, report.id)


async def on_card(ctx: Ctx, cb: ReviewButton) -> None:
    caller = await access.caller(ctx)
    if cb.act is Act.LATER:
        await _show_next(ctx, cb.report_id, edit=True)
    elif cb.act is Act.ACCEPT:
        outcome = await review.accept(
            ctx.tx, caller, ctx.settings, cb.report_id, cb.version, ctx.now
        )
        if outcome.result is Result.DONE:
            ctx.reply(ctx.t("review.accepted", id=cb.report_id), edit=True)
        await _after(ctx, outcome)
    else:
        # A card gone stale meanwhile is said once the reason is given (`_after`).
        fid = ctx.set_state(
            Flow.REVIEW, Step.REASON, Returning(cb.report_id, cb.version), flow_id=new_flow_id()
        )
        _ask_reason(ctx, cb.report_id, fid)


def _ask_reason(ctx: Ctx, report_id: int, flow_id: str) -> None:
    rows = tuple(
        (ReasonButton(flow_id, code).button(ctx.t(f"review.reason.{code}")),)
        for code in QUICK_REASONS
    )
    cancel = ReasonButton(flow_id, CANCEL).button(ctx.t("btn.review_cancel"))
    ctx.reply(ctx.t("review.ask_reason", id=report_id), (*rows, (cancel,)))


def _returning(ctx: Ctx) -> Returning:
    conv = ctx.conversation
    draft = drafts.load(Returning, conv.data) if conv is not None else None
    if draft is None:
        raise UserInputError("err.stale_button")
    return draft


async def _give_back(ctx: Ctx, reason: str) -> None:
    draft = _returning(ctx)
    caller = await access.caller(ctx)
    outcome = await review.give_back(
        ctx.tx, caller, ctx.settings, draft.report_id, draft.version, reason, ctx.now
    )
    ctx.end_state()
    if outcome.result is Result.DONE:
        ctx.reply(ctx.t("review.returned", id=draft.report_id, reason=reason.strip()))
        await _tell_officer(ctx, outcome, reason)
    await _after(ctx, outcome)


async def on_reason(ctx: Ctx, cb: ReasonButton) -> None:
    if cb.code == CANCEL:
        ctx.end_state()
        ctx.reply(ctx.t("review.return_cancelled"), edit=True)
        return
    if cb.code not in QUICK_REASONS:
        raise UserInputError("err.stale_button")
    await _give_back(ctx, ctx.t(f"review.reason.{cb.code}"))


async def on_reason_text(ctx: Ctx) -> None:
    await _give_back(ctx, ctx.inbound.text or "")


async def ask_again(ctx: Ctx) -> None:
    conv = ctx.conversation
    if conv is None or conv.step != Step.REASON:
        return
    draft = drafts.load(Returning, conv.data)
    if draft is not None:
        _ask_reason(ctx, draft.report_id, conv.flow_id)


async def _tell_officer(ctx: Ctx, outcome: Outcome, reason: str) -> None:
    """The officer who wrote it is told, in their language, with one tap to fix it."""
    officer = outcome.author
    if officer is None:
        return
    chat = await delivery.preferred_chat(ctx.tx, officer.id)
    if chat is None:
        return
    lang = officer.language.value
    text = ctx.translate(
        lang,
        "review.told_returned",
        line=report_line(ctx, outcome.report),
        reason=" ".join(reason.split()),
        id=outcome.report.id,
    )
    fix = FixButton(outcome.report.id).button(
        ctx.translate(lang, "btn.review_fix", id=outcome.report.id)
    )
    ctx.outgoing.append(Outgoing(chat[0], chat[1], Reply(text, ((fix,),))))


async def on_accept_all(ctx: Ctx, cb: AcceptAllButton) -> None:
    caller = await access.caller(ctx)
    until = dt.datetime.fromtimestamp(cb.until, dt.UTC)
    done = await review.accept_unit(ctx.tx, caller, ctx.settings, cb.unit, until, ctx.now)
    unit = ctx.settings.units.get(cb.unit)
    ctx.reply(ctx.t("review.accepted_all", count=done, unit=unit.name if unit else cb.unit))
    await _show_next(ctx)


async def on_fix(ctx: Ctx, cb: FixButton) -> None:
    """✏️ on the "returned" message: the report's card, prefilled, to fix and send again."""
    await myreports.edit(ctx, str(cb.report_id))


async def on_reminder(ctx: Ctx, cb: ReminderButton) -> None:
    if cb.act is Later.NOW:
        await _show_next(ctx)
        return
    rules = ctx.settings.reminders
    until = snooze_until(ctx.now, ctx.settings.tz, rules)
    await review.snooze(ctx.tx, await access.caller(ctx), ctx.settings, until)
    ctx.reply(ctx.t("review.snoozed", until=local_time(ctx, until)), edit=True)


@dataclass(frozen=True, slots=True)
class ReviewReminders:
    """Daily at [reminders] at: each reviewer whose queue holds reports older than
    [review] remind_after_days is told, once a day, out of quiet hours and holidays."""

    settings: HandlerSettings
    translate: Translator

    async def fire(
        self, tx: Tx, fire_at: dt.datetime, previous: dt.datetime | None
    ) -> list[OutboxItem]:
        items: list[OutboxItem] = []
        rules = self.settings.reminders
        at = defer(fire_at, rules.quiet_hours, rules.holidays, self.settings.tz)
        day = at.astimezone(self.settings.tz).date().isoformat()
        for person, count in await review.reviewers_to_remind(tx, self.settings, fire_at):
            chat = await delivery.preferred_chat(tx, person.id)
            if chat is None:
                continue
            lang = person.language.value
            text = self.translate(
                lang,
                "review.remind",
                count=count,
                days=self.settings.review.remind_after_days,
            )
            buttons = (
                (
                    ReminderButton(Later.NOW).button(self.translate(lang, "btn.review_now")),
                    ReminderButton(Later.SNOOZE).button(self.translate(lang, "btn.snooze")),
                ),
            )
            key = f"review-remind:{person.id}:{day}"
            item = await delivery.enqueue(tx, chat[0], chat[1], Reply(text, buttons), at, key)
            if item is not None:
                items.append(item)
        return items


def _daily_at(settings: HandlerSettings) -> str:
    at = settings.reminders.at
    return f"{at.minute} {at.hour} * * *"


FEATURE = Feature(
    name="review",
    commands={
        "review": Command(show, Can.REVIEW, menu=LEADERS | {ActorRole.REVIEWER}),
    },
    callbacks=(
        CallbackRoute(ReviewButton, Can.REVIEW, on_card),
        CallbackRoute(AcceptAllButton, Can.REVIEW, on_accept_all),
        CallbackRoute(ReasonButton, Can.REVIEW, on_reason, flows=frozenset({Flow.REVIEW})),
        CallbackRoute(FixButton, Can.REPORT, on_fix),
        CallbackRoute(ReminderButton, Can.REVIEW, on_reminder),
    ),
    flows={Flow.REVIEW: FlowRoute(on_reason_text, ask_again, Can.REVIEW, draft=Returning)},
    help=(HelpEntry("help.review", 45, Can.REVIEW),),
    jobs=(
        ScheduledJob(
            "review_reminders",
            cron=_daily_at,
            make=lambda settings, translate: Work(ReviewReminders(settings, translate).fire),
        ),
    ),
)
