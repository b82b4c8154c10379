"""/myreports: the unit's latest reports; retract (🗑) or edit (✏️) one's own within 24 h."""

from __future__ import annotations

from domain.errors import UserInputError
from domain.messages import Button
from domain.models import Report
from handlers import report as report_flow
from runtime import access
from runtime.callbacks import Action, CallbackData
from runtime.context import Ctx, new_flow_id
from runtime.render import local_time, report_line
from runtime.states import Flow, Step
from usecases import reports


async def show(ctx: Ctx) -> None:
    assert ctx.person is not None
    latest = await reports.latest(ctx.tx, await access.caller(ctx), ctx.settings, ctx.now)
    unit = ctx.settings.units.get(ctx.person.unit_code)
    if not latest:
        ctx.reply(ctx.t("myreports.empty", unit=unit.name if unit else ctx.person.unit_code))
        return
    flow_id = new_flow_id()
    ctx.set_state(Flow.MYREPORTS, Step.LIST, {}, flow_id=flow_id)
    lines = [ctx.t("myreports.title", unit=unit.name if unit else "", count=len(latest))]
    rows: list[tuple[Button, ...]] = []
    for listed in latest:
        r = listed.report
        lines.append(report_line(ctx, r))
        lines.append(
            "   " + ctx.t("myreports.meta", when=local_time(ctx, r.created_at), who=listed.author)
        )
        if not listed.may_change:
            continue
        rows.append(
            (
                CallbackData(flow_id, Action.EDIT_REPORT, str(r.id)).button(f"✏️ #{r.id}"),
                CallbackData(flow_id, Action.RETRACT, str(r.id)).button(f"🗑 #{r.id}"),
            )
        )
    if rows:
        lines.append("")
        lines.append(ctx.t("myreports.actions_hint"))
    ctx.reply("\n".join(lines), tuple(rows))


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
        Flow.MYREPORTS, Step.RETRACT_CONFIRM, {"report_id": report.id}, flow_id=new_flow_id()
    )
    _show_retract_question(ctx, report)


def _show_retract_question(ctx: Ctx, report: Report) -> None:
    assert ctx.conversation is not None
    flow_id = ctx.conversation.flow_id
    rows = (
        (
            CallbackData(flow_id, Action.RETRACT_YES, str(report.id)).button(
                ctx.t("btn.retract_yes")
            ),
            CallbackData(flow_id, Action.RETRACT_NO).button(ctx.t("btn.retract_no")),
        ),
    )
    ctx.reply(ctx.t("myreports.retract_question", line=report_line(ctx, report)), rows)


async def ask_again(ctx: Ctx) -> None:
    """The open question of this flow, from the persisted state (after an error reply)."""
    conv = ctx.conversation
    if conv is None or conv.step != Step.RETRACT_CONFIRM:
        return  # the list is not a question; its buttons stay valid on screen
    report = await reports.find(ctx.tx, await access.caller(ctx), int(conv.data["report_id"]))
    if report is not None:
        _show_retract_question(ctx, report)


async def edit(ctx: Ctx, raw_id: str) -> None:
    report = await _own_report(ctx, raw_id)
    await report_flow.edit_saved(ctx, report)


async def on_choice(ctx: Ctx, cb: CallbackData) -> None:
    assert ctx.person is not None and ctx.conversation is not None
    if cb.action == Action.RETRACT:
        await ask_retract(ctx, cb.arg)
    elif cb.action == Action.EDIT_REPORT:
        await edit(ctx, cb.arg)
    elif cb.action == Action.RETRACT_YES and ctx.conversation.step == Step.RETRACT_CONFIRM:
        if str(ctx.conversation.data.get("report_id")) != cb.arg:
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
