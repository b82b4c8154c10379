"""Closing periods in chat: /finalize (with its confirmation), /reopen, and unlock requests
("xin mở khóa": asked from the refusal of a closed period's date or by /unlock, granted or
refused in one tap by the cluster head or an admin, the officer told either way).

Every choice is a button on Telegram and a numbered choice on Zalo and the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from pydantic import ConfigDict

from domain.access import Action as Can
from domain.access import ActorRole
from domain.errors import UserInputError
from domain.messages import Button, Outgoing, Reply
from domain.models import Person
from domain.periods import Period, parse_period
from domain.snapshots import OpenItems
from domain.text import fold
from handlers.report import ReportDraft
from handlers.standings import parse_standings_period
from runtime import access, drafts
from runtime.callbacks import CallbackData, FlowCallback
from runtime.context import Ctx, new_flow_id
from runtime.render import local_time
from runtime.routes import ADMINS, CallbackRoute, Command, Feature, FlowRoute, HelpEntry
from runtime.states import Flow
from usecases import delivery, finalize, unlocks
from usecases.access import allowed
from usecases.unlocks import UnlockStatus

FINALIZERS = frozenset({ActorRole.CLUSTER_HEAD, ActorRole.ADMIN})
CONFIRM_WORDS = {"chot", "chot so lieu", "dong y", "ok", "yes", "co", "finalise", "finalize"}
CANCEL_WORDS = {"huy", "cancel", "khong", "thoi", "no"}
#: Reasons offered for an unlock (catalog `unlock.reason.<code>`), free text otherwise.
REASONS = ("missing", "fix", "returned")


class Flows(StrEnum):
    FINALIZE = "finalize"
    UNLOCK = "unlock"


class Steps(StrEnum):
    CONFIRM = "confirm"
    REASON = "reason"


class Act(StrEnum):
    CONFIRM = "ok"
    CANCEL = "x"
    REASON = "r"


@dataclass(frozen=True, slots=True)
class Finalizing:
    """The draft of /finalize: what the confirmation is about."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    cluster: str
    period: str


@dataclass(frozen=True, slots=True)
class Unlocking:
    """The draft of an unlock request: the closed period it is for."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    period: str


@dataclass(frozen=True)
class FinalizeButton(FlowCallback):
    """✅ Chốt / ❌ Hủy under a /finalize preview: `fz:<flow id>:<ok|x>`."""

    prefix: ClassVar[str] = "fz"
    action: Act


@dataclass(frozen=True)
class ReasonButton(FlowCallback):
    """A quick reason for an unlock, or cancel: `ur:<flow id>:<r|x>[:<reason>]`."""

    prefix: ClassVar[str] = "ur"
    action: Act
    reason: str = ""


@dataclass(frozen=True)
class AskUnlockButton(CallbackData):
    """🔓 Xin mở khóa under the refusal of a closed period's date: `ua:<period key>`."""

    prefix: ClassVar[str] = "ua"
    period: str


class Verdict(StrEnum):
    GRANT = "g"
    REFUSE = "r"


@dataclass(frozen=True)
class DecideButton(CallbackData):
    """✅ Đồng ý / ❌ Từ chối under an unlock request: `ud:<request id>:<g|r>`."""

    prefix: ClassVar[str] = "ud"
    request: int
    verdict: Verdict


# ---- /finalize ----------------------------------------------------------------------------


def _split_cluster(args: str) -> tuple[str, str | None]:
    """`/finalize 2025 cum2`: the period's words, and a cluster code typed last (admins)."""
    words = args.split()
    if len(words) > 1:
        return " ".join(words[:-1]), words[-1]
    return args, None


async def _period_and_cluster(ctx: Ctx, args: str, usage: str) -> tuple[Period, str | None]:
    if not args.strip():
        raise UserInputError(usage)
    try:
        return await parse_standings_period(ctx, args), None
    except UserInputError:
        text, cluster = _split_cluster(args)
        if cluster is None:
            raise
        return await parse_standings_period(ctx, text), cluster


