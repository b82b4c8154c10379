"""`thidua check-config` and the rules of [[indicators.rules]]: each bad rule is named by
its TOML path and the character where it goes wrong, in the command line's language."""

from __future__ import annotations

from pathlib import Path

from bot.config import check_config, load_config
from tests.harness import EXAMPLE

SAMPLE = EXAMPLE.read_text(encoding="utf-8")
EVENTS_RULE = 'expr = "participants >= count"'
SUPPORT_RULE = 'expr = "amount ÷ visits <= 50000000"'


def _problems(tmp_path: Path, text: str, lang: str = "en") -> list[str]:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return check_config(path, lang)[0]


def test_the_sample_rules_load_and_keep_their_trees() -> None:
    config = load_config(EXAMPLE)
    events = config.indicator("events")
    assert events is not None
    (rule,) = events.rules
    assert rule.fields == ("participants", "count")
    assert rule.message.vi.startswith("Số người tham dự")
    gifts = config.indicator("gifts")
    assert gifts is not None
    value = gifts.field("value_per_gift")
    assert value is not None and value.soft_max == 5_000_000
    assert config.reporting.outliers.factor == 10


def test_an_unknown_field_is_named_with_a_suggestion(tmp_path: Path) -> None:
    text = SAMPLE.replace(EVENTS_RULE, 'expr = "participant >= count"')
    assert _problems(tmp_path, text) == [
        "indicators[1].rules[0].expr: the rule names 'participant', which is not a field of "
        "this indicator (character 1). Did you mean: participants?"
    ]
    (vi,) = _problems(tmp_path, text, "vi")
    assert vi.startswith("indicators[1].rules[0].expr: quy tắc nhắc tới mục nhập 'participant'")


def test_a_field_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    text = SAMPLE.replace(SUPPORT_RULE, 'expr = "amount > 0 and date != 1"')
    assert _problems(tmp_path, text) == [
        "indicators[6].rules[0].expr: rules compare numbers only; field 'date' is of type "
        "date (character 16)"
    ]


def test_a_malformed_rule_says_where_it_goes_wrong(tmp_path: Path) -> None:
    text = SAMPLE.replace(EVENTS_RULE, 'expr = "participants >= count +"').replace(
        SUPPORT_RULE, 'expr = "amount / (visits < 3"'
    )
    assert _problems(tmp_path, text) == [
        "indicators[1].rules[0].expr: the rule ends too early: a number or a field is "
        "missing (character 24)",
        "indicators[6].rules[0].expr: this ( is never closed (character 10)",
    ]
    vi = _problems(tmp_path, text, "vi")
    assert vi[1] == "indicators[6].rules[0].expr: dấu ( này không được đóng (ký tự thứ 10)"


def test_a_rule_needs_a_message_and_no_unknown_keys(tmp_path: Path) -> None:
    text = SAMPLE.replace(EVENTS_RULE + "\n", 'exp = "participants >= count"\n')
    problems = _problems(tmp_path, text)
    assert "indicators[1].rules[0].expr: required key is missing" in problems
    assert any(p.startswith("indicators[1].rules[0].exp: ") for p in problems)


def test_soft_max_is_for_numbers_and_not_below_min(tmp_path: Path) -> None:
    text = SAMPLE.replace(
        'label = { vi = "Đối tượng nhận quà", en = "Recipients" }\n',
        'label = { vi = "Đối tượng nhận quà", en = "Recipients" }\nsoft_max = 3\n',
    ).replace("soft_max = 5000000", "soft_max = -1")
    assert _problems(tmp_path, text) == [
        "indicators[0].fields[1].soft_max: must be ≥ min",
        "indicators[0].fields[2].soft_max: only number fields have a soft_max",
    ]


def test_outlier_settings_are_checked(tmp_path: Path) -> None:
    text = SAMPLE.replace("outlier_factor = 10", "outlier_factor = -2")
    (problem,) = _problems(tmp_path, text)
    assert problem.startswith("reporting.outlier_factor: ")
