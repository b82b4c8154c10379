"""The access matrix of the use cases themselves, without the chat: every use case called
directly by seven people (unregistered, officer, chair, an officer of another unit, the
head of this cluster, the head of another cluster, an admin), as from a private chat and
from a group linked to "this" cluster, and by the command line's operator.

The chat's matrix (test_access_matrix.py) goes through the router, whose first gate
refuses some cells before a use case runs; here each cell is the use case's own answer,
written out by hand below, not computed from the policy.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import load_config
from domain.access import Action
from domain.errors import AccessDenied, UserInputError
from domain.models import Cluster, Language, Role
from domain.obligations import Obligation
from domain.periods import Period, PeriodKind
from domain.review import Reviewers, ReviewRules
from domain.scoring import Target
from domain.suggest import unit_code
from storage import people as people_repo
from storage import targets as targets_repo
from storage.db import Tx
from tests.harness import EXAMPLE, FakeClock, Harness
from usecases import (
    access,
    dashboard,
    deadlines,
    evidence,
    exports,
    finalize,
    invites,
    linking,
    overview,
    people,
    reports,
    review,
    standings,
    targets,
    unlocks,
    websignin,
)
from usecases.access import OPERATOR, Caller

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=VN)

# In 2026 (config.example.toml): cum1 = hoan_kiem (deputy), ba_dinh, dong_da, long_bien
# (head), hai_ba_trung, hoang_mai; cum2 = thanh_xuan, tay_ho (head), ... ha_dong (deputy).
ACTORS: dict[str, tuple[str, Role] | None] = {
    "U": None,  # unregistered
    "O": ("ba_dinh", Role.OFFICER),
    "C": ("ba_dinh", Role.CHAIR),
    "X": ("dong_da", Role.OFFICER),  # officer of another unit (same cluster)
    "H": ("long_bien", Role.CLUSTER_HEAD),  # head of this cluster this year
    "Y": ("tay_ho", Role.CLUSTER_HEAD),  # head of another cluster this year
    "A": ("hai_ba_trung", Role.ADMIN),
}
ORDER = "UOCXHYA"


@dataclass
class World:
    h: Harness
    persons: dict[str, int]  # actor letter → person id
    report_of_o: int  # a report O wrote today (ba_dinh)

    async def caller(self, tx: Tx, who: str, in_group: bool) -> Caller:
        person = await people_repo.get(tx, self.persons[who]) if who in self.persons else None
        actor = await access.actor_of(tx, person, NOW.year)
        return Caller(actor, NOW.year, in_group, "cum1" if in_group else None)

    @property
    def settings(self) -> Any:
        return self.h.dispatcher.settings


Case = Callable[[World, Tx, Caller], Awaitable[object]]


async def _new_report(w: World, tx: Tx, c: Caller, unit: str | None) -> object:
    indicator = w.settings.indicator("gifts")
    values = {"count": 3, "occasion": "tet"}
    return await reports.create(
        tx,
        c,
        w.settings,
        unit=unit or (c.actor.unit or "ba_dinh"),
        indicator=indicator,
        values=values,
        photos=(),
        source_key=f"k-{c.actor.person_id}-{unit}-{c.in_group}",
        now=NOW,
    )


YEAR = Period(PeriodKind.YEAR, 2026, 1)
FEBRUARY = Period(PeriodKind.MONTH, 2026, 2)
CLOSED = Period(PeriodKind.HALF, 2025, 2)  # closed since 15/01/2026


async def _reopen(w: World, tx: Tx, c: Caller) -> object:
    """Reopen cum1's year, finalised first by the operator."""
    await finalize.finalize(
        tx, OPERATOR, w.settings, YEAR, NOW, confirmed=True, cluster_code="cum1"
    )
    return await finalize.reopen(tx, c, w.settings, YEAR, "số liệu sai", NOW, "cum1")


async def _decide(w: World, tx: Tx, c: Caller) -> object:
    """Grant the unlock O (ba_dinh, cum1) asked for."""
    asked = await unlocks.ask(
        tx, await w.caller(tx, "O", False), w.settings, CLOSED, "bổ sung", NOW
    )
    return await unlocks.decide(tx, c, w.settings, asked.request.id, True, NOW)


