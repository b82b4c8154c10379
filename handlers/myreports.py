"""/myreports: the unit's latest reports; retract (🗑) or edit (✏️) one's own within 24 h."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from pydantic import ConfigDict

from domain.access import Action as Can
from domain.errors import UserInputError
from domain.evidence import EvidencePhoto, Likeness, PhotoState
from domain.messages import Button
from domain.models import Report, ReportStatus, ReviewState
from handlers import report as report_flow
from runtime import access, drafts
from runtime.callbacks import FlowCallback
from runtime.context import Ctx, new_flow_id
from runtime.render import local_time, report_line
from runtime.routes import REGISTERED, CallbackRoute, Command, Feature, FlowRoute, HelpEntry
from runtime.states import Flow, Step
from usecases import evidence, reports, review


class Action(StrEnum):
    RETRACT = "rt"
    RETRACT_YES = "ry"
    RETRACT_NO = "rn"
    EDIT_REPORT = "er"


@dataclass(frozen=True, slots=True)
class Retracting:
    """The draft of /myreports: the report a retract question is about (None: the list)."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    report_id: int | None = None


@dataclass(frozen=True)
class MyReportsButton(FlowCallback):
    """A button of the /myreports list or its retract question: `mr:<flow id>:<action>[:<id>]`."""

    prefix: ClassVar[str] = "mr"
    action: Action
    arg: str = ""


async def show(ctx: Ctx) -> None:
    assert ctx.person is not None
    latest = await reports.latest(ctx.tx, await access.caller(ctx), ctx.settings, ctx.now)
    unit = ctx.settings.units.get(ctx.person.unit_code)
    if not latest:
        ctx.reply(ctx.t("myreports.empty", unit=unit.name if unit else ctx.person.unit_code))
        return
    flow_id = new_flow_id()
    ctx.set_state(Flow.MYREPORTS, Step.LIST, Retracting(), flow_id=flow_id)
    lines = [ctx.t("myreports.title", unit=unit.name if unit else "", count=len(latest))]
    rows: list[tuple[Button, ...]] = []
    for listed in latest:
        r = listed.report
        lines.append(report_line(ctx, r))
        lines.append(
            "   " + ctx.t("myreports.meta", when=local_time(ctx, r.created_at), who=listed.author)
        )
        state = await _review_state(ctx, r)
        if state:
            lines.append("   " + state)
        if not listed.may_change:
            continue
        rows.append(
            (
                MyReportsButton(flow_id, Action.EDIT_REPORT, str(r.id)).button(f"✏️ #{r.id}"),
                MyReportsButton(flow_id, Action.RETRACT, str(r.id)).button(f"🗑 #{r.id}"),
            )
        )
    if rows:
        lines.append("")
        lines.append(ctx.t("myreports.actions_hint"))
    ctx.reply("\n".join(lines), tuple(rows))


async def _review_state(ctx: Ctx, report: Report) -> str:
    """Where the report is in review ("" when nobody reviews and it was accepted as saved);
    a returned one says why."""
    if report.status == ReportStatus.RETRACTED:
        return ""
    if report.review == ReviewState.RETURNED:
        found = await review.trail(ctx.tx, await access.caller(ctx), report.id)
        reasons = [e.reason for e in found if e.action == "returned" and e.reason]
        return ctx.t("myreports.state_returned", reason=reasons[-1] if reasons else "—")
    if report.review == ReviewState.SUBMITTED:
        return ctx.t("myreports.state_submitted")
    return ctx.t("myreports.state_accepted") if ctx.settings.review.enabled else ""


def _report_id(raw_id: str) -> int:
    text = raw_id.strip().lstrip("#")
    if not text.isdigit() or len(text) > 12:
        raise UserInputError("err.report_id_expected")
    return int(text)


async def _own_report(ctx: Ctx, raw_id: str) -> Report:
    caller = await access.caller(ctx)
    return await reports.changeable(ctx.tx, caller, ctx.settings, _report_id(raw_id), ctx.now)


async def ask_retract(ctx: Ctx, raw_id: str) -> None:
    """/retract <id> or 🗑: confirm first, nothing is retracted by one stray tap."""
    report = await _own_report(ctx, raw_id)
    ctx.set_state(
        Flow.MYREPORTS, Step.RETRACT_CONFIRM, Retracting(report.id), flow_id=new_flow_id()
    )
    _show_retract_question(ctx, report)


def _show_retract_question(ctx: Ctx, report: Report) -> None:
    assert ctx.conversation is not None
    flow_id = ctx.conversation.flow_id
    rows = (
        (
            MyReportsButton(flow_id, Action.RETRACT_YES, str(report.id)).button(
                ctx.t("btn.retract_yes")
            ),
            MyReportsButton(flow_id, Action.RETRACT_NO).button(ctx.t("btn.retract_no")),
        ),
    )
    ctx.reply(ctx.t("myreports.retract_question", line=report_line(ctx, report)), rows)


