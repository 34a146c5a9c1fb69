"""`formulas.parse_formula` reads a formula back from its `str()` without evaluating any code."""

import itertools
import time

import pytest
import sympy as sp

from quizgen import formulas
from quizgen.errors import QuestionError
from quizgen.families.which_formula import FORMULA_SYMBOLS, PARAMS_CANDIDATES, SIZE_CANDIDATES
from quizgen.formulas import C_IN, K_H, K_W, F, K, S, W, parse_formula

CANDIDATES = [expression for candidates in SIZE_CANDIDATES.values() for expression, _ in candidates]
CANDIDATES += [expression for expression, _ in PARAMS_CANDIDATES]

SIZE_POINTS = [{W: w, K: k, S: s} for w, k, s in itertools.product(range(1, 13), range(1, 6), range(1, 4))]
PARAMS_POINTS = [{K_H: a, K_W: b, C_IN: c, F: f}
                 for a, b, c, f in itertools.product((1, 2, 3, 5), (1, 3, 4), (1, 3, 16), (1, 8, 64))]


@pytest.mark.parametrize("expression", CANDIDATES, ids=str)
def test_round_trips_every_candidate(expression):
    parsed = parse_formula(str(expression), FORMULA_SYMBOLS)
    assert sp.simplify(parsed - expression) == 0
    points = SIZE_POINTS if expression.free_symbols <= {W, K, S} else PARAMS_POINTS
    for values in points:
        assert formulas.evaluate(parsed, values) == formulas.evaluate(expression, values), values
    assert str(parsed) == str(sp.sympify(str(expression), locals=FORMULA_SYMBOLS))


@pytest.mark.parametrize("text, value", [
    ("W**2 - S**(-1)*S", 48),
    ("Max(-S + K, 0) + 2*W", 15),
    ("ceiling(W/S) - floor((-K + W)/S)", 2),
    ("-(-W)", 7),
])
def test_reads_the_whitelisted_syntax(text, value):
    assert formulas.evaluate(parse_formula(text, FORMULA_SYMBOLS), {W: 7, K: 3, S: 2}) == value


@pytest.mark.parametrize("text", [
    "__import__('os').system('touch X')",
    "W.__class__",
    "W.real",
    "(lambda: W)()",
    "lambda: 0",
    "W[0]",
    "[W, K]",
    "(W, K)",
    "{W: K}",
    "W if K else S",
    "W < K",
    "x + 1",
    "floor",
    "print(W)",
    "sp.floor(W)",
    "floor(W, K)",
    "Max(W)",
    "floor(x=W)",
    "floor(*W)",
    "1.5 * W",
    "True + W",
    "'W'",
    "W ** 99",
    "W ** K",
    "W ** 0.5",
    "10 ** 100000",
    "9" * 400,
    "W / 0",
    "W / (K - K)",
    "W // S",
    "W % S",
    "W @ S",
    "+W",
    "~W",
    "not W",
    "W; import os",
    "W\x00",
    "f'{W}'",
    "",
    "   ",
])
def test_rejects_everything_else(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(QuestionError, match="not a formula"):
        parse_formula(text, FORMULA_SYMBOLS)
    assert list(tmp_path.iterdir()) == []


def test_never_evaluates_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for text in ("__import__('os').system('touch X')", "().__class__.__base__.__subclasses__()",
                 "exec('open(\"X\", \"w\")')", "eval('1')", "open('X', 'w')"):
        with pytest.raises(QuestionError) as raised:
            parse_formula(text, FORMULA_SYMBOLS)
        assert repr(text)[:20] in str(raised.value)
    assert not (tmp_path / "X").exists()


@pytest.mark.parametrize("text", [
    "W + " * 25_000 + "W",
    "(" * 100_000 + "W" + ")" * 100_000,
    "(" * 240 + "W" + ")" * 240,
    "-" * 499 + "W",
    "floor(" * 80 + "W" + ")" * 80,
    "W*(" * 120 + "W" + ")" * 120,
    "x" * 100_000,
])
def test_huge_or_deep_inputs_fail_quickly_with_a_short_message(text):
    start = time.perf_counter()
    with pytest.raises(QuestionError) as raised:
        parse_formula(text, FORMULA_SYMBOLS)
    assert time.perf_counter() - start < 2
    assert len(str(raised.value)) < 200


def test_unknown_names_are_quoted_briefly():
    known = r"\(known: C_in, F, K, S, W, k_h, k_w\)"
    with pytest.raises(QuestionError, match=rf"uses unknown symbols: 'y' {known}"):
        parse_formula("W + y", FORMULA_SYMBOLS)
    with pytest.raises(QuestionError) as raised:
        parse_formula("z" * 450, FORMULA_SYMBOLS)
    assert len(str(raised.value)) < 300  # the text and the name, each quoted at most 80 characters


def test_symbols_are_the_callers():
    n = sp.Symbol("n", integer=True)
    assert parse_formula("2*n + 1", {"n": n}) == 2 * n + 1
    with pytest.raises(QuestionError, match="uses unknown symbols: 'W' \\(known: n\\)"):
        parse_formula("W", {"n": n})


def test_not_a_string():
    with pytest.raises(QuestionError, match="not a string"):
        parse_formula(None, FORMULA_SYMBOLS)  # type: ignore[arg-type]
