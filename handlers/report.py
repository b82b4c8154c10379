"""The report conversation: pick an indicator → each field → card → ✅ Lưu / ✏️ Sửa / ❌ Hủy.

One conversation serves /report, quick reports and edits of a saved report;
`mode` says which fields still need asking. What the officer said so far is a
frozen `ReportDraft`, replaced at every step and stored by value with the
conversation (runtime.drafts), so a restart continues exactly here and an answer
refused halfway leaves the draft as it was.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import ConfigDict

from domain.access import Action as Can
from domain.errors import AmbiguousNumber, UserInputError
from domain.fields import (
    DateRules,
    check_date,
    check_value,
    default_value,
    format_value,
    input_limit,
    parse_field,
)
from domain.messages import Button, InboundKind
from domain.models import FieldDef, FieldType, IndicatorDef, Photo, Report
from domain.numbers import format_integer, format_number
from domain.quick import Ambiguous, Loose, mentioned_indicators, number_for, parse_quick
from domain.rules import Unusual
from domain.text import fold
from runtime import access, drafts
from runtime.callbacks import FlowCallback
from runtime.context import Ctx, new_flow_id
from runtime.drafts import Value, Values, with_value
from runtime.render import card, indicator_title, summary_line, unit_name, unusual_lines
from runtime.routes import (
    REGISTERED,
    CallbackRoute,
    Command,
    Feature,
    FlowRoute,
    FreeText,
    HelpEntry,
)
from runtime.states import Flow, Step
from usecases import reports, unlocks


class Mode(StrEnum):
    """Which fields are asked: every one in order (new), only what a quick line left open
    (quick), none until the officer picks one (edit of a saved report)."""

    NEW = "new"
    QUICK = "quick"
    EDIT = "edit"


NEW, QUICK, EDIT = Mode.NEW, Mode.QUICK, Mode.EDIT
SAVE_WORDS = {"luu", "ok", "dong y", "xac nhan", "save", "yes", "co"}
EDIT_WORDS = {"sua", "edit", "chinh sua"}
CANCEL_WORDS = {"huy", "cancel", "thoi", "khong"}
SKIP_WORDS = {"bo qua", "skip", "-", "khong co"}
DONE_WORDS = {"xong", "done", "het", "xong roi"}
SURE_WORDS = {"dung", "dung roi", "chac chan", "yes", "co", "ok", "sure", "right"}
FIX_WORDS = {"sua", "sua lai", "fix", "edit", "khong"}


class Action(StrEnum):
    INDICATOR = "i"
    CHOICE = "c"
    SKIP = "s"
    DEFAULT = "d"
    BACK = "b"
    SAVE = "ok"
    EDIT = "ed"
    EDIT_FIELD = "f"
    CANCEL = "x"
    AMBIGUOUS = "a"
    NUMBER_FIELD = "nf"
    PHOTOS_DONE = "pd"
    FIX = "fx"  # a value to fix: of a broken rule, or an unusual one
    SURE = "ys"  # "Bạn chắc chắn?" → Đúng


@dataclass(frozen=True)
class ReportButton(FlowCallback):
    """A button of the report form: `rp:<flow id>:<action>[:<arg>]`."""

    prefix: ClassVar[str] = "rp"
    action: Action
    arg: str = ""


@dataclass(frozen=True, slots=True)
class ReportDraft:
    """The report being made: what the officer has said so far and what is still asked."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    mode: Mode
    unit: str
    indicator: str | None = None
    values: Values = ()
    photos: tuple[Photo, ...] = ()
    #: The field being asked, and the readings offered for an ambiguous number typed there.
    field: str | None = None
    ambiguous: tuple[int | float, ...] = ()
    #: A field picked from the card (✏️ Sửa): its answer goes back to the card.
    return_to_confirm: bool = False
    #: A reminder's period: its date is one tap away.
    preset_date: dt.date | None = None
    #: A quick line that named several activities, and those activities.
    quick_text: str = ""
    quick_options: tuple[str, ...] = ()
    #: Fields the line said unclearly (asked even if optional), and those filled by default.
    ask: tuple[str, ...] = ()
    defaulted: tuple[str, ...] = ()
    #: Numbers of the line not placed yet, and the one being asked about.
    loose: tuple[Loose, ...] = ()
    pending_ambiguous: tuple[Ambiguous, ...] = ()
    number: Loose | None = None
    #: The saved report being edited (mode edit).
    report_id: int | None = None
    #: A broken rule (its index in the indicator's rules; `failed`: could not be computed)
    #: and the fields offered to fix it.
    rule: int | None = None
    rule_failed: bool = False
    fix: tuple[str, ...] = ()
    #: Unusual values asked about ("Bạn chắc chắn?"), and those the person confirmed.
    unusual: tuple[Unusual, ...] = ()
    sure: tuple[str, ...] = ()

    @property
    def value_map(self) -> dict[str, Value]:
        return dict(self.values)

    def answered(self, code: str, value: Value | None) -> ReportDraft:
        """This draft with `code` answered (None: left empty); a changed value is asked
        about afresh if it is unusual."""
        return replace(self, values=with_value(self.values, code, value), sure=())


@dataclass(frozen=True, slots=True)
class Saved:
    """A finished report conversation, kept a while to recognise a double-tapped ✅."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    report_id: int


def _cb(ctx: Ctx, action: Action, arg: str = "") -> ReportButton:
    assert ctx.conversation is not None
    return ReportButton(ctx.conversation.flow_id, action, arg)


def _data(ctx: Ctx) -> ReportDraft:
    assert ctx.conversation is not None
    draft = drafts.load(ReportDraft, ctx.conversation.data)
    if draft is None:  # the dispatcher ends unreadable drafts before any handler runs
        raise UserInputError("conv.unreadable")
    return draft


async def _date_rules(ctx: Ctx, unit: str) -> DateRules:
    """Today's date rules for `unit`: a closed period it holds a running unlock for is open."""
    return await unlocks.open_rules(ctx.tx, ctx.settings, unit, ctx.now)


