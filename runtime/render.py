"""How reports look in chat: the confirmation card and the one-line summary."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from domain.fields import format_value
from domain.models import FieldDef, FieldType, IndicatorDef, Report, ReportStatus
from domain.numbers import format_number
from domain.rules import Unusual, UnusualKind
from domain.settings import HandlerSettings
from domain.text import truncate
from runtime.context import Ctx


def _figure(f: FieldDef, value: float, lang: str) -> str:
    return format_value(f, value if f.type == FieldType.NUMBER else round(value), lang)


def unusual_lines(
    t: Callable[..., str],
    indicator: IndicatorDef,
    found: Sequence[Unusual],
    lang: str,
    unit: str,
    days: int,
) -> list[str]:
    """One line per unusual value, saying which value and why, against what is usual:
    "• Giá trị mỗi suất (Tặng quà): 50.000.000 đ cho 1 suất quà — cao hơn mức thường gặp
    (5.000.000 đ cho 1 suất quà)", or against what `unit` (its name) usually reports.
    For "Bạn chắc chắn?", the review card and the web. `days`: the window the usual value
    is the median of ([reporting] outlier_days), in whole years' months where it is one."""
    years, odd = divmod(days, 365)
    window = (
        t("check.window_months", months=years * 12)
        if years and not odd
        else t("check.window_days", days=days)
    )
    lines: list[str] = []
    for u in found:
        f = indicator.field(u.field)
        if f is None:
            continue
        per = t("check.per", what=f.per.get(lang)) if f.per else ""
        params = {
            "label": f.label.get(lang),
            "indicator": indicator.label.get(lang),
            "value": _figure(f, u.value, lang) + per,
            "limit": _figure(f, u.limit, lang) + per,
        }
        if u.kind == UnusualKind.USUAL:
            times = format_number(round(u.times(), 1), lang)
            lines.append(t("check.above_usual", times=times, unit=unit, window=window, **params))
        else:
            lines.append(t("check.above_soft_max", **params))
    return lines


def unit_name(settings: HandlerSettings, code: str) -> str:
    unit = settings.units.get(code)
    return unit.name if unit else code


def indicator_title(indicator: IndicatorDef, lang: str) -> str:
    label = indicator.label.get(lang)
    return f"{indicator.icon} {label}" if indicator.icon else label


def summary_line(
    indicator: IndicatorDef, values: Mapping[str, Any], lang: str, photos: int = 0
) -> str:
    """ "🎁 Tặng quà · 20 suất · 500.000 đ · 8/3 · 08/03/2026": values in form order."""
    parts = [indicator_title(indicator, lang)]
    for f in indicator.fields:
        value = values.get(f.code)
        if value is None or f.type == FieldType.PHOTO:
            continue
        shown = format_value(f, value, lang)
        parts.append(truncate(shown, 40) if f.type == FieldType.TEXT else shown)
    if photos:
        parts.append(f"📷 {photos}")
    return " · ".join(parts)


def card(
    ctx: Ctx,
    indicator: IndicatorDef,
    values: Mapping[str, Any],
    photos: int,
    unit_code: str,
    *,
    defaulted: Collection[str] = (),
) -> str:
    """The confirmation card; values the bot filled in (`defaulted`) say so, as
    "(hôm nay)" on a date, so the officer sees what was not typed."""
    lines = [ctx.t("report.card_title", indicator=indicator_title(indicator, ctx.lang))]
    for f in indicator.fields:
        label = f.label.get(ctx.lang)
        if f.type == FieldType.PHOTO:
            shown = (
                ctx.t("report.photos_count", count=photos)
                if photos
                else ctx.t("report.empty_value")
            )
        else:
            value = values.get(f.code)
            shown = (
                format_value(f, value, ctx.lang)
                if value is not None
                else ctx.t("report.empty_value")
            )
            if value is not None and f.code in defaulted:
                today = f.type == FieldType.DATE and value == ctx.today.isoformat()
                shown += " " + ctx.t("report.default_today" if today else "report.default_value")
        lines.append(f"• {label}: {shown}")
    lines.append(ctx.t("report.card_unit", unit=unit_name(ctx.settings, unit_code)))
    lines.append("")
    lines.append(ctx.t("report.card_question"))
    return "\n".join(lines)


def local_time(ctx: Ctx, moment: dt.datetime) -> str:
    return moment.astimezone(ctx.settings.tz).strftime("%H:%M %d/%m/%Y")


def report_line(ctx: Ctx, report: Report) -> str:
    indicator = ctx.settings.indicator(report.indicator)
    body = (
        summary_line(indicator, report.values, ctx.lang, len(report.photos))
        if indicator
        else report.indicator
    )
    line = f"#{report.id} {body}"
    if report.status == ReportStatus.RETRACTED:
        line = f"{ctx.t('myreports.retracted_mark')} {line}"
    return line