def open_lines(ctx: Ctx, items: OpenItems) -> list[str]:
    """What is still open, one line each (or that nothing is)."""
    if items.empty:
        return [ctx.t("finalize.nothing_open")]
    lines = [ctx.t("finalize.open_title")]
    if items.unreviewed:
        lines.append(ctx.t("finalize.open_unreviewed", count=items.unreviewed))
    for m in items.missing:
        lines.append(ctx.t("finalize.open_missing", unit=m.name, met=m.met, expected=m.expected))
    if items.unlocks:
        lines.append(ctx.t("finalize.open_unlocks", units=", ".join(items.unlocks)))
    return lines


async def finalize_cmd(ctx: Ctx) -> None:
    """/finalize <period> [cluster]: what is still open, then ✅ Chốt or ❌ Hủy."""
    period, code = await _period_and_cluster(ctx, ctx.inbound.args, "finalize.usage")
    caller = await access.caller(ctx)
    shown = await finalize.preview(ctx.tx, caller, ctx.settings, period, ctx.now, code)
    ctx.set_state(
        Flows.FINALIZE,
        Steps.CONFIRM,
        Finalizing(shown.cluster.code, period.key),
        flow_id=new_flow_id(),
    )
    _ask_confirm(ctx, shown.cluster.name, period, shown.open_items)


def _ask_confirm(ctx: Ctx, cluster_name: str, period: Period, items: OpenItems) -> None:
    assert ctx.conversation is not None
    flow = ctx.conversation.flow_id
    lines = [
        ctx.t("finalize.preview_title", cluster=cluster_name, period=period),
        *open_lines(ctx, items),
        "",
        ctx.t("finalize.question", period=period),
    ]
    rows = (
        (
            FinalizeButton(flow, Act.CONFIRM).button(ctx.t("btn.finalize")),
            FinalizeButton(flow, Act.CANCEL).button(ctx.t("btn.cancel")),
        ),
    )
    ctx.reply("\n".join(lines), rows)


def _finalizing(ctx: Ctx) -> Finalizing:
    assert ctx.conversation is not None
    draft = drafts.load(Finalizing, ctx.conversation.data)
    if draft is None:
        raise UserInputError("conv.unreadable")
    return draft


async def _confirmed(ctx: Ctx) -> None:
    draft = _finalizing(ctx)
    period = Period.from_key(draft.period)
    caller = await access.caller(ctx)
    snapshot = await finalize.finalize(
        ctx.tx, caller, ctx.settings, period, ctx.now, confirmed=True, cluster_code=draft.cluster
    )
    ctx.end_state()
    lines = [
        ctx.t(
            "finalize.done",
            cluster=snapshot.cluster_name,
            period=period,
            when=local_time(ctx, snapshot.finalised_at),
        )
    ]
    for row in snapshot.rows:
        rank = f"={row.rank}" if row.tied else str(row.rank)
        lines.append(
            ctx.t(
                "finalize.row",
                rank=rank,
                unit=row.unit_name,
                score=row.format_score(ctx.lang),
                rating=row.rating,
            )
        )
    lines += ["", ctx.t("finalize.after")]
    ctx.reply("\n".join(lines), edit=True)


async def _cancelled(ctx: Ctx) -> None:
    ctx.end_state()
    ctx.reply(ctx.t("finalize.cancelled"), edit=True)


async def on_finalize_button(ctx: Ctx, cb: FinalizeButton) -> None:
    if cb.action is Act.CONFIRM:
        await _confirmed(ctx)
    else:
        await _cancelled(ctx)


async def on_finalize_text(ctx: Ctx) -> None:
    """Typed "chốt" / "hủy" (a typed number arrives as the choice it names)."""
    words = fold(ctx.inbound.text).strip(" .!")
    if words in CONFIRM_WORDS:
        await _confirmed(ctx)
    elif words in CANCEL_WORDS:
        await _cancelled(ctx)
    else:
        raise UserInputError("finalize.confirm_choice")


async def ask_finalize_again(ctx: Ctx) -> None:
    draft = _finalizing(ctx)
    period = Period.from_key(draft.period)
    caller = await access.caller(ctx)
    shown = await finalize.preview(ctx.tx, caller, ctx.settings, period, ctx.now, draft.cluster)
    _ask_confirm(ctx, shown.cluster.name, period, shown.open_items)


# ---- /reopen ------------------------------------------------------------------------------