def _indicator(ctx: Ctx, data: ReportDraft) -> IndicatorDef:
    indicator = ctx.settings.indicator(data.indicator or "")
    if indicator is None:  # config changed under a live conversation
        raise UserInputError("err.indicator_gone")
    return indicator


# ---- entry points -------------------------------------------------------------------------


async def start(ctx: Ctx) -> None:
    """/report [indicator] (admins: /report <unit> [indicator]); the indicator by code or
    name, with or without diacritics (/report tang qua, /report tặng quà)."""
    words = ctx.inbound.args.split()
    caller = await access.caller(ctx)
    typed_unit = None
    if (
        reports.may_report_for_others(caller)
        and words
        and match_indicator(ctx, " ".join(words)) is None
    ):
        typed_unit = words.pop(0)
    unit_code = reports.report_unit(caller, ctx.settings, typed_unit)
    data = ReportDraft(NEW, unit_code)
    wanted = " ".join(words)
    if wanted and (indicator := match_indicator(ctx, wanted)) is not None:
        ctx.set_state(Flow.REPORT, Step.FIELD, data, flow_id=new_flow_id())
        await _choose_indicator(ctx, indicator)
        return
    if wanted:
        ctx.reply(ctx.t("report.unknown_indicator", text=wanted[:60]))
    ctx.set_state(Flow.REPORT, Step.PICK_INDICATOR, data, flow_id=new_flow_id())
    _ask_indicator(ctx)


async def start_for_period(ctx: Ctx, indicator: IndicatorDef | None, day: dt.date) -> None:
    """From a reminder's "📝 Báo cáo ngay": the form, with the period's date one tap away."""
    assert ctx.person is not None
    data = ReportDraft(NEW, ctx.person.unit_code, preset_date=day)
    ctx.set_state(Flow.REPORT, Step.PICK_INDICATOR, data, flow_id=new_flow_id())
    if indicator is not None:
        await _choose_indicator(ctx, indicator)
    else:
        _ask_indicator(ctx)


async def quick(ctx: Ctx, text: str) -> bool:
    """Start a report from one sentence; False when no indicator is recognisable.

    A line naming two activities ("tặng 20 suất quà và kết nạp 5 đoàn viên")
    is not guessed at: the officer picks which one this report is, and only
    then is the line read, with that indicator's hints alone.
    """
    assert ctx.person is not None
    mentioned = mentioned_indicators(text, ctx.settings.indicators)
    if not mentioned:
        return False
    if len(mentioned) == 1:
        await _start_quick(ctx, mentioned[0], text, flow_id=new_flow_id())
        return True
    data = ReportDraft(
        QUICK,
        ctx.person.unit_code,
        quick_text=text,
        quick_options=tuple(i.code for i in mentioned),
    )
    ctx.set_state(Flow.REPORT, Step.PICK_INDICATOR, data, flow_id=new_flow_id())
    rows = tuple(
        (_cb(ctx, Action.INDICATOR, i.code).button(indicator_title(i, ctx.lang)),)
        for i in mentioned
    )
    rows += ((_cb(ctx, Action.CANCEL).button(ctx.t("btn.cancel"), nav=True),),)
    names = ", ".join(i.label.get(ctx.lang) for i in mentioned)
    ctx.reply(ctx.t("quick.which_indicator", count=len(mentioned), names=names), rows)
    return True


async def _start_quick(
    ctx: Ctx, indicator: IndicatorDef, text: str, *, flow_id: str | None = None
) -> None:
    """Read the line for one indicator; what it does not say clearly is asked."""
    assert ctx.person is not None
    parsed = parse_quick(text, ctx.settings.indicators, ctx.today, indicator=indicator)
    assert parsed is not None  # an indicator was given
    values: dict[str, Any] = {}
    ask = list(parsed.unclear)
    for code, exc in parsed.errors:
        ctx.refused(exc)
        ask.append(code)
    for code, value in parsed.values.items():
        f = indicator.field(code)
        if f is None:
            continue
        try:
            if f.type == FieldType.DATE:
                check_date(
                    dt.date.fromisoformat(value), await _date_rules(ctx, ctx.person.unit_code)
                )
            values[code] = check_value(f, value)
        except UserInputError as exc:  # a closed date: 🔓 Xin mở khóa is offered below
            ctx.refused(exc)
            ask.append(code)
    understood = summary_line(indicator, values, ctx.lang)
    defaulted: list[str] = []
    for f in indicator.fields:
        if f.code in values or f.code in ask:
            continue
        if (default := default_value(f, ctx.today)) is not None:
            values[f.code] = default
            defaulted.append(f.code)
    data = ReportDraft(
        QUICK,
        ctx.person.unit_code,
        indicator=indicator.code,
        values=tuple(values.items()),
        ask=tuple(dict.fromkeys(ask)),
        defaulted=tuple(defaulted),
        loose=tuple(replace(n, shown=n.shown or n.raw) for n in parsed.loose),
        pending_ambiguous=parsed.ambiguous,
    )
    ctx.set_state(Flow.REPORT, Step.FIELD, data, flow_id=flow_id)
    lines = [ctx.t("quick.understood", summary=understood)]
    if parsed.unclear:
        labels = ", ".join(_label(indicator, code, ctx.lang) for code in parsed.unclear)
        lines.append(ctx.t("quick.unclear", fields=labels))
    if parsed.elsewhere:
        lines.append(ctx.t("quick.elsewhere", numbers=", ".join(parsed.elsewhere)))
    ctx.reply("\n".join(lines))
    await _advance(ctx, data, after=None)


