"""Configuration loading: the sample federation loads, and every mistake is named by path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import (
    AppConfig,
    Secrets,
    check_config,
    format_problems,
    load_config,
)
from domain.errors import ConfigError
from domain.models import ClusterRole, FieldType, Language

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"

MINIMAL = """
[federation]
name = "Liên đoàn Lao động Thành phố Hà Nội"
code = "hanoi"

[[units]]
code = "hoan_kiem"
name = "LĐLĐ quận Hoàn Kiếm"

[[units]]
code = "ba_dinh"
name = "LĐLĐ quận Ba Đình"

[[units]]
code = "dong_da"
name = "LĐLĐ quận Đống Đa"

[[clusters]]
code = "cum1"
year = 2025
name = "Cụm thi đua số 1"
members = [
  { unit = "hoan_kiem" },
  { unit = "ba_dinh", role = "deputy" },
  { unit = "dong_da", role = "head" },
]

[[indicators]]
code = "gifts"
label = { vi = "Tặng quà", en = "Gifts" }
measures = { vi = "Số suất quà", en = "Gifts delivered" }
keywords = ["tang qua"]

[[indicators.fields]]
code = "count"
type = "integer"
label = { vi = "Số suất quà", en = "Number of gifts" }
min = 1
max = 1000000
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return info.value.problems


# --------------------------------------------------------------------------- the sample


def test_example_loads_with_expected_summary() -> None:
    problems, summary = check_config(EXAMPLE)
    assert problems == []
    assert summary == (
        "OK: 6 clusters (2019, 2024, 2025, 2026), 12 units, 8 indicators, 30 fields, "
        "8 measures, 6 criteria, 2 obligations, 72 targets"
    )


def test_example_content_matches_the_reported_facts() -> None:
    config = load_config(EXAMPLE)
    assert config.federation.name == "Liên đoàn Lao động Thành phố Hà Nội"
    assert config.federation.code == "hanoi"
    assert config.federation.default_language is Language.VI
    assert str(config.federation.tz) == "Asia/Ho_Chi_Minh"

    def head(code: str, year: int) -> str:
        (cluster,) = [c for c in config.clusters_of_year(year) if c.code == code]
        return next(m.unit for m in cluster.members if m.role is ClusterRole.HEAD)

    assert head("cum1", 2025) == "dong_da"
    assert head("cum2", 2019) == "bac_tu_liem"
    assert head("cum2", 2024) == "nam_tu_liem"
    cum2_2019 = config.cluster_of("thanh_xuan", 2019)
    assert cum2_2019 is not None
    assert {m.unit for m in cum2_2019.members if m.role is ClusterRole.DEPUTY} == {"thanh_xuan"}
    # The demo works this year: both clusters have members in 2026.
    assert [c.code for c in config.clusters_of_year(2026)] == ["cum1", "cum2"]
    assert config.cluster_of("hoan_kiem", 2019) is None

    hoan_kiem = config.unit("hoan_kiem")
    assert hoan_kiem is not None and hoan_kiem.name == "LĐLĐ quận Hoàn Kiếm"
    assert config.unit("nowhere") is None

    gifts = config.indicator("gifts")
    assert gifts is not None and gifts.icon == "🎁"
    # never "qua" alone: folded, it is also "hôm qua" (yesterday)
    assert gifts.keywords == ("tang qua", "trao qua", "suat qua", "phan qua")
    occasion = gifts.field("occasion")
    assert occasion is not None and occasion.type is FieldType.CHOICE
    women_day = occasion.choice("women_day")
    assert women_day is not None and "8/3" in women_day.aliases
    assert [f.code for f in gifts.fields] == [
        "count", "value_per_gift", "recipients", "occasion", "date", "photo",
    ]  # fmt: skip
    for indicator in config.indicators:
        assert indicator.label.en and indicator.measures.en and indicator.icon
        for fdef in indicator.fields:
            assert fdef.label.en, f"{indicator.code}.{fdef.code} has no English label"


def test_example_has_no_secrets() -> None:
    text = EXAMPLE.read_text(encoding="utf-8").lower()
    assert "token =" not in text and "secret" not in text.replace("no secrets", "")


def test_relative_database_resolves_against_the_config_folder(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL + '\n[bot]\ndatabase = "data/x.sqlite3"\n'))
    assert Path(config.bot.database) == (tmp_path / "data" / "x.sqlite3").resolve()
    default = load_config(write(tmp_path, MINIMAL))
    assert Path(default.bot.database) == (tmp_path / "thidua.sqlite3").resolve()