async def reopen_cmd(ctx: Ctx) -> None:
    """/reopen <period> [cluster] <reason>: admins; the period as a key or year (2025,
    2025-H1), then optionally a cluster code, then why."""
    words = ctx.inbound.args.split()
    if not words:
        raise UserInputError("finalize.reopen_usage")
    try:
        period = parse_period(words[0], ctx.today)
    except UserInputError:
        raise UserInputError("finalize.reopen_usage") from None
    rest = words[1:]
    code: str | None = None
    if rest and rest[0] in await finalize.cluster_codes(ctx.tx, period.year):
        code = rest.pop(0)
    caller = await access.caller(ctx)
    snapshot = await finalize.reopen(
        ctx.tx, caller, ctx.settings, period, " ".join(rest), ctx.now, code
    )
    ctx.reply(
        ctx.t(
            "finalize.reopened",
            cluster=snapshot.cluster_name,
            period=period,
            when=local_time(ctx, snapshot.finalised_at),
        )
    )


# ---- unlock requests ----------------------------------------------------------------------


async def offer_unlock(ctx: Ctx, refusal: UserInputError) -> tuple[Button, ...]:
    """Under "kỳ này đã khóa sổ": 🔓 Xin mở khóa, for people who may ask it for their unit."""
    period = refusal.params.get("period")
    if not isinstance(period, Period) or ctx.person is None:
        return ()
    conv = ctx.conversation
    draft = drafts.load(ReportDraft, conv.data) if conv and conv.flow == Flow.REPORT else None
    if draft is not None and draft.unit != ctx.person.unit_code:
        return ()  # an admin reporting for another unit: the unlock would be for their own
    caller = await access.caller(ctx)
    if not allowed(caller, Can.ASK_UNLOCK, caller.target(unit=caller.actor.unit)):
        return ()
    return (AskUnlockButton(period.key).button(ctx.t("btn.ask_unlock", period=period)),)


async def unlock_cmd(ctx: Ctx) -> None:
    """/unlock <period>: ask to unlock a closed period for the unit."""
    if not ctx.inbound.args.strip():
        raise UserInputError("unlock.usage")
    period = parse_period(ctx.inbound.args, ctx.today, ctx.settings.period_kind)
    await _start_unlock(ctx, period)


async def on_ask_button(ctx: Ctx, cb: AskUnlockButton) -> None:
    try:
        period = Period.from_key(cb.period)
    except ValueError:
        raise UserInputError("err.stale_button") from None
    await _start_unlock(ctx, period)


async def _start_unlock(ctx: Ctx, period: Period) -> None:
    await unlocks.check_may_ask(ctx.tx, await access.caller(ctx), ctx.settings, period, ctx.now)
    ctx.set_state(Flows.UNLOCK, Steps.REASON, Unlocking(period.key), flow_id=new_flow_id())
    _ask_reason(ctx, period)


def _ask_reason(ctx: Ctx, period: Period) -> None:
    assert ctx.conversation is not None
    flow = ctx.conversation.flow_id
    reasons = [
        (ReasonButton(flow, Act.REASON, code).button(ctx.t(f"unlock.reason.{code}")),)
        for code in REASONS
    ]
    rows = (*reasons, (ReasonButton(flow, Act.CANCEL).button(ctx.t("btn.cancel"), nav=True),))
    ctx.reply(ctx.t("unlock.ask_reason", period=period), rows)


def _unlocking(ctx: Ctx) -> Period:
    assert ctx.conversation is not None
    draft = drafts.load(Unlocking, ctx.conversation.data)
    if draft is None:
        raise UserInputError("conv.unreadable")
    return Period.from_key(draft.period)


async def on_reason_button(ctx: Ctx, cb: ReasonButton) -> None:
    if cb.action is Act.CANCEL:
        ctx.end_state()
        ctx.reply(ctx.t("unlock.cancelled"), edit=True)
        return
    if cb.reason not in REASONS:
        raise UserInputError("err.stale_button")
    await _send_request(ctx, ctx.t(f"unlock.reason.{cb.reason}"))


async def on_reason_text(ctx: Ctx) -> None:
    if fold(ctx.inbound.text).strip(" .!") in CANCEL_WORDS:
        ctx.end_state()
        ctx.reply(ctx.t("unlock.cancelled"))
        return
    if not ctx.inbound.text.strip():
        raise UserInputError("unlock.reason_empty")
    await _send_request(ctx, ctx.inbound.text)


async def ask_reason_again(ctx: Ctx) -> None:
    _ask_reason(ctx, _unlocking(ctx))