def _label(indicator: IndicatorDef, code: str, lang: str) -> str:
    f = indicator.field(code)
    return f.label.get(lang) if f else code


async def edit_saved(ctx: Ctx, report: Report) -> None:
    """✏️ on a saved report: the same card, prefilled; ✅ updates it in place."""
    data = ReportDraft(
        EDIT,
        report.unit_code,
        indicator=report.indicator,
        values=tuple((k, v) for k, v in report.values.items() if v is not None),
        report_id=report.id,
    )
    ctx.set_state(Flow.REPORT, Step.CONFIRM, data, flow_id=new_flow_id())
    _show_card(ctx, data)


# ---- steps --------------------------------------------------------------------------------


def _ask_indicator(ctx: Ctx, *, edit: bool = False) -> None:
    offered = _offered_indicators(ctx, _data(ctx)) if ctx.conversation else ()
    buttons = [
        _cb(ctx, Action.INDICATOR, i.code).button(indicator_title(i, ctx.lang))
        for i in offered or ctx.settings.indicators
    ]
    rows = tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
    rows += ((_cb(ctx, Action.CANCEL).button(ctx.t("btn.cancel"), nav=True),),)
    ctx.reply(ctx.t("report.pick_indicator"), rows, edit=edit)


async def _choose_indicator(ctx: Ctx, indicator: IndicatorDef) -> None:
    data = _data(ctx)
    if data.quick_text:  # a line that named several activities: read it for this one
        await _start_quick(ctx, indicator, data.quick_text)
        return
    data = replace(data, indicator=indicator.code, values=(), photos=())
    ctx.set_state(Flow.REPORT, Step.FIELD, data)
    _ask_field(ctx, data, indicator.fields[0])


def _ask_field(ctx: Ctx, data: ReportDraft, f: FieldDef) -> None:
    indicator = _indicator(ctx, data)
    data = replace(data, field=f.code, ambiguous=())
    ctx.set_state(Flow.REPORT, Step.FIELD, data)
    position = [x.code for x in indicator.fields].index(f.code) + 1
    head = ctx.t(
        "report.field_prompt",
        indicator=indicator_title(indicator, ctx.lang),
        step=position,
        steps=len(indicator.fields),
        label=f.label.get(ctx.lang),
    )
    lines = [head, ctx.t(f"hint.{f.type.value}", **_hint_params(ctx, f))]
    if not f.required:
        lines.append(ctx.t("report.optional"))
    rows: list[tuple[Button, ...]] = []
    if f.type == FieldType.CHOICE:
        buttons = [_cb(ctx, Action.CHOICE, c.code).button(c.label.get(ctx.lang)) for c in f.choices]
        rows += [tuple(buttons[i : i + 3]) for i in range(0, len(buttons), 3)]
    if f.type == FieldType.DATE:
        dates = [
            _cb(ctx, Action.DEFAULT, "today").button(ctx.t("btn.today"), nav=True),
            _cb(ctx, Action.DEFAULT, "yesterday").button(ctx.t("btn.yesterday"), nav=True),
        ]
        if (preset := data.preset_date) is not None:
            shown = format_value(f, preset.isoformat(), ctx.lang)
            dates.insert(0, _cb(ctx, Action.DEFAULT, "preset").button(f"📅 {shown}"))
        rows.append(tuple(dates))
    elif f.default is not None and f.type != FieldType.CHOICE:
        shown = format_value(f, default_value(f, ctx.today), ctx.lang)
        rows.append((_cb(ctx, Action.DEFAULT).button(ctx.t("btn.default", value=shown), nav=True),))
    if f.type == FieldType.PHOTO and data.photos:
        rows.append((_cb(ctx, Action.PHOTOS_DONE).button(ctx.t("btn.photos_done"), nav=True),))
    nav = [_cb(ctx, Action.BACK).button(ctx.t("btn.back"), nav=True)]
    if not f.required:
        nav.append(_cb(ctx, Action.SKIP).button(ctx.t("btn.skip"), nav=True))
    nav.append(_cb(ctx, Action.CANCEL).button(ctx.t("btn.cancel"), nav=True))
    rows.append(tuple(nav))
    ctx.reply("\n".join(lines), tuple(rows))


def _hint_params(ctx: Ctx, f: FieldDef) -> dict[str, Any]:
    def shown(bound: float | None) -> str:
        if bound is None:
            return "—"
        if f.type in (FieldType.INTEGER, FieldType.MONEY):
            return format_integer(int(bound), ctx.lang)
        return format_number(bound, ctx.lang)

    return {"min": shown(f.min), "max": shown(f.max), "max_length": input_limit(f)}


def _next_field(indicator: IndicatorDef, data: ReportDraft, after: str | None) -> FieldDef | None:
    values = data.value_map
    if data.return_to_confirm:
        return None
    for code in data.ask:  # the line said it unclearly: asked even if optional
        if (f := indicator.field(code)) is not None:
            return f
    if data.mode == NEW:
        codes = [f.code for f in indicator.fields]
        start = codes.index(after) + 1 if after in codes else 0
        return indicator.fields[start] if start < len(codes) else None
    for f in indicator.fields:
        if f.required and f.code not in values and not (f.type == FieldType.PHOTO and data.photos):
            return f
    return None


