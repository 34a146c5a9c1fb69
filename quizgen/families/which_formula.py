"""Which formula: the closed form Keras follows for a convolution (seeds/003).

The family of `formula` asks: "Which formula gives the output size (or the parameter count) of
this Conv2D layer?". The options are candidate formulas, each but one following a
misconception (`SIZE_CANDIDATES`, `PARAMS_CANDIDATES`); which candidate is right is decided by
execution, never assumed: a formula is Keras' rule when it agrees with Keras on every Conv2D of a
grid of built layers (`formula_holds`). The item is valid for its instance: the correct formula
gives the asked layer's own value, and every distractor offered gives another value for that
layer (numbers that cannot tell a mistake apart — a 1×1 kernel, stride 1, one input channel —
leave it out, or the model is redrawn). `quizgen verify` parses each option's formula back from
the key and judges it again, on the layer rebuilt by Keras.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sympy as sp

from quizgen import formulas
from quizgen.errors import QuestionError
from quizgen.families import model_facts
from quizgen.family import (
    CHOICES,
    Choice,
    Family,
    Question,
    Subject,
    describe_in,
    layer_variables,
    prove_options,
    reading,
    resolve_layer,
)
from quizgen.formulas import C_IN, K_H, K_W, OUTPUT_SIZE, F, K, S, W
from quizgen.oracle import ModelFacts, Oracle
from quizgen.spec import LayerSpec, ModelSpec
from quizgen.template import Ask

if TYPE_CHECKING:
    from quizgen.key import KeyEntry

with sp.evaluate(False):
    #: Formulas a student may give for one output size, by the layer's padding; the first is
    #: Keras' (decided again by execution: `formula_holds`).
    SIZE_CANDIDATES = {
        "valid": ((OUTPUT_SIZE["valid"], None), (OUTPUT_SIZE["same"], "padding_flipped"),
                  (sp.floor((W - K) / S), "plus_one_forgotten"), (W - K + 1, "stride_ignored"),
                  (sp.floor(W / S), "kernel_ignored")),
        "same": ((OUTPUT_SIZE["same"], None), (OUTPUT_SIZE["valid"], "padding_flipped"),
                 (W, "stride_ignored"), (sp.floor(W / S), "rounding_confused")),
    }
    #: Formulas a student may give for the parameters of a Conv2D layer with a bias.
    PARAMS_CANDIDATES = (
        ((K_H * K_W * C_IN + 1) * F, None), ((K_H * K_W + 1) * F, "input_channels_forgotten"),
        (K_H * K_W * C_IN * F, "bias_forgotten"), (K_H * K_W * C_IN * F + 1, "single_bias"),
        ((K_H * C_IN + 1) * F, "kernel_one_dimensional"),
    )

#: The symbols a formula may use, for parsing one back from the key.
FORMULA_SYMBOLS = {str(symbol): symbol for symbol in (W, K, S, K_H, K_W, C_IN, F)}


def parse_formula(text: str) -> sp.Expr:
    """A formula from its `str()` form as stored in the key (e.g. `floor((W - K)/S) + 1`),
    parsed without evaluating any code (`quizgen.formulas.parse_formula`); the last 1,024
    texts are remembered (sympy expressions are immutable).

    Raises:
        QuestionError: not a formula of the known symbols (or not a string).
    """
    return _parsed(text) if isinstance(text, str) else formulas.parse_formula(text, FORMULA_SYMBOLS)


@lru_cache(maxsize=1024)
def _parsed(text: str) -> sp.Expr:
    return formulas.parse_formula(text, FORMULA_SYMBOLS)


#: Configurations on which a formula must agree with Keras to count as correct.
SIZE_GRID = tuple((w, k, s) for w in (5, 7, 8, 10) for k in (1, 2, 3) for s in (1, 2, 3))
PARAMS_GRID = tuple((k_h, k_w, c, f) for k_h in (1, 3) for k_w in (2, 3) for c in (1, 3)
                    for f in (1, 4))


def conv_sizes(oracle: Oracle, padding: str) -> tuple[tuple[tuple[int, int, int], int], ...]:
    """`((W, K, S), output size)` of a Conv2D built by Keras on a W×W input with a K×K kernel,
    strides S and `padding`, for every point of `SIZE_GRID`."""
    return tuple(
        ((w, k, s), oracle.facts(ModelSpec((w, w, 1), (LayerSpec.make(
            "Conv2D", filters=1, kernel_size=k, strides=s, padding=padding),))).layers[0].output_shape[1])
        for w, k, s in SIZE_GRID)


def conv_params(oracle: Oracle) -> tuple[tuple[tuple[int, int, int, int], int], ...]:
    """`((k_h, k_w, C_in, F), parameters)` of Conv2D layers (with bias) built by Keras, for every
    point of `PARAMS_GRID`."""
    return tuple(
        ((k_h, k_w, c, f), oracle.facts(ModelSpec((6, 6, c), (LayerSpec.make(
            "Conv2D", filters=f, kernel_size=(k_h, k_w)),))).total_params)
        for k_h, k_w, c, f in PARAMS_GRID)


def formula_holds(oracle: Oracle, expression: sp.Expr, quantity: str, padding: str = "valid") -> bool:
    """Whether a formula agrees with Keras on every Conv2D of a grid of built layers
    (`SIZE_GRID` for output sizes with `padding`, `PARAMS_GRID` for parameter counts): a formula
    is correct exactly when execution says so."""
    if quantity == "output_size":
        return all(formulas.evaluate(expression, {W: w, K: k, S: s}) == size
                   for (w, k, s), size in conv_sizes(oracle, padding))
    return all(formulas.evaluate(expression, {K_H: k_h, K_W: k_w, C_IN: c, F: f}) == params
               for (k_h, k_w, c, f), params in conv_params(oracle))


#: What each candidate's misconception means (the feedback a student gets).
DESCRIPTIONS = model_facts.DESCRIPTIONS | {
    "plus_one_forgotten": "left out the + 1 that counts the window's first position",
    "kernel_ignored": "divided the input size by the stride without subtracting the kernel",
    "rounding_confused": "rounded down; with 'same' padding a partial window still counts",
}


def _candidates(quantity: str, padding: str) -> tuple[tuple[sp.Expr, str | None], ...]:
    return SIZE_CANDIDATES[padding] if quantity == "output_size" else PARAMS_CANDIDATES


def instance(spec: ModelSpec, facts: ModelFacts, layer: int,
             quantity: str) -> tuple[dict[sp.Symbol, int], int]:
    """The asked layer's own numbers (W, K, S of its height; or k_h, k_w, C_in, F) and the
    value Keras gives it (its output height, or its parameter count)."""
    known, conv = facts.layers[layer], spec.layers[layer]
    (k_h, k_w), (s_h, _), _ = formulas.window(conv)
    if quantity == "output_size":
        return {W: known.input_shape[1], K: k_h, S: s_h}, known.output_shape[1]
    return {K_H: k_h, K_W: k_w, C_IN: known.input_shape[-1], F: conv.get("filters")}, known.params


def _at(expression: sp.Expr, values: dict[sp.Symbol, int]) -> int:
    return formulas.evaluate(expression, values)


def _judge(oracle: Oracle, spec: ModelSpec, facts: ModelFacts, layer: int, quantity: str,
           choices: list[tuple[str, sp.Expr, bool]]) -> list[str]:
    """Why options `(text, formula, marked correct)` of a formula question about layer `layer`
    do not leave exactly one right option for it: a correct option must be Keras' rule (it
    agrees with every Conv2D of the grid) and give the layer's value; a distractor must give
    another value for this very layer (else a student who uses it is right here)."""
    _, _, padding = formulas.window(spec.layers[layer])
    values, value = instance(spec, facts, layer, quantity)
    problems = []
    for text, expression, correct in choices:
        here = _at(expression, values)
        if correct and not (formula_holds(oracle, expression, quantity, padding) and here == value):
            problems.append(f"formula {text} is marked correct but disagrees with Keras")
        if not correct and here == value:
            problems.append(f"formula {text} is a distractor but gives Keras' value {value} for "
                            "this layer too")
    return problems


def _explanation(spec: ModelSpec, facts: ModelFacts, layer: int, quantity: str,
                 choices: tuple[Choice, ...], expressions: list[sp.Expr]) -> str:
    """The rule with the layer's numbers worked out, and what each distractor gives here."""
    known, conv = facts.layers[layer], spec.layers[layer]
    values, value = instance(spec, facts, layer, quantity)
    if quantity == "output_size":
        (k, _), (s, _), padding = formulas.window(conv)
        worked = (f"For `{known.name}` (padding \"{padding}\"), along the height: "
                  f"{formulas.size_derivation(known.input_shape[1], k, s, padding)}, the output "
                  f"height Keras reports; the width follows the same rule.")
    else:
        worked = (f"For `{known.name}`: {formulas.params_derivation(conv, known.input_shape)}, the "
                  "parameter count Keras reports (a kernel of k_h × k_w × C_in weights and one "
                  "bias per filter).")
    lines = [f"* {choice.text} gives ${formulas.latex(expression, values)} = {_at(expression, values)}$ "
             f"here: {describe_in(DESCRIPTIONS, choice.misconception)}."
             for choice, expression in zip(choices, expressions, strict=True) if not choice.correct]
    return (f"Keras follows {choices[0].text}. {worked}\n\n**Common mistakes**\n\n"
            + "\n".join(lines))