async def _send_request(ctx: Ctx, reason: str) -> None:
    period = _unlocking(ctx)
    caller = await access.caller(ctx)
    asked = await unlocks.ask(ctx.tx, caller, ctx.settings, period, reason, ctx.now)
    ctx.end_state()
    unit = _unit_name(ctx, asked.request.unit)
    names = ", ".join(p.name for p in asked.deciders) or "—"
    ctx.reply(ctx.t("unlock.sent", period=period, unit=unit, deciders=names))
    for decider in asked.deciders:
        chat = await delivery.preferred_chat(ctx.tx, decider.id)
        if chat is None:
            continue
        lang = decider.language.value
        text = ctx.translate(
            lang,
            "unlock.request",
            who=asked.asker.name,
            unit=unit,
            period=period,
            reason=asked.request.reason,
        )
        rows = (
            (
                DecideButton(asked.request.id, Verdict.GRANT).button(
                    ctx.translate(lang, "btn.grant_unlock")
                ),
                DecideButton(asked.request.id, Verdict.REFUSE).button(
                    ctx.translate(lang, "btn.refuse_unlock")
                ),
            ),
        )
        ctx.outgoing.append(Outgoing(chat[0], chat[1], Reply(text, rows)))


async def on_decide_button(ctx: Ctx, cb: DecideButton) -> None:
    """✅ / ❌ under an unlock request: decided once; the officer is told."""
    caller = await access.caller(ctx)
    grant = cb.verdict is Verdict.GRANT
    decided = await unlocks.decide(ctx.tx, caller, ctx.settings, cb.request, grant, ctx.now)
    request, period = decided.request, decided.period
    unit = _unit_name(ctx, request.unit)
    until = local_time(ctx, request.open_until) if request.open_until else ""
    if request.status is UnlockStatus.GRANTED:
        ctx.reply(ctx.t("unlock.granted", unit=unit, period=period, until=until), edit=True)
    else:
        ctx.reply(ctx.t("unlock.refused", unit=unit, period=period), edit=True)
    if decided.asker is not None:
        await _tell_asker(ctx, decided.asker, decided, unit, until)


async def _tell_asker(
    ctx: Ctx, asker: Person, decided: unlocks.Decided, unit: str, until: str
) -> None:
    chat = await delivery.preferred_chat(ctx.tx, asker.id)
    if chat is None:
        return
    lang = asker.language.value
    key = (
        "unlock.told_granted"
        if decided.request.status is UnlockStatus.GRANTED
        else "unlock.told_refused"
    )
    text = ctx.translate(
        lang, key, who=decided.decider_name or "—", unit=unit, period=decided.period, until=until
    )
    ctx.outgoing.append(Outgoing(chat[0], chat[1], Reply(text)))


def _unit_name(ctx: Ctx, code: str) -> str:
    unit = ctx.settings.units.get(code)
    return unit.name if unit else code


FEATURE = Feature(
    name="finalize",
    commands={
        "finalize": Command(finalize_cmd, Can.FINALIZE, starts_flow=True, menu=FINALIZERS),
        "reopen": Command(reopen_cmd, Can.REOPEN_PERIOD, menu=ADMINS),
        "unlock": Command(unlock_cmd, Can.ASK_UNLOCK, starts_flow=True),
    },
    callbacks=(
        CallbackRoute(
            FinalizeButton, Can.FINALIZE, on_finalize_button, flows=frozenset({Flows.FINALIZE})
        ),
        CallbackRoute(
            ReasonButton, Can.ASK_UNLOCK, on_reason_button, flows=frozenset({Flows.UNLOCK})
        ),
        CallbackRoute(AskUnlockButton, Can.ASK_UNLOCK, on_ask_button),
        CallbackRoute(DecideButton, Can.DECIDE_UNLOCK, on_decide_button),
    ),
    flows={
        Flows.FINALIZE: FlowRoute(
            on_finalize_text, ask_finalize_again, Can.FINALIZE, draft=Finalizing
        ),
        Flows.UNLOCK: FlowRoute(
            on_reason_text,
            ask_reason_again,
            Can.ASK_UNLOCK,
            draft=Unlocking,
            abandoned="unlock.abandoned",
        ),
    },
    help=(HelpEntry("help.finalize", 45, Can.FINALIZE),),
    offers={"err.period_closed": offer_unlock},
)