async def _advance(ctx: Ctx, data: ReportDraft, after: str | None) -> None:
    indicator = _indicator(ctx, data)
    if after is not None:  # the officer answered this field: no longer a default, nor pending
        data = replace(
            data,
            ask=tuple(c for c in data.ask if c != after),
            defaulted=tuple(c for c in data.defaulted if c != after),
        )
    # A quick line's numbers come first: ambiguous notation ("1.5"), then unplaced ones.
    while not data.return_to_confirm and data.pending_ambiguous:
        first, *rest = data.pending_ambiguous
        data = replace(data, pending_ambiguous=tuple(rest))
        if (f := indicator.field(first.field)) is not None:
            _ask_ambiguous(ctx, data, f, AmbiguousNumber(first.raw, first.options))
            return
    if not data.return_to_confirm and data.loose:
        remaining = _ask_loose_number(ctx, data, indicator)
        if remaining is None:
            return
        data = remaining
    nxt = _next_field(indicator, data, after)
    if nxt is None:
        data = replace(data, field=None, ambiguous=(), return_to_confirm=False)
        ctx.set_state(Flow.REPORT, Step.CONFIRM, data)
        _show_card(ctx, data)
    else:
        _ask_field(ctx, data, nxt)


def _ask_loose_number(ctx: Ctx, data: ReportDraft, indicator: IndicatorDef) -> ReportDraft | None:
    """Ask which field a number of the line belongs to (None); the data when none is left.

    Only fields still open are offered (a default may be replaced); a number
    that fits none is said so, never dropped silently.
    """
    loose = list(data.loose)
    values = data.value_map
    while loose:
        number = loose.pop(0)
        options = [
            f
            for code in number.fields
            if (f := indicator.field(code)) is not None
            and (f.code not in values or f.code in data.defaulted)
        ]
        if not options:
            ctx.reply(
                ctx.t(
                    "quick.number_unused",
                    number=number.shown or number.raw,
                    indicator=indicator.label.get(ctx.lang),
                )
            )
            continue
        asked = replace(number, fields=tuple(f.code for f in options))
        data = replace(data, loose=tuple(loose), number=asked)
        ctx.set_state(Flow.REPORT, Step.QUICK_NUMBER, data)
        _ask_number(ctx, data, indicator)
        return None
    return replace(data, loose=(), number=None)


def _ask_number(ctx: Ctx, data: ReportDraft, indicator: IndicatorDef) -> None:
    """ "Số “500k” trong tin nhắn là mục nào?" with the fields it may fill, and "none"."""
    number = data.number or Loose("", ())
    options = [f for code in number.fields if (f := indicator.field(code)) is not None]
    rows: list[tuple[Button, ...]] = [
        (_cb(ctx, Action.NUMBER_FIELD, f.code).button(f.label.get(ctx.lang)),) for f in options
    ]
    rows.append(
        (
            _cb(ctx, Action.SKIP).button(ctx.t("btn.not_this_number"), nav=True),
            _cb(ctx, Action.CANCEL).button(ctx.t("btn.cancel"), nav=True),
        )
    )
    shown = number.shown or number.raw
    ctx.reply(ctx.t("quick.which_field", number=shown), tuple(rows))


async def _place_number(ctx: Ctx, data: ReportDraft, f: FieldDef | None) -> None:
    """The officer said which field the number is (or none): read it as that field."""
    number = data.number
    data = replace(data, number=None)
    if f is None:
        ctx.set_state(Flow.REPORT, Step.FIELD, data)
        await _advance(ctx, data, after=None)
        return
    if number is None:
        raise UserInputError("err.stale_button")
    try:
        value = check_value(f, number_for(f, number.raw))
    except AmbiguousNumber as exc:
        _ask_ambiguous(ctx, data, f, exc)
        return
    except UserInputError as exc:
        ctx.reply(ctx.t(exc.key, **exc.params))
        _ask_field(ctx, data, f)
        return
    await _advance(ctx, data.answered(f.code, value), after=f.code)


def _show_card(ctx: Ctx, data: ReportDraft, *, edit: bool = False) -> None:
    indicator = _indicator(ctx, data)
    text = card(
        ctx,
        indicator,
        data.value_map,
        len(data.photos),
        data.unit,
        defaulted=data.defaulted,
    )
    rows = (
        (
            _cb(ctx, Action.SAVE).button(ctx.t("btn.save")),
            _cb(ctx, Action.EDIT).button(ctx.t("btn.edit")),
            _cb(ctx, Action.CANCEL).button(ctx.t("btn.cancel")),
        ),
    )
    ctx.reply(text, rows, edit=edit)


async def ask_again(ctx: Ctx) -> None:
    """The open question of this step again, rendered from the persisted state.

    After an error reply the person sees the question and its buttons once more,
    so a numbered list (Zalo, console) always matches what the bot expects.
    """
    assert ctx.conversation is not None
    data = _data(ctx)
    step = Step(ctx.conversation.step)
    if step == Step.PICK_INDICATOR:
        _ask_indicator(ctx)
    elif step == Step.FIELD:
        f = _indicator(ctx, data).field(data.field or "")
        if f is not None:
            _ask_field(ctx, data, f)
    elif step == Step.QUICK_NUMBER:
        _ask_number(ctx, data, _indicator(ctx, data))
    elif step == Step.CONFIRM:
        _show_card(ctx, data)
    elif step == Step.EDIT_PICK:
        _ask_edit_pick(ctx, data)
    elif step == Step.FIX:
        _ask_fix(ctx, data, said=False)
    elif step == Step.SURE:
        _ask_sure(ctx, data)