def make(subject: Subject, rng: random.Random) -> Question:
    """"Which formula gives ...?": the formula Keras follows, found by execution, against
    formulas that follow a misconception, each giving another value for the asked layer.

    Raises:
        QuestionError: the asked layer is not a Conv2D (with a bias, for parameters), not
            exactly one candidate is Keras' rule, or fewer than three candidates give another
            value for this layer (its numbers do not tell the mistakes apart: a 1×1 kernel, one
            input channel, stride 1, ...).
    """
    ask, spec, facts = subject.ask, subject.spec, subject.facts
    layer = resolve_layer(ask, spec, rng)
    if spec.layers[layer].class_name != "Conv2D" or (
            ask.quantity == "params" and not spec.layers[layer].get("use_bias", True)):
        raise QuestionError("formula questions are about a Conv2D layer with a bias")
    _, _, padding = formulas.window(spec.layers[layer])
    values, value = instance(spec, facts, layer, ask.quantity)
    candidates = _candidates(ask.quantity, padding)
    right = [expression for expression, _ in candidates
             if formula_holds(subject.oracle, expression, ask.quantity, padding)]
    wrong = [(expression, label) for expression, label in candidates if _at(expression, values) != value]
    if len(right) != 1 or len(wrong) < CHOICES - 1:
        raise QuestionError(f"{len(right)} candidate formulas are Keras' rule and {len(wrong)} give "
                            f"another value for this layer; expected 1 and {CHOICES - 1}")
    chosen = rng.sample(wrong, CHOICES - 1)
    choices = (Choice(f"${formulas.latex(right[0])}$", str(right[0]), True),) + tuple(
        Choice(f"${formulas.latex(expression)}$", str(expression), False, label)
        for expression, label in chosen)
    explanation = _explanation(spec, facts, layer, ask.quantity, choices,
                               [right[0]] + [expression for expression, _ in chosen])
    return Question(ask.ref(layer), "single_choice", subject.text(layer_variables(subject, layer)),
                    choices[0].text, choices, explanation, reading(subject, layer))


