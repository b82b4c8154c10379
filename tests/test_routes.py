"""Feature modules declare their routes; the core assembles them (issue 9, properties 4, 6).

Adding a command touches its feature module and the catalog only: the router
imports no feature, every declared command in someone's menu is described in
both languages, and two features can never claim the same name or prefix.
"""

from __future__ import annotations

import ast
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from apscheduler.triggers.cron import CronTrigger

import handlers
from bot.app import FEATURES, make_router
from bot.i18n import Catalog, load_catalog, placeholders
from domain.access import Action as Can
from domain.access import ActorRole
from handlers.reminders import ReminderAction, ReminderButton
from handlers.report import Action as FormAction
from handlers.report import ReportButton
from handlers.standings import WhyButton, WhyKind
from runtime.callbacks import MAX_BYTES, CallbackData, FlowCallback
from runtime.context import HandlerSettings
from runtime.router import RouteConflict
from runtime.routes import ANYONE, CallbackRoute, Command, Feature
from tests.harness import Harness

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_the_runtime_core_imports_no_feature() -> None:
    for path in sorted((ROOT / "runtime").glob("*.py")):
        features = {name for name in _imports(path) if name.split(".")[0] == "handlers"}
        assert not features, f"{path.name} imports {features}"


def test_every_feature_module_is_assembled_once() -> None:
    """Each handlers/*.py that declares a FEATURE is in the app's list, once."""
    declared = []
    for path in sorted(Path(handlers.__file__).parent.glob("*.py")):
        if "FEATURE = Feature(" in path.read_text():
            declared.append(path.stem)
    assert sorted(f.name for f in FEATURES) == sorted(
        {
            "onboarding",
            "report",
            "myreports",
            "reminders",
            "standings",
            "people",
            "dashboard",
            "finalize",
            "review",
        }
    )
    assert len(declared) == len(FEATURES)


def test_declared_commands_are_described_in_both_languages() -> None:
    router = make_router()
    vi, en = load_catalog("vi"), load_catalog("en")
    for name, command in router.commands.items():
        assert name == name.lower() and name.isascii() and 1 <= len(name) <= 32, name
        if command.menu:  # listed in the messenger's command menu
            assert f"cmd.{name}" in vi and f"cmd.{name}" in en, name
    for entry in router.help:
        assert entry.key in vi and entry.key in en, entry.key
        assert placeholders(vi[entry.key]) == placeholders(en[entry.key]) == set(), entry.key
    for key in router.words:
        assert key in vi and key in en, key
    for route in router.callbacks.values():
        assert route.refusal in vi and route.refusal in en, route.refusal
    for flow in router.flows.values():
        if flow.abandoned:
            assert flow.abandoned in vi and flow.abandoned in en


def test_two_features_cannot_claim_the_same_name_or_prefix() -> None:
    router = make_router()
    prefixes = [route.data.prefix for f in FEATURES for route in f.callbacks]
    assert len(prefixes) == len(set(prefixes)) == len(router.callbacks)
    names = [name for f in FEATURES for name in f.commands]
    assert len(names) == len(set(names)) == len(router.commands)

    async def nothing(ctx: object) -> None:
        return None

    again = Feature("again", commands={"report": Command(nothing, Can.REPORT)})
    with pytest.raises(RouteConflict, match="report"):
        make_router((*FEATURES, again))

    @dataclass(frozen=True)
    class Imposter(FlowCallback):  # another feature's buttons under the report's prefix
        prefix: ClassVar[str] = ReportButton.prefix

    clash = Feature("clash", callbacks=(CallbackRoute(Imposter, Can.HELP, nothing),))
    with pytest.raises(RouteConflict, match="rp"):
        make_router((*FEATURES, clash))
    words = Feature("words", words={"menu.help": "nowhere"})
    with pytest.raises(RouteConflict):
        make_router((*FEATURES, words))


