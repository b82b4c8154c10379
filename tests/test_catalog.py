"""The catalogs (vi, en) against the code: every key the code uses is there in both languages
with the same placeholders, and every key there is used by some code."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import pytest

from bot.app import make_router
from bot.cli import _ARGPARSE
from bot.i18n import LANGUAGES, Catalog, load_catalog, placeholders
from domain.access import ActorRole
from domain.errors import ChannelStartError
from domain.models import FieldType, ReportStatus, Role
from domain.reminders import NoticeReason
from domain.review import QUICK_REASONS
from domain.scoring import MissingTarget, Rating, TieBreak
from domain.snapshots import Finaliser
from handlers.finalize import REASONS as UNLOCK_REASONS
from tests.catalog_uses import Family, Uses, scan, scan_source

CATALOGS = {lang: load_catalog(lang) for lang in LANGUAGES}
VI = CATALOGS["vi"]
TABLES = {key.split(".", 1)[0] for key in VI}
USES = scan(TABLES)

#: Literals that look like keys but are file names.
NOT_KEYS = frozenset({"config.toml", "config.example.toml"})


def _commands() -> list[str]:
    everyone = frozenset(ActorRole)
    return [name for name, _ in make_router().menu_commands(everyone, "vi", Catalog())]


#: Each f-string key family in the code -> the names the code declares for its placeholder
#: (a tuple of names where the key has several placeholders).
DECLARED: dict[str, Callable[[], Sequence[str | tuple[str, ...]]]] = {
    "cmd.{}": _commands,
    "cli.reason_{}": lambda: list(ChannelStartError.REASONS),
    "cli.role_{}": lambda: [r.value for r in Role],
    "cli.demo.invite_{}": lambda: [r.value for r in Role],
    "cli.argparse.{}": lambda: list(_ARGPARSE.values()),
    "reminder.digest_{}": lambda: [r.value for r in NoticeReason if r.startswith("digest_")],
    "hint.{}": lambda: [f.value for f in FieldType],
    "workbook.report_status.{}": lambda: [s.value for s in ReportStatus],
    "period.month.m{}": lambda: [str(m) for m in range(1, 13)],
    "period.half{}": lambda: ["1", "2"],
    "period.short.half{}": lambda: ["1", "2"],
    "rating.{}": lambda: [r.value for r in Rating],
    "tie_break.{}": lambda: [t.value for t in TieBreak],
    "unlock.reason.{}": lambda: list(UNLOCK_REASONS),
    "finalize.{}": lambda: [f.value for f in Finaliser],
    "review.reason.{}": lambda: list(QUICK_REASONS),
    # no target / a target of 0, then: left out, or the criterion's missing_target rule
    "why.target_{}_{}": lambda: list(
        itertools.product(
            ("none", "zero"),
            ("excluded", *(m.value for m in MissingTarget if m.value != "exclude")),
        )
    ),
    # rendered for each domain rule; its keys are the ConfigRule("...") literals, uses each
    "config.rule.{}": lambda: [],
}


def _family_keys(family: Family) -> set[str]:
    if family.values:
        return family.keys()
    declared = DECLARED[family.pattern]()
    return {
        family.pattern.format(*(value if isinstance(value, tuple) else (value,)))
        for value in declared
    }


def _same_everywhere(key: str) -> str | None:
    """What is wrong with `key` in the catalogs, or None."""
    missing = [lang for lang, catalog in CATALOGS.items() if key not in catalog]
    if missing:
        return f"missing in {missing}"
    if len({frozenset(placeholders(c[key])) for c in CATALOGS.values()}) != 1:
        return "placeholders differ"
    return None


def test_the_scan_finds_the_keys_the_code_uses() -> None:
    """The scan is not vacuous: it finds each kind of use it claims to find."""
    assert USES.keys["err.not_registered"].startswith("handlers/")  # a plain literal
    assert "cli.cmd.restore" in USES.keys  # a relative key through a prefixing helper
    assert "cli.people.now_active" in USES.keys  # `key = a if c else b; say(key)`
    assert any(k.startswith("config.rule.") for k in USES.keys)  # ConfigRule("...")
    assert {f.pattern for f in USES.families} >= {"cmd.{}", "rating.{}", "why.target_{}_{}"}
    assert len(USES.keys) > 300


def test_the_scan_reads_each_shape_of_use() -> None:
    source = """
def say_twice(key):
    return say(key) + say(key)

def main(ok):
    "err.in_a_docstring is not a use"
    t("err.plain")
    say("relative")
    say_twice("twice")
    key = "people.yes" if ok else "people.no"
    say(key)
    for side in ("min", "max"):
        t(f"config.only_{side}")
    for name in names():
        t(f"cmd.{name}")
    t(f"not_a_table.{ok}")
"""
    uses = Uses()
    tables = {"err", "cli", "config", "cmd"}
    scan_source("bot/cli.py", source, tables, uses)
    assert set(uses.keys) == {
        "err.plain",
        "cli.relative",
        "cli.twice",
        "cli.people.yes",
        "cli.people.no",
    }
    assert {(f.pattern, f.values) for f in uses.families} == {
        ("config.only_{}", ("min", "max")),
        ("cmd.{}", ()),
    }
    assert uses.prefixers == ["bot/cli.py say_twice: cli."]


def test_every_key_the_code_uses_exists_in_both_languages_with_the_same_placeholders() -> None:
    problems = {
        f"{key} ({where})": problem
        for key, where in USES.keys.items()
        if key not in NOT_KEYS and (problem := _same_everywhere(key))
    }
    assert not problems


def test_every_key_family_is_declared_and_each_member_exists() -> None:
    problems: dict[str, str] = {}
    for family in USES.families:
        if not family.values and family.pattern not in DECLARED:
            problems[f"{family.pattern} ({family.where})"] = "add its names to DECLARED"
            continue
        for key in _family_keys(family):
            if problem := _same_everywhere(key):
                problems[f"{key} ({family.where})"] = problem
    assert not problems
    stale_declarations = DECLARED.keys() - {f.pattern for f in USES.families}
    assert not stale_declarations


def test_no_catalog_key_is_left_unused() -> None:
    """A key no code says is a message nobody gets: delete it (or use it)."""
    used = set(USES.keys)
    for family in USES.families:
        if family.values or family.pattern in DECLARED:
            used |= _family_keys(family)
    used |= {k for k in VI if k.startswith("typed.") and k.removeprefix("typed.") in used}
    unused = sorted(VI.keys() - used)
    assert not unused, (
        "keys no code uses: delete them, or, if code says them through a translator that adds"
        f" a prefix, list it in tests/catalog_uses.py RELATIVE: {unused}"
    )


# ---- the catalogs themselves (moved from test_small_units) --------------------------------


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    vi, en = load_catalog("vi"), load_catalog("en")
    assert vi.keys() == en.keys()
    for key in vi:
        assert placeholders(vi[key]) == placeholders(en[key]), key


def test_catalog_falls_back_to_vietnamese_and_never_raises() -> None:
    t = Catalog()
    assert t("fr", "btn.save") == "✅ Lưu"
    assert t("vi", "no.such.key") == "no.such.key"
    assert "{id}" in t("vi", "report.saved")  # a missing parameter leaves the template


@pytest.mark.parametrize(("lang", "word"), [("vi", "vững mạnh"), ("en", "strong")])
def test_a_rating_parameter_is_said_in_the_language(lang: str, word: str) -> None:
    said = Catalog()(lang, "why.total", score="90,0", rating=Rating.STRONG, rank=1)
    assert word in said and "strong" not in said.replace(word, "")