def prove(subject: Subject, question: Question) -> list[str]:
    """A formula question is valid when its options are distinct, its correct option is Keras'
    rule and gives the asked layer's value, and every distractor gives another value for it."""
    return prove_options(question) + _judge(
        subject.oracle, subject.spec, subject.facts, question.ref.layer, question.ref.quantity,
        [(choice.text, parse_formula(choice.value), choice.correct) for choice in question.choices])


def rederive(entry: KeyEntry, oracle: Oracle) -> tuple[Any, Any]:
    """For a formula entry: the correct option's text when exactly one option is marked correct,
    it is Keras' rule and gives the layer's value, and every other option gives another value
    for the layer (the whole model built again); else a message saying which option fails."""
    spec = ModelSpec.from_json(entry.model)
    problems = _judge(oracle, spec, oracle.model_facts(spec), entry.layer, entry.quantity,
                      [(c.text, parse_formula(c.value), c.correct) for c in entry.choices])
    if problems:
        return "; ".join(problems), None
    correct = [c.text for c in entry.choices if c.correct]
    return (correct[0], correct[0]) if len(correct) == 1 else (None, None)


def reproduce(entry: KeyEntry, oracle: Oracle) -> list[str]:
    """Each distractor's label must be the misconception its formula follows (the candidate
    tables pair each formula with one)."""
    spec = ModelSpec.from_json(entry.model)
    _, _, padding = formulas.window(spec.layers[entry.layer])
    labels = {str(expression): label for expression, label in _candidates(entry.quantity, padding)}
    return [f"distractor {choice.text}: it follows {labels.get(choice.value)!r}, not "
            f"{choice.misconception!r}" for choice in entry.choices
            if not choice.correct and labels.get(choice.value) != choice.misconception]


def check_ask(ask: Ask) -> list[tuple[str, str]]:
    """A formula is asked of a layer, for a `quantity`."""
    return [("", f"'{name}' is a required property") for name in ("quantity", "layer")
            if getattr(ask, name) is None]


FAMILY = Family(
    name="which_formula",
    facts=("formula",),
    misconceptions=DESCRIPTIONS,
    make=make,
    prove=prove,
    rederive=rederive,
    check_ask=check_ask,
    reproduce=reproduce,
    option_values=False,
    forms=("single_choice",),
)
