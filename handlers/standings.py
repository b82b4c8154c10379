"""Standings in chat: /standings, /unit, "Vì sao?", /linkgroup, /export, /target, group posts.

Numbers come from the reports (retracted ones never count) and the targets;
the arithmetic is `domain.scoring`. Every ranking says it is advisory: the
official one is voted at the year-end review.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import math
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import partial
from typing import ClassVar

from documents.chart import standings_chart
from domain.access import Action as Access
from domain.errors import UserInputError
from domain.measures import MeasureDef
from domain.messages import Attachment, Button, ChatAction, OutboxItem, Reply
from domain.numbers import format_integer, format_money, format_number, format_percent, parse_number
from domain.obligations import Tally
from domain.periods import Period, PeriodKind, parse_period
from domain.quick import detect_indicator
from domain.scoring import (
    Phrase,
    UnitStanding,
    explain,
)
from domain.snapshots import Snapshot
from domain.text import capitalized, clip_words, fold, wrap, wrap_atoms
from runtime import access, workers
from runtime.callbacks import CallbackData
from runtime.context import Ctx, HandlerSettings, Translator
from runtime.routes import (
    ADMINS,
    CHAIRS,
    LEADERS,
    REGISTERED,
    CallbackRoute,
    Command,
    Feature,
    HelpEntry,
    ScheduledJob,
    Work,
)
from usecases import Tx, delivery, exports, finalize, linking, targets
from usecases import standings as ranking
from usecases.standings import ClusterStandings, compute, reporting_rates

log = logging.getLogger(__name__)


class WhyKind(StrEnum):
    WHY = "w"


@dataclass(frozen=True)
class WhyButton(CallbackData):
    """ "Vì sao?" under a unit of the ranking: `st:w:<cluster>:<period>:<unit>`; also on the
    scheduled posts in groups, so it is answered there too."""

    prefix: ClassVar[str] = "st"
    kind: WhyKind
    cluster: str
    period: str
    unit: str


PREFIX = WhyButton.prefix
LINE = 40  # characters: readable on a phone without wrapping; numbers are never cut


async def parse_standings_period(ctx: Ctx, text: str) -> Period:
    """A year or a đợt of a year that has clusters; anything else gets the valid choices."""
    years = await ranking.cluster_years(ctx.tx)
    choices = ranking.valid_periods(years)
    default = Period(PeriodKind.YEAR, ctx.today.year, 1)
    if not text.strip():
        return default if ctx.today.year in years else choices[0]
    try:
        period = parse_period(text, ctx.today, PeriodKind.YEAR)
    except UserInputError:
        period = None
    if period is None or period not in choices:
        shown = ", ".join(p.name(ctx.t, short=True) for p in choices[:9])
        raise UserInputError("standings.bad_period", text=text.strip()[:40], choices=shown)
    return period


def _short(ctx: Ctx, code: str) -> str:
    unit = ctx.settings.units.get(code)
    return unit.name if unit else code


def _unit_line(
    t: Callable[..., str], lang: str, row: UnitStanding, tally: Tally | None
) -> list[str]:
    """One unit, compactly: rank, name, score, rating, reporting rate; wrapped, never cut."""
    rank = f"={row.rank}." if row.tied else f"{row.rank}."
    atoms = [
        f"{rank} {row.unit.name}",
        f"{row.format_score(lang)} {t('standings.points')}",
        t(row.rating.label_key),
    ]
    if tally is not None:
        rate = tally.completeness
        atoms.append(
            t("standings.rate", rate=format_percent(rate, lang))
            if rate is not None
            else t("standings.rate_not_due")
        )
    return wrap_atoms(atoms, LINE)


def render(
    t: Callable[..., str],
    lang: str,
    result: ClusterStandings,
    rates: dict[str, Tally] | None = None,
    finalised: str | None = None,
) -> Reply:
    """The ranking on a phone: one compact entry per unit (≤ 40 characters a line,
    numbers never cut), the per-criterion details behind "Vì sao?" buttons; the
    tie rule only when units are tied; how pro-rated targets and the rate are read."""
    lines = [
        *wrap(t("standings.title", cluster=result.cluster.name), LINE),
        capitalized(result.period.name(t)),
        *(wrap(finalised, LINE) if finalised else ()),
        "",
    ]
    buttons: list[tuple[Button, ...]] = []
    rates = rates or {}
    for row in result.standings.rows:
        lines += _unit_line(t, lang, row, rates.get(row.unit.code))
        why = WhyButton(WhyKind.WHY, result.cluster.code, result.period.key, row.unit.code)
        buttons.append((why.button(t("standings.why", unit=clip_words(row.unit.name, 24))),))
    if not result.standings.rows:
        lines.append(t("standings.empty"))
    notes: list[str] = []
    if result.targets is not None and result.targets.from_year:
        share = result.targets.share
        notes.append(
            t(
                "standings.from_year",
                period=result.period,
                share=f"{share.numerator}/{share.denominator}",
            )
        )
    if any(r is not None and r.expected for r in rates.values()):
        notes.append(t("standings.rate_legend"))
    if any(row.tied for row in result.standings.rows):
        notes.append(t("standings.tie_rule", rule=result.standings.tie_rule))
    if result.unreviewed and finalised is None:
        key = "standings.accepted_only" if result.accepted_only else "standings.provisional"
        notes.append(t(key, count=result.unreviewed))
    lines.append("")
    for note in notes:
        lines += wrap(note, LINE, indent="")
    if finalised is None:
        lines.append(t("standings.advisory"))
    else:
        lines.append(t("standings.advisory_finalised"))
    return Reply("\n".join(lines), tuple(buttons))


_RENDERED: OrderedDict[Hashable, tuple[ClusterStandings, object, Reply]] = OrderedDict()
_RENDERED_MOST = 1024


def render_kept(
    words: Hashable,
    t: Callable[..., str],
    lang: str,
    result: ClusterStandings,
    rates: dict[str, Tally],
) -> Reply:
    """`render`, kept for the very result and rates objects the standings memo gives again
    (usecases.standings.with_rates): the same text without formatting it once more.
    `words` names what `t` says (its catalog and variant): equal words, equal texts."""
    key = (id(result), id(rates), lang, words)
    kept = _RENDERED.get(key)
    if kept is not None and kept[0] is result and kept[1] is rates:
        _RENDERED.move_to_end(key)
        return kept[2]
    reply = render(t, lang, result, rates)
    _RENDERED[key] = (result, rates, reply)  # held: the ids stay theirs while kept
    while len(_RENDERED) > _RENDERED_MOST:
        _RENDERED.popitem(last=False)
    return reply


def finalised_note(ctx: Ctx, snapshot: Snapshot) -> str:
    """ "🔒 Đã chốt ngày … (Nguyễn Văn A)" over a finalised period's standings."""
    return _note(ctx.t, snapshot, ctx.settings.tz)


