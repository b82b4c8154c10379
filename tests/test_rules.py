"""The rule language (domain/rules.py): read by a tokenizer and a parser, never eval'd;
evaluated exactly; skipped when a field is empty; failing closed on a division by zero.
And the unusual values: above a soft maximum, or far above the unit's median."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import ConfigRule
from domain.rules import (
    MAX_RULE_CHARS,
    Arith,
    Broken,
    Compare,
    Expr,
    Field,
    Logic,
    Neg,
    Not,
    Num,
    Outcome,
    OutlierRules,
    Unusual,
    UnusualKind,
    broken,
    evaluate,
    fields_of,
    median,
    outliers,
    parse,
    show,
    tokenize,
)

# ---- reading and writing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("recipients <= count", "recipients <= count"),
        ("total == count * value_per_gift", "total == count * value_per_gift"),
        ("participants >= 1", "participants >= 1"),
        ("total = count × value_per_gift", "total == count * value_per_gift"),
        ("amount ÷ visits ≤ 50000000", "amount / visits <= 50000000"),
        ("a − b ≥ 0 và a ≠ 2 hoặc không a > 1.5", "a - b >= 0 and a != 2 or not a > 1.5"),
        ("(a + b) * c > -(d - e) / 2", "(a + b) * c > -(d - e) / 2"),
        ("a - (b - c) < a - b - c", "a - (b - c) < a - b - c"),
        ("not (a < b or c < d)", "not (a < b or c < d)"),
        ("a < b and (c < d or e < f)", "a < b and (c < d or e < f)"),
        ("A < B AND c < d", "A < B and c < d"),
        ("0.25 < x", "0.25 < x"),
    ],
)
def test_rules_read_and_written_back(text: str, shown: str) -> None:
    tree = parse(text)
    assert show(tree) == shown
    assert parse(shown) == tree


def test_precedence_multiplication_before_addition_and_before_or() -> None:
    tree = parse("a + b * c == d or e < f and g < h")
    assert tree == Logic(
        "or",
        Compare("==", Arith("+", Field("a"), Arith("*", Field("b"), Field("c"))), Field("d")),
        Logic("and", Compare("<", Field("e"), Field("f")), Compare("<", Field("g"), Field("h"))),
    )


def test_vietnamese_keywords_typed_decomposed_are_read_too() -> None:
    decomposed = "a < 1 va\u0300 b < 2"  # "và" as v, a, combining grave
    assert parse(decomposed) == parse("a < 1 and b < 2")


def test_fields_in_order_of_first_appearance_with_positions() -> None:
    tree = parse("total == count * value_per_gift + count")
    assert fields_of(tree) == ("total", "count", "value_per_gift")
    assert tree.left.pos == 0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "key", "at"),
    [
        ("a <", "rule_ends_early", 4),
        ("a < b < c", "rule_chained", 7),
        ("(a < b", "rule_unclosed", 1),
        ("a + (b < c) > 1", "rule_number_needed", 5),
        ("a", "rule_not_condition", 1),
        ("a + 1", "rule_not_condition", 1),
        ("a $ b", "rule_bad_char", 3),
        ("1.2.3 > a", "rule_bad_number", 1),
        ("1e5 > a", "rule_bad_number", 1),
        ("2tr > a", "rule_bad_number", 1),
        ("1.000.000 > a", "rule_bad_number", 1),
        ("a and b < 1", "rule_condition_needed", 1),
        ("a < 1 and b", "rule_condition_needed", 11),
        ("a < b c", "rule_unexpected", 7),
        ("a < b)", "rule_unexpected", 6),
        ("x² > 1", "rule_bad_char", 2),
        ("__import__('os') == 1", "rule_bad_char", 12),
        ("(" * 60 + "a < b" + ")" * 60, "rule_too_deep", 42),
        ("-" * 60 + "a < b", "rule_too_deep", 42),
    ],
)
def test_a_malformed_rule_names_what_and_where(text: str, key: str, at: int) -> None:
    with pytest.raises(ConfigRule) as caught:
        parse(text)
    assert caught.value.key == key
    assert caught.value.params["at"] == at
    assert f"(character {at})" in caught.value.english


def test_empty_and_too_long_rules() -> None:
    with pytest.raises(ConfigRule) as empty:
        parse("   ")
    assert empty.value.key == "rule_empty"
    with pytest.raises(ConfigRule) as long:
        parse("a < " + "1 + " * 200 + "1")
    assert long.value.key == "rule_too_long"
    assert long.value.params == {"max": MAX_RULE_CHARS, "length": 4 + 4 * 200 + 1}


# ---- evaluating ---------------------------------------------------------------------------


def test_exact_arithmetic_for_money() -> None:
    rule = parse("total == count * value_per_gift")
    assert evaluate(rule, {"total": 10_000_000, "count": 20, "value_per_gift": 500_000}) == (
        Outcome.HOLDS
    )
    assert evaluate(rule, {"total": 10_000_001, "count": 20, "value_per_gift": 500_000}) == (
        Outcome.BROKEN
    )
    # 0.1 + 0.2 == 0.3 in fractions (the floats the values are made of, exactly)
    assert evaluate(parse("a / 3 * 3 == a"), {"a": 7}) == Outcome.HOLDS
    assert evaluate(parse("x == 0.5"), {"x": 0.5}) == Outcome.HOLDS


def test_a_rule_naming_an_empty_field_is_skipped() -> None:
    rule = parse("recipients <= count")
    assert evaluate(rule, {"count": 5}) == Outcome.SKIPPED
    assert evaluate(rule, {"count": 5, "recipients": None}) == Outcome.SKIPPED
    assert evaluate(rule, {"count": 5, "recipients": "nữ đoàn viên"}) == Outcome.SKIPPED
    assert evaluate(rule, {"count": 5, "recipients": 6}) == Outcome.BROKEN
    assert evaluate(rule, {"count": 5, "recipients": 5}) == Outcome.HOLDS


def test_division_by_zero_fails_closed_and_or_can_guard_it() -> None:
    assert evaluate(parse("amount / visits <= 100"), {"amount": 5, "visits": 0}) == Outcome.FAILED
    guarded = parse("visits == 0 or amount / visits <= 100")
    assert evaluate(guarded, {"amount": 5, "visits": 0}) == Outcome.HOLDS
    assert evaluate(guarded, {"amount": 500, "visits": 2}) == Outcome.BROKEN
    assert evaluate(parse("1 / (a - a) > 0"), {"a": 3}) == Outcome.FAILED


def test_broken_lists_each_broken_or_failed_rule_with_its_fields() -> None:
    rules = [
        parse("recipients <= count"),
        parse("participants >= 1"),
        parse("amount / count < 10"),
    ]
    values = {"recipients": 30, "count": 0, "amount": 5}
    assert broken(rules, values) == (
        Broken(0, ("recipients", "count")),
        Broken(2, ("amount", "count"), failed=True),
    )
    assert broken(rules, {"count": 3}) == ()


# ---- never eval'd: properties -------------------------------------------------------------

CODES = st.sampled_from(["a", "b", "count", "value_per_gift", "x1"])
NUMBERS = st.one_of(
    st.integers(0, 10**12).map(Fraction),
    st.decimals(0, 10**6, places=3, allow_nan=False, allow_infinity=False).map(Fraction),
)


def _numeric(depth: int) -> st.SearchStrategy[Expr]:
    leaf: st.SearchStrategy[Expr] = st.one_of(NUMBERS.map(Num), CODES.map(Field))
    if depth == 0:
        return leaf
    sub = _numeric(depth - 1)
    return st.one_of(
        leaf,
        sub.map(Neg),
        st.builds(Arith, st.sampled_from("+-*/"), sub, sub),
    )


def _condition(depth: int) -> st.SearchStrategy[Expr]:
    compare: st.SearchStrategy[Expr] = st.builds(
        Compare, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), _numeric(3), _numeric(3)
    )
    if depth == 0:
        return compare
    sub = _condition(depth - 1)
    return st.one_of(
        compare,
        sub.map(Not),
        st.builds(Logic, st.sampled_from(["and", "or"]), sub, sub),
    )


@settings(max_examples=300, deadline=None)
@given(_condition(3))
def test_any_rule_written_back_reads_as_the_same_rule(tree: Expr) -> None:
    text = show(tree)
    if len(text) <= MAX_RULE_CHARS:
        assert parse(text) == tree


@settings(max_examples=300, deadline=None)
@given(_condition(2), st.dictionaries(CODES, st.integers(-1000, 1000) | st.floats(-1e6, 1e6)))
def test_evaluating_never_raises(tree: Expr, values: dict[str, float]) -> None:
    assert evaluate(tree, values) in set(Outcome)


def _never_crashes(text: str) -> None:
    try:
        tree = parse(text)
    except ConfigRule as error:  # the one error a rule can give, with where it is
        at = error.params.get("at")
        assert at is None or 1 <= at <= len(text) + 1
        return
    assert parse(show(tree)) == tree


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_never_crashes_the_parser(text: str) -> None:
    _never_crashes(text)


RULE_ALPHABET = st.sampled_from(
    [
        *"ab1.0 ()+-*/<>=!",
        "<=",
        ">=",
        "==",
        "!=",
        "≤",
        "≥",
        "≠",
        "×",
        "÷",
        "−",
        " and ",
        " or ",
        " not ",
        " và ",
        " hoặc ",
        " không ",
        "count",
        "2.5",
    ]
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(RULE_ALPHABET, max_size=30).map("".join))
def test_text_made_of_rule_pieces_never_crashes_the_parser(text: str) -> None:
    _never_crashes(text)


def test_tokens_keep_their_positions() -> None:
    tokens = tokenize("a ≤ 10")
    assert [(t.kind, t.text, t.pos) for t in tokens] == [
        ("name", "a", 0),
        ("op", "<=", 2),
        ("num", "10", 4),
        ("end", "", 6),
    ]


# ---- unusual values -----------------------------------------------------------------------


def test_median() -> None:
    assert median([]) is None
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 3, 2]) == 2.5


def test_above_the_soft_maximum_or_far_above_the_usual() -> None:
    soft = {"value_per_gift": 5_000_000.0, "count": None}
    rules = OutlierRules(factor=10)
    usual = {"count": 20.0, "value_per_gift": 500_000.0}
    assert outliers(soft, {"value_per_gift": 500_000, "count": 20}, usual, rules) == ()
    assert outliers(soft, {"value_per_gift": 5_000_001, "count": 201}, usual, rules) == (
        Unusual("value_per_gift", UnusualKind.SOFT_MAX, 5_000_001.0, 5_000_000.0),
        Unusual("count", UnusualKind.USUAL, 201.0, 20.0),
    )
    assert outliers(soft, {"count": 200}, usual, rules) == ()  # 10× exactly is usual enough
    assert outliers(soft, {"count": 201}, {}, rules) == ()  # no usual value yet
    assert outliers(soft, {"count": 201}, usual, OutlierRules(factor=0)) == ()  # off
    assert outliers(soft, {"count": 0}, {"count": 0.0}, rules) == ()
    assert outliers(soft, {"count": 5}, {"count": 0.0}, rules) == ()  # a median of 0 says nothing
    found = outliers(soft, {"count": 500}, usual, rules)
    assert found[0].times() == 25