async def _decide_on_the_web(w: World, tx: Tx, c: Caller) -> object:
    """The same from the dashboard (the officer told through the outbox)."""
    asked = await unlocks.ask(
        tx, await w.caller(tx, "O", False), w.settings, CLOSED, "bổ sung", NOW
    )
    return await dashboard.decide_unlock(
        tx, c, w.settings, w.h.catalog, asked.request.id, True, NOW
    )


def _review(w: World, by: Reviewers) -> Any:
    return dataclasses.replace(w.settings, review=ReviewRules(by=by))


def _cluster(w: World, code: str) -> Cluster:
    found = next((c for c in w.h.config.clusters if c.code == code and c.year == 2026), None)
    assert found is not None
    return found


def _obligation(w: World, code: str) -> Obligation:
    found = w.settings.obligation(code)
    assert found is not None
    return found


# use case → (private, group) for UOCXHYA: + answered, - refused by the policy (AccessDenied),
# x refused for another reason (the request itself: e.g. /linkgroup outside a group).
CASES: dict[str, tuple[Case, str, str]] = {
    "report: own unit": (
        lambda w, tx, c: _async(reports.report_unit(c, w.settings)),
        "-++++++",
        "-------",
    ),
    "report: for another unit": (
        lambda w, tx, c: _async(reports.report_unit(c, w.settings, "tay_ho")),
        "------+",
        "-------",
    ),
    "report: create, own unit": (
        lambda w, tx, c: _new_report(w, tx, c, None),
        "-++++++",
        "-------",
    ),
    "report: create for ba_dinh": (
        lambda w, tx, c: _new_report(w, tx, c, "ba_dinh"),
        "-++---+",
        "-------",
    ),
    "report: check before saving, own unit": (
        lambda w, tx, c: reports.check(
            tx,
            c,
            w.settings,
            unit=c.actor.unit or "ba_dinh",
            indicator=w.settings.indicator("gifts"),
            values={"count": 3, "occasion": "tet"},
            now=NOW,
        ),
        "-++++++",
        "-------",
    ),
    "report: check an edit of O's report": (
        lambda w, tx, c: reports.check(
            tx,
            c,
            w.settings,
            unit="ba_dinh",
            indicator=w.settings.indicator("gifts"),
            values={"count": 4, "occasion": "tet"},
            now=NOW,
            report_id=w.report_of_o,
        ),
        "-+-----",
        "-------",
    ),
    "report: warnings of O's report": (
        lambda w, tx, c: reports.warnings(tx, c, w.report_of_o),
        "-++++-+",  # as /unit: its cluster's people, its cluster head, admins
        "-++++-+",
    ),
    "report: change O's report": (
        lambda w, tx, c: reports.changeable(tx, c, w.settings, w.report_of_o, NOW),
        "-+-----",
        "-------",
    ),
    "report: edit O's report": (
        lambda w, tx, c: reports.update(
            tx,
            c,
            w.settings,
            report_id=w.report_of_o,
            indicator=w.settings.indicator("gifts"),
            values={"count": 4, "occasion": "tet"},
            added_photos=(),
            now=NOW,
        ),
        "-+-----",
        "-------",
    ),
    "report: retract O's report": (
        lambda w, tx, c: reports.retract(tx, c, w.settings, w.report_of_o, NOW),
        "-+-----",
        "-------",
    ),
    "report: latest of my unit": (
        lambda w, tx, c: reports.latest(tx, c, w.settings, NOW),
        "-++++++",
        "-------",
    ),
    "evidence: O's report photos": (
        lambda w, tx, c: evidence.report_photos(tx, c, w.report_of_o),
        "-++-+-+",
        "-++-+-+",
    ),
    "standings: my cluster": (
        lambda w, tx, c: standings.of_cluster(tx, c, w.settings, YEAR, NOW),
        "-++++++",
        "+++++++",
    ),
    "standings: one indicator": (
        lambda w, tx, c: standings.of_indicator(tx, c, w.settings, "gifts", YEAR),
        "-++++++",
        "+++++++",
    ),
    "standings: every cluster": (
        lambda w, tx, c: standings.every_cluster(tx, c, w.settings, YEAR, NOW.date()),
        "------+",
        "-------",
    ),
    "unit: own": (
        lambda w, tx, c: standings.of_unit(tx, c, w.settings, "", NOW.date()),
        "-++++++",
        "-++++-+",
    ),
    "unit: tay_ho (other cluster)": (
        lambda w, tx, c: standings.of_unit(tx, c, w.settings, "tay_ho", NOW.date()),
        "-----++",
        "-------",
    ),
    "why? of this cluster": (
        lambda w, tx, c: standings.why(tx, c, w.settings, "cum1", YEAR, "ba_dinh", NOW.date()),
        "-++++-+",
        "+++++++",
    ),
    "why? of another cluster": (
        lambda w, tx, c: standings.why(tx, c, w.settings, "cum2", YEAR, "tay_ho", NOW.date()),
        "-----++",
        "-------",
    ),
    "subscribe": (lambda w, tx, c: standings.subscribe(tx, c, NOW), "-++++++", "-++++-+"),
    "unsubscribe": (lambda w, tx, c: standings.unsubscribe(tx, c), "-++++++", "-++++++"),
    "linkgroup": (
        lambda w, tx, c: linking.link_group(tx, c, "test", "-100111", "", NOW),
        "----xxx",
        "----+-+",
    ),
    "link code": (lambda w, tx, c: linking.new_link_code(tx, c, NOW), "-++++++", "-++++++"),
    # The dashboard (web/): its sign-in link, and a cluster named in the URL.
    "web sign-in link": (lambda w, tx, c: websignin.new_link(tx, c, NOW), "----+++", "----+++"),
    "web: standings of cum1": (
        lambda w, tx, c: dashboard.cluster_standings(tx, c, w.settings, "cum1", YEAR, NOW),
        "-++++-+",
        "+++++++",
    ),
    "web: standings of cum2": (
        lambda w, tx, c: dashboard.cluster_standings(tx, c, w.settings, "cum2", YEAR, NOW),
        "-----++",
        "-------",
    ),
    "web: clusters to pick": (
        lambda w, tx, c: dashboard.visible_clusters(tx, c, Action.EXPORT, 2026),
        "----+++",
        "----+++",
    ),
    "web: cluster switch (codes and names)": (
        lambda w, tx, c: dashboard.cluster_choices(tx, c, Action.EXPORT, 2026),
        "----+++",
        "----+++",
    ),
    "web: report units": (
        lambda w, tx, c: dashboard.report_units(tx, c, 2026),
        "----+++",
        "----+++",
    ),
    "web: reports of ba_dinh": (
        lambda w, tx, c: dashboard.reports_page(tx, c, dashboard.ReportQuery(YEAR, unit="ba_dinh")),
        "----+-+",
        "----+-+",
    ),
    "web: O's report": (
        lambda w, tx, c: dashboard.report_detail(tx, c, w.report_of_o),
        "----+-+",
        "----+-+",
    ),
    "web: completeness grid": (
        lambda w, tx, c: dashboard.completeness_grid(
            tx, c, w.settings, _obligation(w, "monthly"), 2026, NOW
        ),
        "----+++",
        "----+-+",
    ),
    "web: remind ba_dinh now": (
        lambda w, tx, c: dashboard.remind_now(
            tx, c, w.settings, w.h.catalog, _obligation(w, "monthly"), FEBRUARY, "ba_dinh", NOW
        ),
        "----+-+",
        "----+-+",
    ),
    # nobody reviews in the example configuration: the review use cases say so to all
    "web: accept O's report": (
        lambda w, tx, c: dashboard.decide_review(
            tx, c, w.settings, w.h.catalog, w.report_of_o, 1, None, NOW
        ),
        "xxxxxxx",
        "xxxxxxx",
    ),
    "web: workbook of cum2": (
        lambda w, tx, c: dashboard.export_cluster(tx, c, "cum2", 2026),
        "-----++",
        "-------",
    ),
    "missing": (
        lambda w, tx, c: deadlines.missing(tx, c, w.settings, None, NOW),
        "----+++",
        "----+-+",
    ),
    "completeness": (
        lambda w, tx, c: deadlines.completeness(tx, c, w.settings, YEAR, NOW),
        "----+++",
        "----+-+",
    ),
    "deadlines": (
        lambda w, tx, c: deadlines.my_deadlines(tx, c, w.settings, NOW.date()),
        "-++++++",
        "-++++++",
    ),
    "reminder: nothing to report": (
        lambda w, tx, c: deadlines.declare_nothing(tx, c, _obligation(w, "monthly"), FEBRUARY, NOW),
        "-++++++",
        "-------",
    ),
    "reminder: later": (
        lambda w, tx, c: deadlines.snooze(tx, c, _obligation(w, "monthly"), FEBRUARY, NOW),
        "-++++++",
        "-------",
    ),
    "reminder: my unit's standing": (
        lambda w, tx, c: deadlines.my_standing(
            tx, c, w.settings, _obligation(w, "monthly"), FEBRUARY
        ),
        "-++++++",
        "-------",
    ),
    "channel: telegram (not linked)": (
        lambda w, tx, c: linking.set_channel(tx, c, "telegram"),
        "-xxxxxx",
        "-xxxxxx",
    ),
    "lang": (
        lambda w, tx, c: people.set_language(tx, c, "test", "1", Language.EN),
        "+++++++",
        "+++++++",
    ),
    "mute": (lambda w, tx, c: people.set_muted(tx, c, True), "-++++++", "-++++++"),
    "target: set one": (
        lambda w, tx, c: targets.set_one(
            tx,
            c,
            w.settings,
            unit="long_bien",
            measure="new_unions",
            period=YEAR,
            value=25,
            now=NOW,
        ),
        "------+",
        "-------",
    ),
    "targets: import a file": (
        lambda w, tx, c: targets.import_rows(
            tx, c, [Target("long_bien", "new_unions", "2026", 25)], NOW
        ),
        "------+",
        "-------",
    ),
    "targets: every target": (
        lambda w, tx, c: targets.every_target(tx, c),
        "------+",
        "-------",
    ),
    "export: this cluster": (
        lambda w, tx, c: exports.gather(
            tx,
            c,
            w.settings,
            w.h.catalog,
            "vi",
            _cluster(w, "cum1"),
            YEAR,
            NOW,
            hold_reports=True,
        ),
        "----+-+",
        "----+-+",
    ),
    "export: the federation": (
        lambda w, tx, c: exports.gather(
            tx, c, w.settings, w.h.catalog, "vi", None, YEAR, NOW, hold_reports=True
        ),
        "------+",
        "-------",
    ),
    "targets: read a file": (
        lambda w, tx, c: _async(
            targets.read_file(
                c,
                w.settings,
                b"unit,measure,period,value\nlong_bien,new_unions,2026,25\n",
                "t.csv",
                translate=w.h.catalog,
                lang="vi",
            )
        ),
        "------+",
        "-------",
    ),
    "targets: the year's, of the led cluster": (
        lambda w, tx, c: targets.of_year(tx, c, w.settings, 2026),
        "----+++",
        "----+--",
    ),
    "targets: the year's, of cum2": (
        lambda w, tx, c: targets.of_year(tx, c, w.settings, 2026, "cum2"),
        "-----++",
        "-------",
    ),
    "finalize: preview cum1": (
        lambda w, tx, c: finalize.preview(tx, c, w.settings, YEAR, NOW, "cum1"),
        "----+-+",
        "----+-+",
    ),
    "finalize: cum1, confirmed": (
        lambda w, tx, c: finalize.finalize(
            tx, c, w.settings, YEAR, NOW, confirmed=True, cluster_code="cum1"
        ),
        "----+-+",
        "----+-+",
    ),
    "finalize: the snapshot of cum1": (
        lambda w, tx, c: finalize.finalised(tx, c, YEAR, "cum1"),
        "-++++-+",
        "+++++++",
    ),
    "finalize: reopen cum1": (_reopen, "------+", "------+"),
    "finalize: the trail of cum1": (
        lambda w, tx, c: finalize.trail(tx, c, YEAR, "cum1"),
        "----+-+",
        "----+-+",
    ),
    "unlock: ask for my unit": (
        lambda w, tx, c: unlocks.ask(tx, c, w.settings, CLOSED, "bổ sung báo cáo", NOW),
        "-++++++",
        "-------",
    ),
    "unlock: may I ask?": (
        lambda w, tx, c: unlocks.check_may_ask(tx, c, w.settings, CLOSED, NOW),
        "-++++++",
        "-------",
    ),
    "unlock: decide O's request": (_decide, "----+-+", "----+-+"),
    "web: the reports due of ba_dinh": (
        lambda w, tx, c: deadlines.unit_deadlines(tx, c, w.settings, "ba_dinh", NOW.date()),
        "-++++-+",
        "-++++-+",
    ),
    "unlock: the requests waiting for me": (
        lambda w, tx, c: unlocks.waiting(tx, c, w.settings),
        "----+++",
        "----+++",
    ),
    "web: decide O's unlock request": (_decide_on_the_web, "----+-+", "----+-+"),
    "people: list": (lambda w, tx, c: people.listing(tx, c), "------+", "-------"),
    "people: by unit, of the led cluster": (
        lambda w, tx, c: people.by_unit(tx, c, w.settings, 2026),
        "----+++",
        "----+--",
    ),
    "people: by unit, of cum2": (
        lambda w, tx, c: people.by_unit(tx, c, w.settings, 2026, "cum2"),
        "-----++",
        "-------",
    ),
    "invites: one per unit of cum1": (
        lambda w, tx, c: invites.create_invites(
            tx,
            c,
            unit_codes=[m.unit for m in _cluster(w, "cum1").members],
            role=Role.OFFICER,
            uses=1,
            expires_in=dt.timedelta(days=7),
            now=NOW,
        ),
        "------+",
        "-------",
    ),
    "overview: the federation": (
        lambda w, tx, c: overview.federation(tx, c, w.settings, YEAR, NOW),
        "------+",
        "-------",
    ),
    "review: queue, by the cluster": (
        lambda w, tx, c: review.next_card(tx, c, _review(w, Reviewers.CLUSTER)),
        "----++-",
        "----+--",
    ),
    "review: summary, by reviewers": (
        lambda w, tx, c: review.summary(tx, c, _review(w, Reviewers.REVIEWER)),
        "------+",
        "-------",
    ),
    "review: queue, nobody reviews": (
        lambda w, tx, c: review.next_card(tx, c, w.settings),
        "xxxxxxx",
        "xxxxxxx",
    ),
    "review: accept O's report, by the cluster": (
        lambda w, tx, c: review.accept(tx, c, _review(w, Reviewers.CLUSTER), w.report_of_o, 1, NOW),
        "----+--",
        "----+--",
    ),
    "review: return O's report, by reviewers": (
        lambda w, tx, c: review.give_back(
            tx, c, _review(w, Reviewers.REVIEWER), w.report_of_o, 1, "Thiếu ảnh", NOW
        ),
        "------+",
        "------+",
    ),
    "review: accept all of ba_dinh, by the cluster": (
        lambda w, tx, c: review.accept_unit(
            tx, c, _review(w, Reviewers.CLUSTER), "ba_dinh", NOW, NOW
        ),
        "----+--",
        "----+--",
    ),
    "review: snooze the reviewer's reminder, by the cluster": (
        lambda w, tx, c: review.snooze(tx, c, _review(w, Reviewers.CLUSTER), NOW),
        "----++-",
        "----+--",
    ),
    "review: the trail of O's report": (
        lambda w, tx, c: review.trail(tx, c, w.report_of_o),
        "-++---+",
        "-------",
    ),
    "people: reactivate O": (
        lambda w, tx, c: people.set_active(tx, c, w.persons["O"], True),
        "------+",
        "-------",
    ),
    "invite: create": (
        lambda w, tx, c: invites.create_invite(
            tx, c, unit_code="ba_dinh", role=Role.OFFICER, uses=1, expires_in=None, now=NOW
        ),
        "------+",
        "-------",
    ),
}