def _note(t: Callable[..., str], snapshot: Snapshot, tz: dt.tzinfo) -> str:
    return t(
        "finalize.note",
        date=f"{snapshot.finalised_on(tz):%d/%m/%Y}",
        who=snapshot.finalised_by_name or t("finalize.operator"),
    )


def why_lines(
    t: Callable[..., str], phrases: Sequence[Phrase], width: int | None = LINE
) -> list[str]:
    """The "Vì sao?" lines, each within `width`, a number never cut.

    A criterion reads "• {label}: {figures} → {points}": the full label when
    "• label: figures" fits a line, else the configured short label; the line
    breaks only before "→" or between words. "—" is explained once, at the end.
    """
    lines: list[str] = []
    for phrase in phrases:
        if phrase.label:
            text = t(phrase.key, **phrase.params, label=phrase.label)
            head = text.split(" → ", 1)[0]
            if width is not None and len("• " + head) > width and phrase.short_label:
                text = t(phrase.key, **phrase.params, label=phrase.short_label)
            parts = text.split(" → ")
            atoms = ["• " + parts[0], *("→ " + part for part in parts[1:])]
            indent = "  "
        elif phrase.key in _SUB_PHRASES:
            atoms, indent = ["  ↳ " + t(phrase.key, **phrase.params)], "    "
        else:
            atoms, indent = [t(phrase.key, **phrase.params)], "  "
        if width is None:
            lines.append(" ".join(atoms))
        else:
            lines += wrap_atoms(atoms, width, indent=indent, sep=" ")
    if any("/—" in line for line in lines):
        lines.append(t("why.dash"))
    return lines


