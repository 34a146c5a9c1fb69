"""Formula questions (seeds/003): a formula is correct exactly when it agrees with Keras."""

import pytest
import sympy as sp

from quizgen import formulas
from quizgen.families.which_formula import SIZE_CANDIDATES, formula_holds, parse_formula
from quizgen.questions import make_item

W, K, S = formulas.W, formulas.K, formulas.S


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_only_keras_formula_holds(padding, oracle):
    (correct, _), *wrong = SIZE_CANDIDATES[padding]
    assert formula_holds(oracle, correct, "output_size", padding)
    assert not any(formula_holds(oracle, expression, "output_size", padding)
                   for expression, _ in wrong)


def test_seed_003_published_formulas_agree_with_keras(oracle):
    # "height = ceil(float(H_in - F + 1) / float(S))" for valid, "ceil(H_in / S)" for same
    assert formula_holds(oracle, sp.ceiling((W - K + 1) / S), "output_size", "valid")
    assert formula_holds(oracle, sp.ceiling(W / S), "output_size", "same")
    # "K × F × F × D_in + K": filters K, square kernel F, input depth D_in
    square = formulas.K_H * formulas.K_W * formulas.C_IN * formulas.F + formulas.F
    assert formula_holds(oracle, square, "params")
    assert not formula_holds(oracle, formulas.K_H * formulas.K_W * formulas.F + formulas.F, "params")


def test_parse_formula_round_trip_and_errors():
    expression = SIZE_CANDIDATES["valid"][0][0]
    assert sp.simplify(parse_formula(str(expression)) - expression) == 0
    with pytest.raises(Exception, match="unknown symbols"):
        parse_formula("x + 1")


def test_formula_question(bank, oracle):
    template = next(t for t in bank if t.id == "formula-params")
    for seed in range(3):
        (question,) = make_item(template, seed, oracle).questions
        correct = [c for c in question.choices if c.correct]
        assert len(correct) == 1 and correct[0].text == question.answer
        assert question.answer == r"$\left(k_{h} k_{w} C_{in} + 1\right) F$"
        assert len({c.text for c in question.choices}) == 4
        assert all(c.misconception for c in question.choices if not c.correct)