async def _async(value: object) -> object:
    return value


@pytest.fixture
async def world(tmp_path) -> AsyncIterator[World]:
    h = await Harness.create(tmp_path, FakeClock(NOW))
    persons: dict[str, int] = {}
    for n, (name, who) in enumerate(ACTORS.items(), start=1):
        if who is None:
            continue
        user = h.user(n, f"Người {name}")
        await user.register(await h.invite(*who))
    async with h.db.transaction() as tx:
        for p in await people_repo.listing(tx):
            persons[p.name.removeprefix("Người ")] = p.id
        await targets_repo.link_group(tx, "test", "-100111", "cum1", persons["H"], NOW)
    w = World(h, persons, 0)
    async with h.db.transaction() as tx:
        made = await _new_report(w, tx, await w.caller(tx, "O", False), None)
    w.report_of_o = made.id  # type: ignore[attr-defined]
    yield w
    await h.close()


class _Rollback(Exception):
    """Each cell runs in a transaction that is undone, so cells do not see each other."""


async def _cell(w: World, case: Case, who: str, in_group: bool) -> str:
    result = "?"
    try:
        async with w.h.db.transaction() as tx:
            try:
                await case(w, tx, await w.caller(tx, who, in_group))
                result = "+"
            except AccessDenied:
                result = "-"
            except UserInputError:
                result = "x"
            raise _Rollback
    except _Rollback:
        pass
    return result