_SUB_PHRASES = frozenset({"why.from_year", "why.on_track", "why.behind"})


async def chart_reply(translate: Translator, lang: str, result: ClusterStandings) -> Reply:
    """The chart, drawn in the drawing process (matplotlib takes a tenth of a second or more,
    holding the interpreter): call it after the transaction (`ctx.send_after_commit`).
    Kept per cluster, period and language until the standings change."""
    t = partial(translate, lang)
    title = f"{result.cluster.name} — {result.period.name(t)}"
    key = ("standings", result.cluster.code, result.period.key, lang)
    png = await workers.draw_cached(key, standings_chart, result.standings, title, lang, translate)
    attachment = Attachment("image", "xep-hang.png", base64.b64encode(png).decode())
    return Reply(t("standings.chart_caption", cluster=result.cluster.name), attachment=attachment)


# ---- commands -------------------------------------------------------------------------------


async def standings_cmd(ctx: Ctx) -> None:
    """/standings [period | indicator | all]."""
    args = ctx.inbound.args.strip()
    words = args.split()
    if words and fold(words[0]) in {"all", "tat ca"}:
        await _all_clusters(ctx, " ".join(words[1:]))
        return
    indicator = (ctx.settings.indicator(fold(words[0])) if words else None) or (
        detect_indicator(args, ctx.settings.indicators) if words and not args[0].isdigit() else None
    )
    if indicator is not None:
        period_words = [w for w in words if any(ch.isdigit() for ch in w)]
        await _one_indicator(ctx, indicator.code, " ".join(period_words[-1:]))
        return
    period = await parse_standings_period(ctx, args)
    caller = await access.caller(ctx)
    final = await finalize.finalised(ctx.tx, caller, period)
    if final is not None:  # the snapshot it was closed with, never the live figures
        result, rates = final.result, final.snapshot.rates
        ctx.send(render(ctx.t, ctx.lang, result, rates, finalised_note(ctx, final.snapshot)))
    else:
        result, rates = await ranking.of_cluster(ctx.tx, caller, ctx.settings, period, ctx.now)
        said_by = (ctx.translate, ctx.has_buttons)
        ctx.send(render_kept(said_by, ctx.t, ctx.lang, result, rates))
    if result.standings.rows:
        ctx.send_after_commit(partial(chart_reply, ctx.translate, ctx.lang, result))


async def _all_clusters(ctx: Ctx, period_text: str) -> None:
    period = await parse_standings_period(ctx, period_text)
    caller = await access.caller(ctx)
    lines = [*wrap(ctx.t("standings.all_title", period=period), LINE), ""]
    for result in await ranking.every_cluster(
        ctx.tx, caller, ctx.settings, period, ctx.today, now=ctx.now
    ):
        cluster = result.cluster
        leaders = [r for r in result.standings.rows if r.rank == 1]
        names = ", ".join(r.unit.name for r in leaders) or "—"
        score = leaders[0].format_score(ctx.lang) if leaders else "—"
        lines += wrap(f"{cluster.name}:", LINE)
        lines += wrap(f"   🥇 {names} ({score})", LINE)
    lines += ["", ctx.t("standings.advisory")]
    ctx.reply("\n".join(lines))


async def _one_indicator(ctx: Ctx, indicator: str, period_text: str) -> None:
    period = await parse_standings_period(ctx, period_text)
    caller = await access.caller(ctx)
    found = await ranking.of_indicator(ctx.tx, caller, ctx.settings, indicator, period)
    cluster, measures, totals = found.cluster, found.measures, found.totals
    ind = ctx.settings.indicator(indicator)
    title = f"{ind.icon} {ind.label.get(ctx.lang)}" if ind else indicator
    lines = [*wrap(f"{title} — {cluster.name}", LINE), capitalized(period.name(ctx.t)), ""]
    for n, code in enumerate(found.units, start=1):
        lines += wrap(f"{n}. {_short(ctx, code)}", LINE)
        for m in measures:
            amount = _amount(m, totals.get((code, m.code), 0.0), ctx.lang)
            lines += _labelled(f"   {{label}}: {amount}", m.label.get(ctx.lang), m.short(ctx.lang))
    lines += ["", ctx.t("standings.advisory")]
    ctx.reply("\n".join(lines))