async def ask_again(ctx: Ctx) -> None:
    """The open question of this flow, from the persisted state (after an error reply)."""
    conv = ctx.conversation
    if conv is None or conv.step != Step.RETRACT_CONFIRM:
        return  # the list is not a question; its buttons stay valid on screen
    draft = drafts.load(Retracting, conv.data)
    report_id = draft.report_id if draft is not None else None
    report = await reports.find(ctx.tx, await access.caller(ctx), report_id) if report_id else None
    if report is not None:
        _show_retract_question(ctx, report)


async def edit(ctx: Ctx, raw_id: str) -> None:
    report = await _own_report(ctx, raw_id)
    await report_flow.edit_saved(ctx, report)


async def on_choice(ctx: Ctx, cb: MyReportsButton) -> None:
    assert ctx.person is not None and ctx.conversation is not None
    if cb.action == Action.RETRACT:
        await ask_retract(ctx, cb.arg)
    elif cb.action == Action.EDIT_REPORT:
        await edit(ctx, cb.arg)
    elif cb.action == Action.RETRACT_YES and ctx.conversation.step == Step.RETRACT_CONFIRM:
        draft = drafts.load(Retracting, ctx.conversation.data)
        if draft is None or str(draft.report_id) != cb.arg:
            raise UserInputError("err.stale_button")
        caller = await access.caller(ctx)
        report = await reports.retract(ctx.tx, caller, ctx.settings, _report_id(cb.arg), ctx.now)
        ctx.end_state()
        ctx.reply(ctx.t("myreports.retracted", id=report.id), edit=True)
    elif cb.action == Action.RETRACT_NO:
        ctx.end_state()
        ctx.reply(ctx.t("myreports.retract_kept"), edit=True)
    else:
        raise UserInputError("err.stale_button")


# ---- /photos N: a report's evidence photos ------------------------------------------------

_STATE_LINES = {
    PhotoState.PENDING: "evidence.line_pending",
    PhotoState.TOO_LARGE: "evidence.line_too_large",
    PhotoState.NOT_IMAGE: "evidence.line_not_image",
    PhotoState.FAILED: "evidence.line_failed",
}


def photo_lines(ctx: Ctx, unit: str, photo: EvidencePhoto) -> list[str]:
    """A photo's state (kept, size; or why not) and the other reports carrying it."""
    if photo.state is PhotoState.STORED:
        size = ctx.t(
            "evidence.line_stored",
            n=photo.position,
            width=photo.width,
            height=photo.height,
            kb=max(1, (photo.size or 0) // 1024),
        )
    else:
        size = ctx.t(_STATE_LINES[photo.state], n=photo.position)
    lines = [size]
    for other in photo.duplicates:
        where = ctx.t("evidence.same_unit" if other.unit_code == unit else "evidence.other_unit")
        key = "evidence.same" if other.likeness is Likeness.SAME else "evidence.similar"
        lines.append(ctx.t(key, id=other.report_id, where=where))
    return lines


async def photos(ctx: Ctx) -> None:
    """/photos N: which photos of report N are kept, and which appear on other reports; the
    kept ones are sent with it (an album on Telegram)."""
    report_id = _report_id(ctx.inbound.args)
    caller = await access.caller(ctx)
    found = await evidence.report_photos(ctx.tx, caller, report_id)
    if not found.photos:
        ctx.reply(ctx.t("evidence.none", id=report_id))
        return
    lines = [ctx.t("evidence.title", id=report_id, count=len(found.photos))]
    for photo in found.photos:
        lines.extend(photo_lines(ctx, found.unit_code, photo))
    ctx.reply("\n".join(lines), album=found.album)


# ---- routes -------------------------------------------------------------------------------


async def _retract_cmd(ctx: Ctx) -> None:
    await ask_retract(ctx, ctx.inbound.args)


async def _edit_cmd(ctx: Ctx) -> None:
    await edit(ctx, ctx.inbound.args)


FEATURE = Feature(
    name="myreports",
    commands={
        "myreports": Command(show, Can.REPORT, starts_flow=True, menu=REGISTERED),
        "retract": Command(_retract_cmd, Can.REPORT, starts_flow=True),
        "edit": Command(_edit_cmd, Can.REPORT, starts_flow=True),
        "photos": Command(photos, Can.VIEW_EVIDENCE),
    },
    help=(HelpEntry("evidence.help", 15, Can.VIEW_EVIDENCE),),
    callbacks=(
        CallbackRoute(MyReportsButton, Can.REPORT, on_choice, flows=frozenset({Flow.MYREPORTS})),
    ),
    flows={Flow.MYREPORTS: FlowRoute(None, ask_again, Can.REPORT, draft=Retracting)},
)