async def test_a_new_feature_is_one_module_and_the_catalog(h: Harness) -> None:
    """A feature the core has never heard of: its command runs, is gated by the policy, is
    in the menu of the people it names, and its button is dispatched on its prefix."""

    @dataclass(frozen=True)
    class Ping(CallbackData):
        prefix: ClassVar[str] = "pg"
        times: int

    async def ping(ctx) -> None:  # type: ignore[no-untyped-def]
        ctx.reply("pong", ((Ping(3).button("again"),),))

    async def pressed(ctx, data: Ping) -> None:  # type: ignore[no-untyped-def]
        ctx.reply(f"pong ×{data.times}")

    demo = Feature(
        "demo",
        commands={"ping": Command(ping, Can.HELP, menu=ANYONE)},
        callbacks=(CallbackRoute(Ping, Can.HELP, pressed),),
    )
    router = make_router((*FEATURES, demo))
    h.dispatcher.router = router
    menu = router.menu_commands(frozenset({ActorRole.OFFICER}), "vi", Catalog())
    assert "ping" in dict(menu)
    user = h.user(9001)
    await user.send(f"/start {await h.invite()}")
    answer = await user.send("/ping")
    assert answer[0].text == "pong" and answer[0].buttons[0].data == "pg:3"
    assert (await user.press("again"))[0].text == "pong ×3"
    assert "Nút này đã cũ" in (await user.press_data("pg:x"))[0].text  # not an int


def test_button_data_round_trips_and_refuses_what_we_did_not_make() -> None:
    why = WhyButton(WhyKind.WHY, "cum1", "2026", "ba_dinh")
    assert why.pack() == "st:w:cum1:2026:ba_dinh"  # the wire form of posts already sent
    assert WhyButton.unpack(why.pack()) == why
    assert WhyButton.unpack("st:w:cum1:2026") is None  # a field short
    assert WhyButton.unpack("st:x:cum1:2026:ba_dinh") is None  # no such kind
    assert WhyButton.unpack("rm:w:cum1:2026:ba_dinh") is None  # another class's prefix
    reminder = ReminderButton(ReminderAction.NOTHING, "monthly", "2026-02")
    assert reminder.pack() == "rm:n:monthly:2026-02"
    sealed = reminder.pack(seal=lambda raw: raw + ":tag")
    assert ReminderButton.unpack(sealed, unseal=lambda raw: raw.removesuffix(":tag")) == reminder
    assert ReminderButton.unpack(sealed, unseal=lambda raw: None) is None
    form = ReportButton("abcdefgh", FormAction.SAVE)
    assert form.pack() == "rp:abcdefgh:ok" and isinstance(form, FlowCallback)
    assert ReportButton.unpack("rp:abcdefgh:ok") == form
    with pytest.raises(ValueError, match="inside a field"):
        WhyButton(WhyKind.WHY, "cum:1", "2026", "x").pack()
    with pytest.raises(ValueError, match=str(MAX_BYTES)):  # sealing counts too
        reminder.pack(seal=lambda raw: raw + "x" * MAX_BYTES)
    assert ReminderButton.unpack("rm:n:monthly:" + "9" * MAX_BYTES) is None


def test_every_declared_job_has_a_valid_schedule() -> None:
    settings = HandlerSettings(indicators=(), units={})
    router = make_router()
    assert {j.id for j in router.jobs} == {
        "reminders",
        "standings-posts",
        "review_reminders",
        "web_purge",
    }
    for job in router.jobs:
        trigger = CronTrigger.from_crontab(job.cron(settings), timezone=settings.tz)
        first = trigger.get_next_fire_time(None, dt.datetime(2026, 3, 2, tzinfo=settings.tz))
        assert first is not None, job.id
    work = {job.id: job.make(settings, Catalog()) for job in router.jobs}
    assert work["standings-posts"].after_commit is not None  # the charts, after the commit
    assert work["reminders"].after_commit is None


async def test_the_app_schedules_every_declared_job(tmp_path: Path) -> None:
    from bot.app import App
    from bot.config import Secrets, load_config
    from tests.harness import EXAMPLE, FakeClock

    app = App(load_config(EXAMPLE), Secrets(), clock=FakeClock(), database=str(tmp_path / "a.db"))
    jobs = {job.id: job for job in app.scheduler.jobs}
    assert set(jobs) == {j.id for j in app.router.jobs}
    assert jobs["standings-posts"].after_commit is not None
    assert jobs["reminders"].grace == dt.timedelta(hours=12)