async def test_every_use_case_by_every_role_and_scope(world: World) -> None:
    got: dict[str, tuple[str, str]] = {}
    for name, (case, _private, _group) in CASES.items():
        row = []
        for in_group in (False, True):
            row.append("".join([await _cell(world, case, who, in_group) for who in ORDER]))
        got[name] = (row[0], row[1])
    expected = {name: (private, group) for name, (_case, private, group) in CASES.items()}
    assert got == expected


async def test_the_operator_may_do_everything(world: World) -> None:
    """`thidua` on the server is an admin to the policy (scope: any)."""
    operator = access.OPERATOR
    assert reports.report_unit(operator, world.settings, "tay_ho") == "tay_ho"


def test_one_unit_resolution_for_every_command() -> None:
    """By code or name with or without diacritics; a typo gets the closest names."""
    units = {u.code: u for u in load_config(EXAMPLE).units}
    assert unit_code(units, "tay_ho") == "tay_ho"
    assert unit_code(units, "LĐLĐ quận Tây Hồ") == "tay_ho"
    assert unit_code(units, "ldld quan tay ho") == "tay_ho"
    with pytest.raises(UserInputError) as refused:
        unit_code(units, "tay hoo")
    assert refused.value.key == "err.unknown_unit"
    assert "LĐLĐ quận Tây Hồ (tay_ho)" in refused.value.params["suggestions"]
    with pytest.raises(UserInputError) as nothing_like:
        unit_code(units, "zzzzzz")
    assert nothing_like.value.params["suggestions"] == "—"


# Checks the use cases above make through these; each has its rows through them.
HELPERS = {
    "asked_cluster",  # standings: my cluster, one indicator
    "cluster_scope",  # missing, completeness
    "check_may_change",  # report: change, edit, retract O's report
    "may_report_for_others",  # report: for another unit (what the /report form offers)
    "find",  # a report shown again: only the caller's unit's
}


def test_every_use_case_that_takes_a_caller_has_a_row() -> None:
    """A new use case gets its row in the table above (a function taking a Caller)."""
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__]).split("def test_", 1)[0]
    modules = (
        dashboard,
        deadlines,
        exports,
        invites,
        linking,
        overview,
        finalize,
        people,
        reports,
        review,
        standings,
        targets,
        websignin,
        unlocks,
    )
    untested = [
        f"{module.__name__}.{name}"
        for module in modules
        for name, fn in inspect.getmembers(module, inspect.isfunction)
        if fn.__module__ == module.__name__
        and not name.startswith("_")
        and "caller" in inspect.signature(fn).parameters
        and f"{module.__name__.split('.')[-1]}.{name}(" not in source
        and name not in HELPERS
    ]
    assert untested == []