# ---- checks beyond one field: a broken rule, an unusual value -----------------------------


def _unusual_key(unusual: Unusual) -> str:
    return f"{unusual.field}:{unusual.kind.value}"


def _fix_rows(ctx: Ctx, data: ReportDraft, codes: tuple[str, ...]) -> list[tuple[Button, ...]]:
    indicator = _indicator(ctx, data)
    values = data.value_map
    rows: list[tuple[Button, ...]] = []
    for code in codes:
        f = indicator.field(code)
        if f is None:
            continue
        label = f.label.get(ctx.lang)
        if code in values:
            label = ctx.t(
                "check.fix_button", label=label, value=format_value(f, values[code], ctx.lang)
            )
        rows.append((_cb(ctx, Action.FIX, code).button(label),))
    return rows


def _ask_fix(ctx: Ctx, data: ReportDraft, *, said: bool) -> None:
    """The rule the report breaks, in the configuration's words, and which value to fix."""
    indicator = _indicator(ctx, data)
    lines = []
    if said and data.rule is not None and data.rule < len(indicator.rules):
        rule = indicator.rules[data.rule]
        key = "check.failed" if data.rule_failed else "check.broken"
        lines.append(ctx.t(key, message=rule.message.get(ctx.lang), rule=rule.expr))
    lines.append(ctx.t("check.which_fix"))
    rows = _fix_rows(ctx, data, data.fix)
    rows.append(
        (
            _cb(ctx, Action.BACK).button(ctx.t("btn.back"), nav=True),
            _cb(ctx, Action.CANCEL).button(ctx.t("btn.cancel"), nav=True),
        )
    )
    ctx.reply("\n".join(lines), tuple(rows))


def _ask_sure(ctx: Ctx, data: ReportDraft) -> None:
    """ "Bạn chắc chắn?" with each unusual value and why, then ✅ Đúng / ✏️ Sửa lại."""
    indicator = _indicator(ctx, data)
    lines = [ctx.t("check.sure")]
    lines += unusual_lines(
        ctx.t,
        indicator,
        data.unusual,
        ctx.lang,
        unit_name(ctx.settings, data.unit),
        ctx.settings.outliers.days,
    )
    lines.append(ctx.t("check.sure_question"))
    rows: list[tuple[Button, ...]] = [(_cb(ctx, Action.SURE).button(ctx.t("check.yes")),)]
    codes = tuple(dict.fromkeys(u.field for u in data.unusual))
    for code in codes:
        f = indicator.field(code)
        if f is not None:
            label = ctx.t("check.fix", label=f.label.get(ctx.lang))
            rows.append((_cb(ctx, Action.FIX, code).button(label),))
    rows.append((_cb(ctx, Action.CANCEL).button(ctx.t("btn.cancel"), nav=True),))
    ctx.reply("\n".join(lines), tuple(rows))


async def _checked_choice(ctx: Ctx, data: ReportDraft, step: Step, cb: ReportButton) -> None:
    """A button under a broken rule (which value to fix) or "Bạn chắc chắn?"."""
    offered = data.fix if step == Step.FIX else tuple(u.field for u in data.unusual)
    if cb.action == Action.FIX and cb.arg in offered:
        await _fix(ctx, data, cb.arg)
    elif cb.action == Action.SURE and step == Step.SURE:
        await _sure(ctx, data)
    elif cb.action == Action.SAVE:  # ✅ Lưu of the card above, again: checked again
        ctx.set_state(Flow.REPORT, Step.CONFIRM, data)
        await _save(ctx, data)
    elif cb.action == Action.BACK:
        await back(ctx)
    else:
        raise UserInputError("err.stale_button")


async def _checked_text(ctx: Ctx, data: ReportDraft, step: Step) -> None:
    """Typed words under a broken rule or "Bạn chắc chắn?" (numbers arrive as choices)."""
    folded = fold(ctx.inbound.text)
    indicator = _indicator(ctx, data)
    offered = data.fix if step == Step.FIX else tuple(u.field for u in data.unusual)
    fields = tuple(f for code in offered if (f := indicator.field(code)) is not None)
    if step == Step.SURE and folded in SURE_WORDS:
        await _sure(ctx, data)
        return
    if step == Step.SURE and folded in FIX_WORDS and fields:
        await _fix(ctx, data, fields[0].code)
        return
    f = _match_field(fields, ctx.inbound.text, ctx.lang)
    if f is None:
        raise UserInputError("check.pick_fix" if step == Step.FIX else "check.pick_sure")
    await _fix(ctx, data, f.code)


async def _fix(ctx: Ctx, data: ReportDraft, code: str) -> None:
    """Back to one field; its answer returns to the card, and ✅ Lưu checks again."""
    f = _indicator(ctx, data).field(code)
    if f is None:
        raise UserInputError("err.stale_button")
    data = replace(data, rule=None, rule_failed=False, fix=(), return_to_confirm=True)
    _ask_field(ctx, data, f)


async def _sure(ctx: Ctx, data: ReportDraft) -> None:
    """ "Đúng": the unusual values stand as written; saved with them as warnings."""
    confirmed = tuple(_unusual_key(u) for u in data.unusual)
    data = replace(data, sure=tuple(dict.fromkeys(data.sure + confirmed)))
    ctx.set_state(Flow.REPORT, Step.CONFIRM, data)
    await _save(ctx, data)


# ---- input while the report conversation is active ----------------------------------------