def test_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.federation.timezone == "Asia/Ho_Chi_Minh"
    assert config.bot.conversation_timeout_minutes == 30
    assert config.bot.max_message_chars == 4096
    assert config.telegram.enabled is True
    assert config.telegram.api_base_url == "https://api.telegram.org/bot"
    assert config.telegram.deep_link("ABC") is None
    assert config.reporting.period == "half"
    assert config.reporting.open_days_after_period == 15
    assert config.reporting.edit_window_hours == 24
    assert (config.reporting.start_attempts, config.reporting.start_lockout_minutes) == (5, 15)
    assert config.reporting.myreports_limit == 10


def test_deep_link(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL + '\n[telegram]\nbot_username = "@thidua_bot"\n'))
    assert config.telegram.deep_link("K7Q2") == "https://t.me/thidua_bot?start=K7Q2"


# --------------------------------------------------------------------------- problems by path


def test_max_below_min_is_reported_on_max(tmp_path: Path) -> None:
    text = MINIMAL.replace("max = 1000000", "max = 0")
    assert problems_of(tmp_path, text) == [("indicators[0].fields[0].max", "must be ≥ min")]
    problems, summary = check_config(tmp_path / "config.toml")
    assert problems == ["indicators[0].fields[0].max: must be ≥ min"]
    assert summary.startswith("1 problem in ")


def test_unknown_cluster_member(tmp_path: Path) -> None:
    text = MINIMAL.replace('{ unit = "hoan_kiem" }', '{ unit = "xyz" }')
    assert problems_of(tmp_path, text) == [("clusters[0].members[0].unit", "unknown unit 'xyz'")]


def test_duplicate_unit_code(tmp_path: Path) -> None:
    text = MINIMAL.replace('code = "ba_dinh"', 'code = "hoan_kiem"')
    problems = problems_of(tmp_path, text)
    assert problems[0] == (
        "units[1].code",
        "duplicate unit code 'hoan_kiem' (first at units[0].code)",
    )


def test_two_heads(tmp_path: Path) -> None:
    text = MINIMAL.replace('role = "deputy"', 'role = "head"')
    assert problems_of(tmp_path, text) == [
        (
            "clusters[0].members[2].role",
            "cluster 'cum1' has more than one head in 2025 (first at clusters[0].members[1])",
        )
    ]


def test_unit_in_two_clusters_the_same_year(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + """
[[clusters]]
code = "cum2"
year = 2025
name = "Cụm thi đua số 2"
members = [{ unit = "dong_da" }, { unit = "dong_da" }]

[[clusters]]
code = "cum1"
year = 2025
name = "Cụm thi đua số 1 (again)"
members = [{ unit = "hoan_kiem" }]
"""
    )
    paths = [p for p, _ in problems_of(tmp_path, text)]
    assert paths == [
        "clusters[2].code",  # (cum1, 2025) defined twice
        "clusters[1].members[0].unit",  # dong_da already in cum1 2025
        "clusters[1].members[1].unit",  # listed twice in cum2
        "clusters[2].members[0].unit",  # hoan_kiem already in cum1 2025
    ]


def test_duplicate_choice_codes_and_unfolded_keywords(tmp_path: Path) -> None:
    text = (
        MINIMAL.replace('keywords = ["tang qua"]', 'keywords = ["Tặng quà"]')
        + """
[[indicators.fields]]
code = "occasion"
type = "choice"
label = { vi = "Dịp" }
choices = [
  { code = "tet", label = { vi = "Tết" } },
  { code = "tet", label = { vi = "Tết âm lịch" } },
]
"""
    )
    assert problems_of(tmp_path, text) == [
        ("indicators[0].keywords[0]", "write keywords folded, as 'tang qua'"),
        (
            "indicators[0].fields[1].choices[1].code",
            "duplicate choice code 'tet' (first at indicators[0].fields[1].choices[0].code)",
        ),
    ]


def test_missing_required_key(tmp_path: Path) -> None:
    text = MINIMAL.replace('name = "LĐLĐ quận Ba Đình"\n', "")
    assert problems_of(tmp_path, text) == [("units[1].name", "required key is missing")]


def test_missing_section(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        '[federation]\nname = "Liên đoàn Lao động Thành phố Hà Nội"\ncode = "hanoi"', ""
    )
    assert problems_of(tmp_path, text) == [("federation", "required key is missing")]