def _labelled(template: str, label: str, short: str, indent: str = "     ") -> list[str]:
    """A line with the full label when it fits, else the short one, wrapped between words."""
    text = template.format(label=label)
    if len(text) > LINE:
        text = template.format(label=short)
    return wrap(text, LINE, indent=indent)


def _amount(measure: MeasureDef, value: float, lang: str) -> str:
    if measure.unit == "vnd":
        return format_money(round(value), lang)
    return format_number(value, lang)


async def unit_cmd(ctx: Ctx) -> None:
    """/unit [code]: one unit's progress per measure against its targets this year."""
    caller = await access.caller(ctx)
    found = await ranking.of_unit(ctx.tx, caller, ctx.settings, ctx.inbound.args, ctx.today)
    code, period, totals, targets = found.unit, found.period, found.totals, found.targets
    progress = found.progress
    lines = [*wrap(f"📊 {_short(ctx, code)}", LINE), capitalized(period.name(ctx.t)), ""]
    for m in ctx.settings.measures:
        done = totals.get((code, m.code), 0.0)
        target = targets.get((code, m.code))
        label, short = m.label.get(ctx.lang), m.short(ctx.lang)
        if target:
            ratio = format_percent(done / target, ctx.lang)
            figures = f"{_amount(m, done, ctx.lang)}/{_amount(m, target, ctx.lang)}"
            lines += _labelled(f"• {{label}}: {figures}", label, short, indent="  ")
            if progress is None:
                pace = ctx.t("standings.on_track" if done >= target else "standings.behind")
            else:
                needed = math.ceil(target * progress - 1e-9)
                pace = (
                    ctx.t("standings.on_track")
                    if done + 1e-9 >= needed
                    else ctx.t("why.behind", expected=format_integer(needed, ctx.lang))
                )
            lines += wrap(f"   {ratio} · {pace}", LINE, indent="   ")
        elif done:
            lines += _labelled(f"• {{label}}: {_amount(m, done, ctx.lang)}", label, short, "  ")
    ctx.reply("\n".join(lines))


async def on_button(ctx: Ctx, why: WhyButton) -> None:
    """ "Vì sao?": the per-criterion breakdown of one unit's score."""
    cluster_code, period_key, unit_code = why.cluster, why.period, why.unit
    try:
        period = Period.from_key(period_key)
    except ValueError:
        raise UserInputError("err.stale_button") from None
    caller = await access.caller(ctx)
    final = await finalize.finalised(ctx.tx, caller, period, cluster_code)
    found = final.result.standings.of(unit_code) if final is not None else None
    row = found or await ranking.why(
        ctx.tx, caller, ctx.settings, cluster_code, period, unit_code, ctx.today, now=ctx.now
    )
    title = ctx.t("why.title", unit=row.unit.name, period=period)
    lines = [*wrap(title, LINE), *why_lines(ctx.t, explain(row, ctx.lang))]
    ctx.reply("\n".join([*lines, "", ctx.t("standings.advisory")]))


async def subscribe(ctx: Ctx) -> None:
    """/subscribe: the cluster's scheduled standings posts in private too (any messenger)."""
    cluster, added = await ranking.subscribe(ctx.tx, await access.caller(ctx), ctx.now)
    key = "standings.subscribed" if added else "standings.already_subscribed"
    ctx.reply(ctx.t(key, cluster=cluster.name))


async def unsubscribe(ctx: Ctx) -> None:
    """/unsubscribe: no more private posts (a linked group still gets them)."""
    removed = await ranking.unsubscribe(ctx.tx, await access.caller(ctx))
    ctx.reply(ctx.t("standings.unsubscribed" if removed else "standings.not_subscribed"))


async def linkgroup(ctx: Ctx) -> None:
    """/linkgroup in a cluster's group: scheduled standings go there.

    The cluster heads of this year link their own cluster's group; an admin may name one
    (`/linkgroup cum2`). A group already linked to another cluster is relinked only by
    someone the policy lets link that cluster too, so nobody takes over another's group.
    """
    inbound = ctx.inbound
    caller = await access.caller(ctx)
    cluster = await linking.link_group(
        ctx.tx, caller, inbound.channel, inbound.chat_id, inbound.args, ctx.now
    )
    ctx.reply(ctx.t("standings.linked", cluster=cluster.name))