async def on_choice(ctx: Ctx, cb: ReportButton) -> None:
    assert ctx.conversation is not None
    if ctx.conversation.flow == Flow.DONE:  # a double-tapped ✅ of a saved report
        saved = drafts.load(Saved, ctx.conversation.data)
        if cb.action == Action.SAVE and saved is not None:
            raise UserInputError("report.already_saved", id=saved.report_id)
        raise UserInputError("err.stale_button")
    data = _data(ctx)
    step = Step(ctx.conversation.step)
    if cb.action == Action.CANCEL:
        await cancel(ctx, edit=True)
        return
    if step == Step.PICK_INDICATOR and cb.action == Action.INDICATOR:
        indicator = ctx.settings.indicator(cb.arg)
        if indicator is None:
            raise UserInputError("err.stale_button")
        await _choose_indicator(ctx, indicator)
        return
    if step == Step.FIELD:
        await _field_choice(ctx, data, cb)
        return
    if step == Step.QUICK_NUMBER:
        offered = data.number.fields if data.number else ()
        if cb.action == Action.SKIP:
            await _place_number(ctx, data, None)
        elif cb.action == Action.NUMBER_FIELD and cb.arg in offered:
            await _place_number(ctx, data, _indicator(ctx, data).field(cb.arg))
        elif cb.action == Action.BACK:
            await back(ctx)
        else:
            raise UserInputError("err.stale_button")
        return
    if step == Step.CONFIRM:
        if cb.action == Action.SAVE:
            await _save(ctx, data)
        elif cb.action == Action.EDIT:
            _ask_edit_pick(ctx, data)
        else:
            raise UserInputError("err.stale_button")
        return
    if step in (Step.FIX, Step.SURE):
        await _checked_choice(ctx, data, step, cb)
        return
    if step == Step.EDIT_PICK and cb.action == Action.EDIT_FIELD:
        f = _indicator(ctx, data).field(cb.arg)
        if f is None:
            raise UserInputError("err.stale_button")
        _ask_field(ctx, replace(data, return_to_confirm=True), f)
        return
    if step == Step.EDIT_PICK and cb.action == Action.BACK:
        ctx.set_state(Flow.REPORT, Step.CONFIRM, data)
        _show_card(ctx, data)
        return
    raise UserInputError("err.stale_button")


async def _field_choice(ctx: Ctx, data: ReportDraft, cb: ReportButton) -> None:
    indicator = _indicator(ctx, data)
    f = indicator.field(data.field or "")
    if f is None:
        raise UserInputError("err.stale_button")
    if cb.action == Action.BACK:
        await back(ctx)
        return
    if cb.action == Action.SKIP and not f.required:
        await _advance(ctx, data.answered(f.code, None), after=f.code)
        return
    if cb.action == Action.PHOTOS_DONE and f.type == FieldType.PHOTO:
        await _advance(ctx, data, after=f.code)
        return
    if cb.action == Action.CHOICE and f.type == FieldType.CHOICE and f.choice(cb.arg):
        await _advance(ctx, data.answered(f.code, cb.arg), after=f.code)
        return
    if cb.action == Action.DEFAULT:
        if f.type == FieldType.DATE and cb.arg == "preset" and data.preset_date is not None:
            value: Value = check_date(
                data.preset_date, await _date_rules(ctx, data.unit)
            ).isoformat()
        elif f.type == FieldType.DATE:
            day = ctx.today - dt.timedelta(days=1 if cb.arg == "yesterday" else 0)
            value = check_date(day, await _date_rules(ctx, data.unit)).isoformat()
        else:
            value = default_value(f, ctx.today)
        await _advance(ctx, data.answered(f.code, value), after=f.code)
        return
    if cb.action == Action.AMBIGUOUS and data.ambiguous:
        options = data.ambiguous
        index = int(cb.arg) if cb.arg.isdigit() else -1
        if not 0 <= index < len(options):
            raise UserInputError("err.stale_button")
        read = check_value(f, options[index])
        value = int(read) if f.type != FieldType.NUMBER else float(read)
        await _advance(ctx, data.answered(f.code, value), after=f.code)
        return
    raise UserInputError("err.stale_button")


async def on_message(ctx: Ctx) -> None:
    """Typed text, a photo, or something we cannot read, during the conversation."""
    assert ctx.conversation is not None
    data = _data(ctx)
    step = Step(ctx.conversation.step)
    inbound = ctx.inbound
    folded = fold(inbound.text)
    if inbound.kind in (InboundKind.STICKER, InboundKind.UNSUPPORTED):
        raise UserInputError("err.unsupported_in_form")
    if step == Step.PICK_INDICATOR:
        offered = _offered_indicators(ctx, data)
        indicator = match_indicator(ctx, inbound.text, offered)
        if indicator is None:
            names = ", ".join(i.label.get(ctx.lang) for i in offered)
            raise UserInputError("err.bad_indicator", options=names)
        await _choose_indicator(ctx, indicator)
        return
    if step == Step.QUICK_NUMBER:
        number = data.number or Loose("", ())
        if folded in SKIP_WORDS or folded == "khong":
            await _place_number(ctx, data, None)
            return
        indicator = _indicator(ctx, data)
        offered_fields = tuple(
            f for code in number.fields if (f := indicator.field(code)) is not None
        )
        f = _match_field(offered_fields, inbound.text, ctx.lang)
        if f is None:
            raise UserInputError("quick.pick_field", number=number.shown or number.raw)
        await _place_number(ctx, data, f)
        return
    if step == Step.CONFIRM:
        if inbound.kind == InboundKind.PHOTO:
            data = _with_photos(ctx, data)
            ctx.set_state(Flow.REPORT, Step.CONFIRM, data)
            ctx.reply(ctx.t("report.photo_added", count=len(data.photos)))
            _show_card(ctx, data)
        # Words only: a typed number was resolved by the channel against the list this chat
        # actually saw (it arrives as a choice); one that reaches here meant no list.
        elif folded in SAVE_WORDS:
            await _save(ctx, data)
        elif folded in EDIT_WORDS:
            _ask_edit_pick(ctx, data)
        elif folded in CANCEL_WORDS:
            await cancel(ctx)
        else:
            raise UserInputError("err.confirm_choice")
        return
    if step in (Step.FIX, Step.SURE):
        await _checked_text(ctx, data, step)
        return
    if step == Step.EDIT_PICK:
        f = _match_field(_indicator(ctx, data).fields, inbound.text, ctx.lang)
        if f is None:
            raise UserInputError("err.pick_field")
        _ask_field(ctx, replace(data, return_to_confirm=True), f)
        return
    await _field_input(ctx, data)