def test_wrong_type(tmp_path: Path) -> None:
    text = MINIMAL + '\n[bot]\nconversation_timeout_minutes = "soon"\n'
    [(path, message)] = problems_of(tmp_path, text)
    assert path == "bot.conversation_timeout_minutes"
    assert "valid integer" in message


def test_union_errors_are_one_line(tmp_path: Path) -> None:
    text = MINIMAL.replace("min = 1\n", "min = 1\ndefault = [1]\n")
    [(path, message)] = problems_of(tmp_path, text)
    assert path == "indicators[0].fields[0].default"
    assert message.startswith("Input should be a valid string, ")


def test_misspelt_key(tmp_path: Path) -> None:
    text = MINIMAL + "\n[reporting]\nedit_window_hour = 24\n"
    assert problems_of(tmp_path, text) == [
        (
            "reporting.edit_window_hour",
            "unknown key (check the spelling). Did you mean: edit_window_hours?",
        )
    ]


def test_unknown_timezone(tmp_path: Path) -> None:
    text = MINIMAL.replace('code = "hanoi"', 'code = "hanoi"\ntimezone = "Asia/Hanoi_City"')
    [(path, message)] = problems_of(tmp_path, text)
    assert path == "federation.timezone"
    assert "unknown time zone 'Asia/Hanoi_City'" in message


def test_toml_syntax_error_reports_the_line(tmp_path: Path) -> None:
    text = MINIMAL.replace('code = "hanoi"', 'code = "hanoi\n')
    [(path, message)] = problems_of(tmp_path, text)
    assert path == ""
    assert "TOML syntax error" in message and "line 4" in message


def test_unreadable_file(tmp_path: Path) -> None:
    problems, summary = check_config(tmp_path / "absent.toml")
    assert len(problems) == 1 and "cannot read" in problems[0]
    assert summary.startswith("1 problem")


def test_many_errors_are_all_reported(tmp_path: Path) -> None:
    text = (
        MINIMAL.replace("max = 1000000", "max = 0")
        .replace('{ unit = "hoan_kiem" }', '{ unit = "xyz" }')
        .replace('code = "ba_dinh"', 'code = "hoan_kiem"')
        .replace('name = "LĐLĐ quận Đống Đa"\n', "")
        .replace('role = "deputy"', 'role = "head"')
        + "\n[bot]\nconversation_timeout_minutes = 0\n"
        + '\n[reporting]\nperiod = "week"\n'
    )
    problems = problems_of(tmp_path, text)
    paths = sorted(path for path, _ in problems)
    assert paths == sorted(
        [
            "bot.conversation_timeout_minutes",
            "reporting.period",
            "units[2].name",
            "indicators[0].fields[0].max",
            "units[1].code",
            "clusters[0].members[0].unit",  # xyz
            "clusters[0].members[1].unit",  # ba_dinh was renamed
            "clusters[0].members[2].role",
        ]
    ), format_problems(problems)
    # dong_da failed validation, but its code is known: no spurious "unknown unit".
    assert ("clusters[0].members[2].unit", "unknown unit 'dong_da'") not in problems


def test_app_config_built_in_code_is_cross_checked_too(tmp_path: Path) -> None:
    good = load_config(write(tmp_path, MINIMAL))
    data = good.model_dump()
    data["units"] = data["units"][:1]
    with pytest.raises(ConfigError) as info:
        AppConfig.model_validate(data)
    assert ("clusters[0].members[1].unit", "unknown unit 'ba_dinh'") in info.value.problems


def test_format_problems() -> None:
    assert format_problems([("a[0].b", "bad"), ("", "whole file")]) == "a[0].b: bad\nwhole file"


# --------------------------------------------------------------------------- secrets


def test_token_comes_from_the_environment_and_stays_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:SECRET-token-value")
    monkeypatch.setenv("THIDUA_CONFIG", "/etc/thidua/hanoi.toml")
    monkeypatch.delenv("TELEGRAM_API_BASE_URL", raising=False)
    secrets = Secrets()
    assert isinstance(secrets.telegram_bot_token, SecretStr)
    assert secrets.telegram_bot_token.get_secret_value() == "123456:SECRET-token-value"
    assert secrets.thidua_config == Path("/etc/thidua/hanoi.toml")
    for shown in (repr(secrets), str(secrets), secrets.model_dump_json()):
        assert "SECRET-token-value" not in shown


def test_no_token_and_empty_token_are_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert Secrets().telegram_bot_token is None
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    assert Secrets().telegram_bot_token is None