async def export_cmd(ctx: Ctx) -> None:
    """/export [period]: the cluster's standings, reports and targets as an .xlsx.

    The data is read in this update's transaction; the file is made after the
    commit, in the worker process, and follows the caption (`send_after_commit`).
    """
    period = await parse_standings_period(ctx, ctx.inbound.args)
    caller = await access.caller(ctx)
    cluster = await ranking.asked_cluster(ctx.tx, caller, Access.EXPORT, period.year)
    data = await exports.gather(
        ctx.tx,
        caller,
        ctx.settings,
        ctx.translate,
        ctx.lang,
        cluster,
        period,
        ctx.now,
        hold_reports=True,
    )
    ctx.reply(ctx.t("standings.export_caption", cluster=cluster.name, period=period))
    ctx.send_after_commit(partial(export_reply, ctx.translate, data))
    for each in data.filed:  # a finalised period: the documents to file, too
        for kind in exports.FILED_KINDS:
            ctx.send_after_commit(partial(filed_reply, ctx.translate, data.lang, each, kind))


async def export_reply(translate: Translator, data: exports.ExportData) -> Reply:
    """The workbook as a document, made in the worker process; if it cannot be made, the
    person is told so rather than left waiting for a file that never comes."""
    try:
        xlsx = await workers.draw(exports.render, data, translate)
    except Exception:
        log.exception("the workbook %s could not be made", data.file_name)
        return Reply(translate(data.lang, "export.failed"))
    attachment = Attachment("document", data.file_name, base64.b64encode(xlsx).decode())
    return Reply("", attachment=attachment)


async def filed_reply(translate: Translator, lang: str, each: exports.Filed, kind: str) -> Reply:
    """One .docx to file (the summary table or the minutes), made in the worker process."""
    try:
        name, made = await workers.draw(exports.filed_document, each, kind, translate)
    except Exception:
        log.exception("the document %s-%s could not be made", each.stem, kind)
        return Reply(translate(lang, "export.failed"))
    return Reply("", attachment=Attachment("document", name, base64.b64encode(made).decode()))


async def target_cmd(ctx: Ctx) -> None:
    """/target <unit> <measure> <period> <value>: one target, by an admin."""
    words = ctx.inbound.args.split()
    if len(words) != 4:
        raise UserInputError("standings.target_usage")
    try:
        period = Period.from_key(words[2])
    except ValueError:
        raise UserInputError("err.bad_period", text=words[2][:20]) from None
    target = await targets.set_one(
        ctx.tx,
        await access.caller(ctx),
        ctx.settings,
        unit=words[0],
        measure=words[1],
        period=period,
        value=parse_number(words[3]),
        now=ctx.now,
    )
    unit, measure, value = target.unit, target.measure, target.value
    ctx.reply(
        ctx.t(
            "standings.target_set",
            unit=_short(ctx, unit),
            measure=measure,
            period=period,
            value=format_number(value, ctx.lang),
        )
    )


# ---- scheduled posts to linked groups -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ChartPost:
    """A chart still to draw for a post whose text is already queued."""

    channel: str
    chat_id: str
    lang: str
    result: ClusterStandings