def _offered_indicators(ctx: Ctx, data: ReportDraft) -> tuple[IndicatorDef, ...]:
    """The indicators on offer: those a quick line named, else all of them."""
    named = tuple(i for code in data.quick_options if (i := ctx.settings.indicator(code)))
    return named or ctx.settings.indicators


def match_indicator(
    ctx: Ctx, text: str, offered: tuple[IndicatorDef, ...] | None = None
) -> IndicatorDef | None:
    """An indicator by code or name, with or without diacritics ("tang qua", "Tặng quà"),
    among `offered` (default: all).

    Numbers are not names: the channel resolves a typed number against the list on screen.
    """
    wanted = fold(text)
    for i in offered if offered is not None else ctx.settings.indicators:
        if wanted in {i.code, fold(i.label.vi), fold(i.label.en), fold(i.label.get(ctx.lang))}:
            return i
    return None


def _match_field(fields: tuple[FieldDef, ...], text: str, lang: str) -> FieldDef | None:
    wanted = fold(text)
    return next(
        (f for f in fields if wanted in {f.code, fold(f.label.vi), fold(f.label.get(lang))}),
        None,
    )


def _with_photos(ctx: Ctx, data: ReportDraft) -> ReportDraft:
    return replace(data, photos=data.photos + ctx.inbound.photos)


async def _field_input(ctx: Ctx, data: ReportDraft) -> None:
    indicator = _indicator(ctx, data)
    f = indicator.field(data.field or "")
    if f is None:
        raise UserInputError("err.stale_button")
    inbound = ctx.inbound
    folded = fold(inbound.text)
    if f.type == FieldType.PHOTO:
        if inbound.kind == InboundKind.PHOTO:
            _ask_photo_more(ctx, _with_photos(ctx, data), f)
            return
        if folded in DONE_WORDS and data.photos:
            await _advance(ctx, data, after=f.code)
            return
        if folded in SKIP_WORDS and not f.required:
            await _advance(ctx, data, after=f.code)
            return
        raise UserInputError("err.photo_expected")
    if inbound.kind == InboundKind.PHOTO:
        raise UserInputError("err.text_expected", label=f.label.get(ctx.lang))
    if folded in SKIP_WORDS and not f.required:
        await _advance(ctx, data.answered(f.code, None), after=f.code)
        return
    try:
        value = parse_field(f, inbound.text, ctx.lang, await _date_rules(ctx, data.unit))
    except AmbiguousNumber as exc:
        _ask_ambiguous(ctx, data, f, exc)
        return
    await _advance(ctx, data.answered(f.code, value), after=f.code)


def _ask_photo_more(ctx: Ctx, data: ReportDraft, f: FieldDef) -> None:
    ctx.set_state(Flow.REPORT, Step.FIELD, data)
    rows = (
        (
            _cb(ctx, Action.PHOTOS_DONE).button(ctx.t("btn.photos_done"), nav=True),
            _cb(ctx, Action.CANCEL).button(ctx.t("btn.cancel"), nav=True),
        ),
    )
    ctx.reply(ctx.t("report.photo_received", count=len(data.photos)), rows)


def _ask_ambiguous(ctx: Ctx, data: ReportDraft, f: FieldDef, exc: AmbiguousNumber) -> None:
    data = replace(data, ambiguous=tuple(exc.options))
    ctx.set_state(Flow.REPORT, Step.FIELD, data)
    shown = [format_value(f, o, ctx.lang) for o in exc.options]
    if len(set(shown)) < len(shown):  # readings that round alike must still look different
        shown = [str(o) for o in exc.options]
    buttons = tuple(_cb(ctx, Action.AMBIGUOUS, str(i)).button(s) for i, s in enumerate(shown))
    ctx.reply(
        ctx.t(exc.prompt_key, text=exc.params["text"], options=ctx.t("word.or").join(shown)),
        (buttons,),
    )


def _ask_edit_pick(ctx: Ctx, data: ReportDraft) -> None:
    indicator = _indicator(ctx, data)
    ctx.set_state(Flow.REPORT, Step.EDIT_PICK, data)
    rows = (
        *(
            (_cb(ctx, Action.EDIT_FIELD, f.code).button(f.label.get(ctx.lang)),)
            for f in indicator.fields
        ),
        (_cb(ctx, Action.BACK).button(ctx.t("btn.back"), nav=True),),
    )
    ctx.reply(ctx.t("report.pick_field"), rows)