def test_api_base_url_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:8081/bot")
    config = load_config(EXAMPLE).with_secrets(Secrets())
    assert config.telegram.api_base_url == "http://127.0.0.1:8081/bot"
    # photos are downloaded from the same server (a local Bot API server serves /file/bot)
    assert config.telegram.file_base_url == "http://127.0.0.1:8081/file/bot"
    assert config.cluster_of("dong_da", 2025) is not None  # lookups survive the copy
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:8081/custom")
    config = load_config(EXAMPLE).with_secrets(Secrets())
    assert config.telegram.file_base_url == "https://api.telegram.org/file/bot"


def test_field_defaults_and_aliases_are_checked(tmp_path: Path) -> None:
    text = MINIMAL.replace("min = 1\n", "min = 1\ndefault = 0\n") + (
        "\n[[indicators.fields]]\n"
        'code = "occasion"\ntype = "choice"\nlabel = { vi = "Dịp" }\ndefault = "xmas"\n'
        "choices = [\n"
        '  { code = "tet", label = { vi = "Tết" } },\n'
        '  { code = "women_day", label = { vi = "8/3" }, aliases = ["tet"] },\n'
        "]\n"
    )
    assert problems_of(tmp_path, text) == [
        ("indicators[0].fields[0].default", "0 is below min 1"),
        ("indicators[0].fields[1].choices[1].aliases[0]", "alias 'tet' also names choice 'tet'"),
        ("indicators[0].fields[1].default", "unknown choice 'xmas' (one of: tet, women_day)"),
    ]


def test_scoring_weights_and_targets_are_checked_with_their_paths(tmp_path: Path) -> None:
    from bot.config import load_config
    from domain.errors import ConfigError

    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace(
        'weight = 25\nmethod = "target"\ncap = 1.2', 'weight = 20\nmethod = "target"\ncap = 1.2', 1
    )
    text = text.replace(
        'unit = "hoan_kiem"\nmeasure = "new_unions"',
        'unit = "hoan_kiemm"\nmeasure = "new_unions"',
        1,
    )
    text = text.replace(
        'measure = "gifts_count"\nperiod = "2025"', 'measure = "gift"\nperiod = "2025"', 1
    )
    text = text.replace('period = "2026"\nvalue = 20', 'period = "đợt 3"\nvalue = 20', 1)
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    lines = [f"{p}: {m}" for p, m in info.value.problems]
    assert any("weights must sum to 100, got 95" in line for line in lines), lines
    assert any(re.match(r"targets\[\d+\]\.period: must be a period key", line) for line in lines), (
        lines
    )


def test_obligations_are_checked_and_day_31_fallback_is_stated(tmp_path: Path) -> None:
    from bot.config import check_config

    text = EXAMPLE.read_text(encoding="utf-8")
    good = text.replace(
        'due = { kind = "day_of_next_month", day = 20 }',
        'due = { kind = "day_of_next_month", day = 31 }',
    )
    path = tmp_path / "ok.toml"
    path.write_text(good, encoding="utf-8")
    problems, summary = check_config(path)
    assert problems == []
    assert "note: obligations[0].due: " in summary and "last day" in summary
    bad = text.replace('indicators = ["cba"]', 'indicators = ["cbaa"]').replace(
        'applies_to = { clusters = ["cum1", "cum2"] }', 'applies_to = { clusters = ["cum9"] }'
    )
    path.write_text(bad, encoding="utf-8")
    problems, _ = check_config(path)
    assert "obligations[1].indicators[0]: unknown indicator 'cbaa'. Did you mean: cba?" in problems
    assert any(
        p.startswith("obligations[1].applies_to.clusters[0]: unknown cluster 'cum9'")
        for p in problems
    )


def test_short_labels_in_the_sample_and_checked_with_their_path(tmp_path: Path) -> None:
    from bot.config import check_config

    config = load_config(EXAMPLE)
    assert config.scoring is not None
    assert all(c.short_label is not None for c in config.scoring.criteria)
    assert all(len(c.short("vi")) <= 16 for c in config.scoring.criteria)
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        'short_label = { vi = "TƯLĐTT", en = "CBAs" }',
        'short_label = { vi = "Thỏa ước lao động tập thể", en = "CBAs" }',
    )
    path = tmp_path / "long.toml"
    path.write_text(text, encoding="utf-8")
    problems, _ = check_config(path)
    assert problems == [
        "scoring.criteria[2].short_label.vi: at most 16 characters, "
        "'Thỏa ước lao động tập thể' has 25"
    ]
