"""The use cases behind the dashboard's targets, people and invites, and federation overview
pages (their access cells are in test_usecases_matrix.py): what they return."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest

from documents.targets_file import TargetsFileError
from domain.access import Action
from domain.errors import UserInputError
from domain.models import Role
from domain.periods import Period, PeriodKind
from domain.scoring import Target
from storage import org
from storage import people as people_repo
from storage import targets as targets_repo
from tests.harness import FakeClock, Harness, User
from usecases import access, dashboard, invites, overview, people, standings, targets
from usecases.access import OPERATOR, Caller

pytestmark = pytest.mark.both_backends


VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = dt.datetime(2026, 12, 16, 9, 0, tzinfo=VN)  # a Wednesday
YEAR = Period(PeriodKind.YEAR, 2026, 1)


@pytest.fixture
async def h(tmp_path, database) -> AsyncIterator[Harness]:
    harness = await Harness.create(tmp_path, FakeClock(NOW), database=database)
    yield harness
    await harness.close()


async def _caller(h: Harness, unit: str, role: Role, user_id: int) -> Caller:
    await h.person(user_id, unit, role)
    async with h.db.transaction() as tx:
        found = [p for p in await people_repo.listing(tx) if p.name == f"Người {user_id}"]
        return Caller(await access.actor_of(tx, found[0], 2026), 2026)


async def test_the_year_targets_of_the_led_cluster_and_of_everyone(h: Harness) -> None:
    async with h.db.transaction() as tx:
        await targets_repo.set_one(tx, Target("long_bien", "new_unions", "2026", 20), NOW)
        await targets_repo.set_one(tx, Target("long_bien", "new_unions", "2026-H1", 8), NOW)
        await targets_repo.set_one(tx, Target("tay_ho", "new_unions", "2026", 9), NOW)
        await targets_repo.set_one(tx, Target("tay_ho", "new_unions", "2025", 7), NOW)
    head = await _caller(h, "long_bien", Role.CLUSTER_HEAD, 1)  # head of cum1 in 2026
    async with h.db.transaction() as tx:
        mine = await targets.of_year(tx, head, h.dispatcher.settings, 2026)
        everyone = await targets.of_year(tx, OPERATOR, h.dispatcher.settings, 2026)
    assert mine.cluster is not None and mine.cluster.code == "cum1"
    assert "tay_ho" not in {u.code for u in mine.units} and not mine.editable
    assert mine.periods[0] == "2026" and "2026-H1" in mine.periods
    assert mine.values[("long_bien", "new_unions", "2026-H1")] == 8
    assert everyone.cluster is None and everyone.editable
    assert everyone.values[("tay_ho", "new_unions", "2026")] == 9
    assert ("tay_ho", "new_unions", "2025") not in everyone.values


async def test_a_file_is_read_as_the_command_line_reads_it_all_or_nothing(h: Harness) -> None:
    settings = h.dispatcher.settings
    bad = "unit,measure,period,value\nlong_bien,new_unions,2026,20\nnowhere,cba,2026,1\n"
    with pytest.raises(TargetsFileError) as refused:
        targets.read_file(OPERATOR, settings, bad.encode(), "t.csv", translate=h.catalog, lang="vi")
    assert refused.value.params["details"].startswith("Dòng 3: không có đơn vị “nowhere”")
    good = "unit,measure,period,value\nlong_bien,new_unions,2026,20\ntay_ho,cba,2026,1\n"
    rows = targets.read_file(
        OPERATOR, settings, good.encode(), "t.csv", translate=h.catalog, lang="en"
    )
    async with h.db.transaction() as tx:
        assert await targets.import_rows(tx, OPERATOR, rows, NOW) == 2
        assert len(await targets_repo.for_year(tx, 2026)) == 2


async def test_people_by_unit_and_role_of_the_led_cluster(h: Harness) -> None:
    head = await _caller(h, "long_bien", Role.CLUSTER_HEAD, 1)
    await h.person(2, "ba_dinh", Role.OFFICER)
    await h.person(3, "ba_dinh", Role.CHAIR)
    await h.person(4, "tay_ho", Role.OFFICER)
    async with h.db.transaction() as tx:
        gone = next(p for p in await people_repo.listing(tx) if p.name == "Người 2")
        await people.set_active(tx, OPERATOR, gone.id, False)
        page = await people.by_unit(tx, head, h.dispatcher.settings, 2026)
        everyone = await people.by_unit(tx, OPERATOR, h.dispatcher.settings, 2026)
    assert page.cluster is not None and not page.manage
    by_code = {u.unit.code: u for u in page.units}
    assert "tay_ho" not in by_code
    assert [(p.name, p.role, p.active) for p in by_code["ba_dinh"].people] == [
        ("Người 3", Role.CHAIR, True),
        ("Người 2", Role.OFFICER, False),
    ]
    assert by_code["long_bien"].cluster_role is not None
    assert everyone.manage and any(u.unit.code == "tay_ho" and u.people for u in everyone.units)


async def test_invites_one_per_unit_each_registers_its_unit(h: Harness) -> None:
    units = ["ba_dinh", "tay_ho", "ba_dinh"]
    async with h.db.transaction() as tx:
        made = await invites.create_invites(
            tx,
            OPERATOR,
            unit_codes=units,
            role=Role.CHAIR,
            uses=2,
            expires_in=dt.timedelta(days=7),
            now=NOW,
        )
    assert [i.invite.unit_code for i in made] == ["ba_dinh", "tay_ho"]
    assert len({i.code for i in made}) == 2
    assert all(i.invite.max_uses == 2 for i in made)
    for n, issued in enumerate(made, start=10):
        assert "Chào mừng" in (await h.user(n, f"P{n}").register(issued.shown))[0].text
    async with h.db.transaction() as tx:
        registered = {p.unit_code: p.role for p in await people_repo.listing(tx)}
    assert registered == {"ba_dinh": Role.CHAIR, "tay_ho": Role.CHAIR}
    for wrong in ([], ["nowhere"]):
        with pytest.raises(UserInputError):
            async with h.db.transaction() as tx:
                await invites.create_invites(
                    tx,
                    OPERATOR,
                    unit_codes=wrong,
                    role=Role.OFFICER,
                    uses=1,
                    expires_in=None,
                    now=NOW,
                )
    with pytest.raises(UserInputError) as too_many:
        async with h.db.transaction() as tx:
            await invites.create_invites(
                tx,
                OPERATOR,
                unit_codes=[f"u{n}" for n in range(invites.MAX_BULK + 1)],
                role=Role.OFFICER,
                uses=1,
                expires_in=None,
                now=NOW,
            )
    assert too_many.value.key == "web.invites.too_many"


async def _founded_today(user: User, unions: int) -> None:
    await user.send(f"thành lập {unions} công đoàn cơ sở hôm nay")
    await user.press("Lưu")


async def test_the_overview_agrees_with_standings_and_counts_this_week(h: Harness) -> None:
    officer = await h.person(1, "long_bien")
    other = await h.person(2, "tay_ho")
    async with h.db.transaction() as tx:
        for unit in ("long_bien", "ba_dinh", "tay_ho"):
            await targets_repo.set_one(tx, Target(unit, "new_unions", "2026", 10), NOW)
    h.clock.advance(days=-7)  # last week: counts for standings, not for this week
    await _founded_today(officer, 5)
    h.clock.advance(days=7)
    await _founded_today(officer, 3)
    await _founded_today(other, 2)
    async with h.db.transaction() as tx:
        seen = await overview.federation(tx, OPERATOR, h.dispatcher.settings, YEAR, NOW)
        cum1, rates = await standings.with_rates(tx, h.dispatcher.settings, "cum1", YEAR, NOW)
    assert seen.week_from == dt.date(2026, 12, 14)
    by_code = {c.cluster.code: c for c in seen.clusters}
    assert by_code["cum1"].this_week == 1 and by_code["cum2"].this_week == 1
    assert seen.this_week == 2
    assert by_code["cum1"].leader == cum1.standings.rows[0].unit
    assert by_code["cum1"].leader_score == cum1.standings.rows[0].score
    assert by_code["cum1"].leader is not None and by_code["cum1"].leader.code == "long_bien"
    assert by_code["cum2"].leader is not None and by_code["cum2"].leader.code == "tay_ho"
    assert by_code["cum1"].rate.met == sum(t.met for t in rates.values())
    assert by_code["cum1"].rate.expected == sum(t.expected for t in rates.values())


async def test_nobody_leads_a_cluster_where_no_unit_has_scored(h: Harness) -> None:
    async with h.db.transaction() as tx:
        seen = await overview.federation(tx, OPERATOR, h.dispatcher.settings, YEAR, NOW)
    assert seen.clusters and all(c.leader is None for c in seen.clusters)
    assert seen.this_week == 0


async def test_the_cluster_switch_offers_what_the_policy_allows_cluster_by_cluster(
    h: Harness,
) -> None:
    """dashboard.cluster_choices asks the policy once for every cluster not the person's
    own or led: the same choices as asking it of each cluster, for every role and page."""
    callers = [OPERATOR]
    for n, (unit, role) in enumerate(
        [
            ("long_bien", Role.CLUSTER_HEAD),  # head of cum1
            ("hoan_kiem", Role.CLUSTER_HEAD),  # deputy of cum1
            ("ba_dinh", Role.OFFICER),
            ("ba_dinh", Role.CHAIR),
            ("ba_dinh", Role.REVIEWER),
            ("tay_ho", Role.ADMIN),
        ],
        start=1,
    ):
        callers.append(await _caller(h, unit, role, n))
    in_group = Caller(callers[1].actor, 2026, in_group=True, group_cluster="cum2")
    actions = (
        Action.VIEW_CLUSTER_STANDINGS,
        Action.FINALIZE,
        Action.VIEW_TARGETS,
        Action.VIEW_PEOPLE,
        Action.EXPORT,
    )
    leaders_see = 0
    async with h.db.transaction() as tx:
        for caller in [*callers, in_group]:
            for action in actions:
                for year in (2025, 2026):
                    codes = [code for code, _ in await org.cluster_names(tx, year)]
                    assert codes
                    if not access.can_ever(caller, action):
                        continue
                    asked = await access.in_year(tx, caller, year)
                    expected = [
                        c
                        for c in codes
                        if access.allowed(asked, action, asked.target(cluster=c))
                        or access.allowed(asked, action, asked.target(federation=True))
                    ]
                    got = await dashboard.cluster_choices(tx, caller, action, year)
                    assert [c.code for c in got] == expected, (caller, action, year)
            # the reports table's units: the members of every cluster the policy allows
            for year in (2025, 2026):
                if not access.can_ever(caller, Action.VIEW_REPORTS):
                    continue
                asked = await access.in_year(tx, caller, year)
                if access.allowed(asked, Action.VIEW_REPORTS, asked.target(federation=True)):
                    expected_units = None
                else:
                    expected_units = sorted(
                        unit
                        for unit, (cluster, _) in (await org.memberships(tx, year)).items()
                        if access.allowed(asked, Action.VIEW_REPORTS, asked.target(cluster=cluster))
                    )
                    leaders_see += len(expected_units)
                units = await dashboard.report_units(tx, caller, year)
                assert units == expected_units, (caller, year)
    assert leaders_see > 0  # a head's and a deputy's cluster's units