async def back(ctx: Ctx) -> None:
    """/back: the previous field (or the indicator list from the first field)."""
    conv = ctx.conversation
    if conv is None or conv.flow != Flow.REPORT:
        raise UserInputError("err.nothing_to_go_back")
    data = _data(ctx)
    step = Step(conv.step)
    if step == Step.PICK_INDICATOR:
        raise UserInputError("err.nothing_to_go_back")
    indicator = _indicator(ctx, data)
    codes = [f.code for f in indicator.fields]
    if step in (Step.FIX, Step.SURE):  # back to the card, nothing changed
        data = replace(data, rule=None, rule_failed=False, fix=(), unusual=())
        ctx.set_state(Flow.REPORT, Step.CONFIRM, data)
        _show_card(ctx, data)
        return
    if step in (Step.CONFIRM, Step.EDIT_PICK):
        _ask_field(ctx, data, indicator.fields[-1])
        return
    current = codes.index(data.field) if data.field in codes else 0
    if data.return_to_confirm:
        data = replace(data, return_to_confirm=False)
        ctx.set_state(Flow.REPORT, Step.CONFIRM, data)
        _show_card(ctx, data)
    elif current == 0:
        if data.mode == EDIT:
            ctx.set_state(Flow.REPORT, Step.CONFIRM, data)
            _show_card(ctx, data)
        else:
            ctx.set_state(Flow.REPORT, Step.PICK_INDICATOR, replace(data, field=None))
            _ask_indicator(ctx)
    else:
        _ask_field(ctx, data, indicator.fields[current - 1])


async def cancel(ctx: Ctx, *, edit: bool = False) -> None:
    """/cancel anywhere: nothing is saved, and the officer is told so."""
    had_flow = ctx.conversation is not None and ctx.conversation.flow != Flow.DONE
    ctx.end_state()
    ctx.reply(
        ctx.t("report.cancelled" if had_flow else "report.nothing_to_cancel"), menu=True, edit=edit
    )


async def _save(ctx: Ctx, data: ReportDraft) -> None:
    assert ctx.conversation is not None
    indicator = _indicator(ctx, data)
    values: dict[str, Any] = data.value_map
    missing = [
        f.label.get(ctx.lang)
        for f in indicator.fields
        if f.required and f.type != FieldType.PHOTO and f.code not in values
    ]
    if missing:
        raise UserInputError("err.missing_fields", fields=", ".join(missing))
    photos = data.photos
    flow_id = ctx.conversation.flow_id
    caller = await access.caller(ctx)
    checked = await reports.check(
        ctx.tx,
        caller,
        ctx.settings,
        unit=data.unit,
        indicator=indicator,
        values=values,
        now=ctx.now,
        report_id=data.report_id if data.mode == EDIT else None,
    )
    if checked.broken:
        first = checked.broken[0]
        data = replace(data, rule=first.index, rule_failed=first.failed, fix=first.fields)
        ctx.set_state(Flow.REPORT, Step.FIX, data)
        _ask_fix(ctx, data, said=True)
        return
    if any(_unusual_key(u) not in data.sure for u in checked.warnings):
        data = replace(data, unusual=checked.warnings)
        ctx.set_state(Flow.REPORT, Step.SURE, data)
        _ask_sure(ctx, data)
        return
    if data.mode == EDIT:
        assert data.report_id is not None
        report, changed = await reports.update(
            ctx.tx,
            caller,
            ctx.settings,
            report_id=data.report_id,
            indicator=indicator,
            values=values,
            added_photos=photos,
            now=ctx.now,
        )
        key = "report.updated" if changed else "report.unchanged"
    else:
        report = await reports.create(
            ctx.tx,
            caller,
            ctx.settings,
            unit=data.unit,
            indicator=indicator,
            values=values,
            photos=photos,
            source_key=ctx.inbound.key,
            now=ctx.now,
        )
        key = "report.saved"
    ctx.set_state(Flow.DONE, Step.FINISHED, Saved(report.id), flow_id=flow_id)
    line = summary_line(indicator, report.values, ctx.lang, len(report.photos))
    text = ctx.t(key, id=report.id, summary=line)
    if checked.warnings:
        text += "\n" + ctx.t("check.saved_with_warnings", count=len(checked.warnings))
    ctx.reply(text, edit=ctx.inbound.kind == InboundKind.CHOICE)
    ctx.reply(ctx.t("report.next"), menu=True)


# ---- routes -------------------------------------------------------------------------------


async def _quick_cmd(ctx: Ctx) -> None:
    text = ctx.inbound.args.strip()
    if not text:
        raise UserInputError("quick.usage")
    if not await quick(ctx, text):
        raise UserInputError("quick.not_understood")


async def _cancel_cmd(ctx: Ctx) -> None:
    await cancel(ctx)


async def _nothing_to_ask(ctx: Ctx) -> None:
    """A saved report asks nothing more."""


FEATURE = Feature(
    name="report",
    commands={
        "report": Command(start, Can.REPORT, starts_flow=True, menu=REGISTERED),
        "quick": Command(_quick_cmd, Can.REPORT, starts_flow=True, menu=REGISTERED),
        "cancel": Command(_cancel_cmd, Can.CANCEL, menu=REGISTERED),
        "back": Command(back, Can.REPORT, menu=REGISTERED),
    },
    callbacks=(
        CallbackRoute(
            ReportButton, Can.REPORT, on_choice, flows=frozenset({Flow.REPORT, Flow.DONE})
        ),
    ),
    flows={
        Flow.REPORT: FlowRoute(
            on_message,
            ask_again,
            Can.REPORT,
            draft=ReportDraft,
            abandoned="report.abandoned",
            numbers_answer=lambda conv: conv.step == Step.FIELD,
        ),
        Flow.DONE: FlowRoute(None, _nothing_to_ask, Can.REPORT, draft=Saved),
    },
    help=(HelpEntry("help.reporting", 10),),
    free_text=FreeText(quick, Can.REPORT, "quick.not_understood"),
)