class GroupPosts:
    """The scheduler's job: post standings (text and chart) to every linked cluster group,
    and privately to each member who asked for them (/subscribe): Zalo bots cannot join
    groups, so on Zalo that is the only way a post arrives.

    `fire` computes the standings and queues the texts in the firing's transaction;
    `after_commit` then draws the charts (cached per cluster and period until the
    figures change) with the database free, and queues them in a second short step,
    as a chat's /standings does. A crash between the two loses a chart, never a text.
    """

    def __init__(self, settings: HandlerSettings, translate: Translator) -> None:
        self.settings = settings
        self.translate = translate
        self._charts: tuple[dt.datetime, list[_ChartPost]] | None = None

    async def fire(
        self, tx: Tx, fire_at: dt.datetime, previous: dt.datetime | None
    ) -> list[OutboxItem]:
        self._charts = None
        if self.settings.scoring is None:
            return []
        today = fire_at.astimezone(self.settings.tz).date()
        period = Period(PeriodKind.YEAR, today.year, 1)
        items: list[OutboxItem] = []
        charts: list[_ChartPost] = []
        for audience in await ranking.post_audiences(tx, self.settings, today.year):
            final = await finalize.standing(tx, audience.cluster, period)
            if final is not None:  # finalised: the snapshot, as /standings shows it
                result, rates = final.result, final.snapshot.rates
            else:
                result = await compute(
                    tx, self.settings, audience.cluster, period, today, now=fire_at
                )
                rates = await reporting_rates(tx, self.settings, result, fire_at)
            texts: dict[str, Reply] = {}
            for channel, chat_id, lang in audience.chats:
                if lang not in texts:
                    t = partial(self.translate, lang)
                    note = _note(t, final.snapshot, self.settings.tz) if final else None
                    text = render(t, lang, result, rates, note)
                    texts[lang] = replace(text, keeps_choices=True)
                key = _post_key(channel, chat_id, fire_at, 0)
                item = await delivery.enqueue(tx, channel, chat_id, texts[lang], fire_at, key)
                items += [item] if item is not None else []
                if result.standings.rows:
                    charts.append(_ChartPost(channel, chat_id, lang, result))
        self._charts = (fire_at, charts)
        return items

    async def after_commit(
        self, fire_at: dt.datetime, transaction: Callable[[], AbstractAsyncContextManager[Tx]]
    ) -> list[OutboxItem]:
        """The charts of the firing that just committed: drawn now, queued in one short
        transaction; a post is not an answer, so typed numbers keep their meaning."""
        if self._charts is None or self._charts[0] != fire_at:
            return []
        charts = self._charts[1]
        self._charts = None
        made: list[tuple[_ChartPost, Reply]] = []
        for post in charts:
            chart = await chart_reply(self.translate, post.lang, post.result)
            made.append((post, replace(chart, keeps_choices=True)))
        items: list[OutboxItem] = []
        async with transaction() as tx:
            for post, reply in made:
                key = _post_key(post.channel, post.chat_id, fire_at, 1)
                item = await delivery.enqueue(tx, post.channel, post.chat_id, reply, fire_at, key)
                items += [item] if item is not None else []
        return items


def _post_key(channel: str, chat_id: str, fire_at: dt.datetime, part: int) -> str:
    """Each part of a post is queued once per chat and firing."""
    return f"post:{channel}:{chat_id}:{fire_at.isoformat()}:{part}"


# ---- routes -------------------------------------------------------------------------------


def _posts(settings: HandlerSettings, translate: Translator) -> Work:
    posts = GroupPosts(settings, translate)
    return Work(posts.fire, posts.after_commit)


FEATURE = Feature(
    name="standings",
    commands={
        "standings": Command(
            standings_cmd,
            Access.VIEW_CLUSTER_STANDINGS,
            private_only=False,
            menu=LEADERS,
            indicator=ChatAction.UPLOAD_PHOTO,
        ),
        "unit": Command(unit_cmd, Access.VIEW_UNIT, menu=CHAIRS, indicator=ChatAction.TYPING),
        "linkgroup": Command(linkgroup, Access.LINKGROUP, private_only=False),
        "export": Command(
            export_cmd,
            Access.EXPORT,
            private_only=False,
            menu=LEADERS,
            indicator=ChatAction.UPLOAD_DOCUMENT,
        ),
        "target": Command(target_cmd, Access.SET_TARGET, menu=ADMINS),
        # Subscribing to the cluster's posts is seeing its standings, in private.
        "subscribe": Command(subscribe, Access.VIEW_CLUSTER_STANDINGS, menu=REGISTERED),
        "unsubscribe": Command(unsubscribe, Access.VIEW_CLUSTER_STANDINGS),
    },
    callbacks=(CallbackRoute(WhyButton, Access.VIEW_CLUSTER_STANDINGS, on_button, in_groups=True),),
    help=(
        HelpEntry("help.follow_up", 20),
        HelpEntry("help.posts", 30),
        HelpEntry("help.admin", 50, Access.MANAGE_PEOPLE),
    ),
    jobs=(
        ScheduledJob(
            "standings-posts",
            cron=lambda settings: settings.standings_post_cron,
            make=_posts,
            grace=dt.timedelta(hours=6),
        ),
    ),
)
