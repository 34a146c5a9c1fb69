""""Which statements are correct?" (seeds/000): statements about a model, each decided by execution.

A statement is a *claim* (plain data) of some *kind*; the kind phrases it and decides it by asking
Keras: it executes the model with random weights on random inputs (output ranges, sums), creates
layers to see which arguments Keras accepts and which defaults it applies, or builds the model
without a layer to compare parameter counts. A statement's truth is never assumed: `decide`
computes it, and `quizgen verify` re-runs `decide` on the claims recorded in the key (on the
whole model built again).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from quizgen.distractors import compound_answer
from quizgen.errors import QuestionError
from quizgen.facts import Answer, FactRef, format_answer, read_fact
from quizgen.families import model_facts
from quizgen.families.model_facts import WEIGHTED
from quizgen.family import Choice, Family, Question, Subject, count_of, mistakes, reading
from quizgen.formulas import window
from quizgen.oracle import PROBE_SAMPLES, ModelFacts, Oracle
from quizgen.spec import POOLING, ModelSpec
from quizgen.template import Ask

if TYPE_CHECKING:
    from quizgen.key import KeyEntry

Claim = dict[str, Any]
#: Tolerance of "sums to 1" and of the open interval (0, 1) in executed outputs.
EPSILON = 1e-4
#: The most output values per example (summed over the layers) of a model whose statements
#: are decided by executing it: a probe runs 2 × `PROBE_SAMPLES` examples through every layer
#: in float64: ~10 s at this size (the bank's samplers draw at most ~1.4 million); an
#: ImageNet-sized model would take minutes.
MAX_EXECUTED_VALUES = 2_000_000


@dataclass(frozen=True)
class Statement:
    """A phrased claim and its truth as decided by execution; `misconception` labels a false
    statement (what believing it shows); `reason` explains the verdict with the evidence."""

    kind: str
    claim: tuple[tuple[str, Any], ...]
    text: str
    true: bool
    misconception: str | None
    reason: str

    def record(self) -> dict[str, Any]:
        """`{"kind", "claim"}`: what the key stores so the statement can be decided again."""
        return {"kind": self.kind, "claim": dict(self.claim)}


@dataclass(frozen=True)
class Kind:
    """A kind of statement: `propose` makes a claim meant to be `want` (or None where the
    model offers none); `phrase` words it; `decide` returns `(truth, evidence)` by execution.
    A claim that a layer's number has some value names the `fact` it is about; its false
    claims take their number, and their misconception, from a model-fact mistake."""

    name: str
    misconception: str
    propose: Callable[[Oracle, ModelSpec, ModelFacts, random.Random, bool], Claim | None]
    phrase: Callable[[ModelSpec, ModelFacts, Claim], str]
    decide: Callable[[Oracle, ModelSpec, ModelFacts, Claim], tuple[bool, str]]
    fact: str | None = None


def _code(spec: ModelSpec, layer: int) -> str:
    return f"`{spec.layers[layer].code()}`"


def _layers(spec: ModelSpec, classes: tuple[str, ...]) -> list[int]:
    return [i for i, layer in enumerate(spec.layers) if layer.class_name in classes]


# --- the task the output layer implies ------------------------------------------------------

def _implied_task(oracle: Oracle, spec: ModelSpec, facts: ModelFacts) -> tuple[str, str]:
    last = len(spec.layers) - 1
    low, high, deviation = oracle.probe_outputs(spec, last)
    units = facts.layers[last].output_shape[-1]
    activation = spec.layers[last].get("activation", "linear")
    evidence = (f"{_range_reason(activation)} ({PROBES}, its {count_of(units, 'output')} "
                f"ranged from {low:.3g} to {high:.3g})")
    if units > 1 and low >= 0 and deviation < EPSILON:
        return "multi-class", evidence + ", and they always sum to 1: a probability for each class"
    if units == 1 and 0 <= low and high <= 1:
        return "binary", evidence + ": a single probability, of the positive class"
    return "regression", evidence + ": not probabilities"


TASK_PHRASES = {"multi-class": "a multi-class classification model",
                "binary": "a binary classification model", "regression": "a regression model"}


def _propose_task(oracle, spec, facts, rng, want):
    """A claim about the task; none for a probability over two classes (a 2-unit softmax is
    a binary classifier as much as a multi-class one: either claim is defensible)."""
    actual, _ = _implied_task(oracle, spec, facts)
    if actual == "multi-class" and facts.layers[-1].output_shape[-1] == 2:
        return None
    return {"task": actual if want else rng.choice([t for t in TASK_PHRASES if t != actual])}


def _phrase_task(spec, facts, claim):
    last = spec.layers[-1]
    activation = last.get("activation", "linear")
    units = facts.layers[-1].output_shape[-1]
    return (f"The {activation} activation function in the last layer and its size ({units} "
            f"unit{'s' if units > 1 else ''}) hint that this is {TASK_PHRASES[claim['task']]}.")


def _decide_task(oracle, spec, facts, claim):
    actual, evidence = _implied_task(oracle, spec, facts)
    return claim["task"] == actual, f"It is {TASK_PHRASES[actual]}: {evidence}."


# --- output ranges ---------------------------------------------------------------------------

#: The values each activation function outputs, the reason behind a range claim's verdict.
ACTIVATION_RANGES = {"relu": "values in [0, ∞)", "sigmoid": "values in (0, 1)",
                     "softmax": "values in (0, 1) that sum to 1 over the last axis",
                     "tanh": "values in (-1, 1)", "elu": "values in (-1, ∞)",
                     "linear": "any real value"}

#: How the probes were run, as the evidence says it.
PROBES = (f"executed with random weights on {PROBE_SAMPLES} small and {PROBE_SAMPLES} large "
          "random inputs")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _range_reason(activation: str) -> str:
    """Why a layer's outputs range as they do: what its activation function outputs."""
    return f"the {activation} activation outputs {ACTIVATION_RANGES.get(activation, 'its own range')}"


def _activated(spec: ModelSpec) -> list[int]:
    return [i for i in _layers(spec, WEIGHTED) if spec.layers[i].get("activation")]


def _sums(deviation: float) -> str:
    """How far the rows' sums are from 1, in words that do not depend on rounding noise (its
    digits vary with the machine's threads)."""
    if deviation < EPSILON:
        return f" and their sums equal 1 (within {EPSILON:g})"
    return f" and their sums differ from 1 by up to {deviation:.2g}"


def _range_kind(name: str, phrase: str, holds: Callable[[float, float, float], bool],
                misconception: str) -> Kind:
    """A claim that a layer's executed outputs satisfy `holds(min, max, row-sum deviation)`."""

    def decide(oracle, spec, facts, claim):
        low, high, deviation = oracle.probe_outputs(spec, claim["layer"])
        truth = holds(low, high, deviation)
        activation = spec.layers[claim["layer"]].get("activation", "linear")
        return truth, (f"{_sentence(_range_reason(activation))} ({PROBES}, its outputs ranged from "
                       f"{low:.3g} to {high:.3g}"
                       + (_sums(deviation) if name == "outputs_sum_to_one" else "") + ").")

    def propose(oracle, spec, facts, rng, want):
        layers = [i for i in _activated(spec) if decide(oracle, spec, facts, {"layer": i})[0] == want]
        if name == "outputs_sum_to_one":
            layers = [i for i in layers if facts.layers[i].output_shape[-1] > 1]
        return {"layer": rng.choice(layers)} if layers else None

    def text(spec, facts, claim):
        layer = claim["layer"]
        activation = spec.layers[layer].get("activation")
        return (f"For every input, the layer {_code(spec, layer)} (layer {layer + 1}, {activation} "
                f"activation) {phrase}.")

    return Kind(name, misconception, propose, text, decide)


# --- layer arguments and defaults ------------------------------------------------------------

def _propose_pooling(oracle, spec, facts, rng, want):
    pooling = sorted({spec.layers[i].class_name for i in _layers(spec, POOLING)})
    if not pooling:
        return None
    return {"class_name": rng.choice(pooling), "activation": None if want else "relu"}


def _phrase_pooling(spec, facts, claim):
    name = claim["class_name"]
    if claim["activation"] is None:
        return f"{name} layers take no activation function: Keras rejects an `activation` argument."
    return (f"The default activation function in {name} layers is "
            f"{ {'relu': 'ReLU'}.get(claim['activation'], claim['activation'])}"
            ", which is why the code doesn't explicitly use it.")


def _decide_pooling(oracle, spec, facts, claim):
    accepted = oracle.accepts_argument(claim["class_name"], "activation", "relu")
    evidence = (f"Creating `layers.{claim['class_name']}(activation=\"relu\")` "
                + ("succeeds." if accepted else "raises an error: pooling takes the maximum or "
                   "the mean of each window and applies no activation."))
    if claim["activation"] is None:
        return not accepted, evidence
    return accepted and oracle.default_argument(claim["class_name"], "activation") == \
        claim["activation"], evidence


def _propose_default(oracle, spec, facts, rng, want):
    present = sorted({spec.layers[i].class_name for i in _layers(spec, WEIGHTED)})
    if not present:
        return None
    name = rng.choice(present)
    actual = oracle.default_argument(name, "activation")
    return {"class_name": name, "activation": actual if want else "relu"}


def _phrase_default(spec, facts, claim):
    what = ("no activation function (linear: $a(x) = x$)" if claim["activation"] == "linear"
            else f"the {claim['activation']} activation function")
    return f"A {claim['class_name']} layer created without an `activation` argument applies {what}."


def _decide_default(oracle, spec, facts, claim):
    actual = oracle.default_argument(claim["class_name"], "activation")
    return actual == claim["activation"], (
        f"`layers.{claim['class_name']}(...).get_config()[\"activation\"]` is \"{actual}\" when "
        "no activation is given.")


# --- Dropout ---------------------------------------------------------------------------------

def _dropout_before_layer(spec: ModelSpec) -> list[int]:
    return [i for i in _layers(spec, ("Dropout",)) if i + 1 < len(spec.layers)]


def _propose_dropout(oracle, spec, facts, rng, want):
    candidates = _dropout_before_layer(spec)
    if not candidates:
        return None
    layer = rng.choice(candidates)
    if want:
        return {"layer": layer, "unchanged": True}
    features = math.prod(facts.layers[layer].input_shape[1:])
    rate = spec.layers[layer].get("rate")
    return {"layer": layer, "before": features, "after": round(features * (1 - rate))}


def _phrase_dropout(spec, facts, claim):
    layer = claim["layer"]
    following = "the output layer" if layer + 2 == len(spec.layers) else \
        f"layer {layer + 2} ({_code(spec, layer + 1)})"
    if claim.get("unchanged"):
        return (f"Removing the Dropout layer right before {following} would leave the number of "
                "learnable parameters unchanged.")
    return (f"The Dropout right before {following} will cut down the number of learnable "
            f"parameters from {claim['before']:,} to {claim['after']:,}.")


def _decide_dropout(oracle, spec, facts, claim):
    without = oracle.facts(spec.without_layers({claim["layer"]})).total_params
    change = without - facts.total_params
    evidence = (f"Keras counts {facts.total_params:,} parameters with the Dropout layer and "
                f"{without:,} without it: Dropout has no weights; during training it sets a "
                f"random {spec.layers[claim['layer']].get('rate'):.0%} of its inputs to 0.")
    if claim.get("unchanged"):
        return change == 0, evidence
    return change == claim["before"] - claim["after"], evidence


def _propose_dropout_shape(oracle, spec, facts, rng, want):
    candidates = _layers(spec, ("Dropout",))
    if not candidates:
        return None
    layer = rng.choice(candidates)
    shape = list(facts.layers[layer].input_shape)
    if not want:
        shape[-1] = round(shape[-1] * (1 - spec.layers[layer].get("rate")))
    return {"layer": layer, "shape": shape}


def _phrase_dropout_shape(spec, facts, claim):
    return (f"Layer {claim['layer'] + 1}, {_code(spec, claim['layer'])}, outputs a tensor of "
            f"shape {format_answer(tuple(claim['shape']))}.")


def _decide_dropout_shape(oracle, spec, facts, claim):
    known = facts.layers[claim["layer"]]
    return list(known.output_shape) == claim["shape"], (
        f"Keras gives it the output shape {format_answer(known.output_shape)}, the shape of its "
        "input: Dropout zeroes values during training but removes none.")


# --- kernel and pool sizes -------------------------------------------------------------------

def _sizes(spec: ModelSpec) -> tuple[set, set]:
    kernels = {window(spec.layers[i])[0] for i in _layers(spec, ("Conv2D",))}
    pools = {window(spec.layers[i])[0] for i in _layers(spec, POOLING)}
    return kernels, pools


def _propose_match(oracle, spec, facts, rng, want):
    kernels, pools = _sizes(spec)
    if not kernels or not pools or kernels == pools:
        return None
    return {"must_match": not want}


def _phrase_match(spec, facts, claim):
    if claim["must_match"]:
        return ("The kernel and pool size should have the same value. The model will likely fail "
                "to learn anything meaningful.")
    return "The kernel size of the convolutions and the pool size need not be the same."


def _decide_match(oracle, spec, facts, claim):
    low, high, _ = oracle.probe_outputs(spec, len(spec.layers) - 1)
    runs = math.isfinite(low) and math.isfinite(high)
    return runs != claim["must_match"], (
        "The kernel size and the pool size are independent choices: this model, whose sizes "
        f"differ, builds and {'runs' if runs else 'fails'} (Keras computes "
        f"{facts.total_params:,} parameters and finite outputs).")


# --- numbers from the summary ----------------------------------------------------------------

def _claimed(answer: Answer) -> int:
    """The number a claim states of a fact: a count, or the values per example of a shape."""
    return math.prod(answer[1:]) if isinstance(answer, tuple) else answer


def _number_kind(name: str, fact: str, classes: tuple[str, ...], template: str, noun: str) -> Kind:
    """A claim that a layer's `fact` has a value: true with Keras' value, false with an executed
    misconception's (the label of that misconception is the statement's)."""

    def propose(oracle, spec, facts, rng, want):
        layers = _layers(spec, classes)
        if not layers:
            return None
        layer = rng.choice(layers)
        actual = _claimed(read_fact(facts, FactRef(fact, layer)))
        if want:
            return {"layer": layer, "value": actual}
        try:
            wrong = model_facts.wrong_answers(spec, FactRef(fact, layer), facts, oracle, rng, 3)
        except QuestionError:
            return None
        answer, label = next(((v, label) for v, label in wrong if _claimed(v) != actual), (None, None))
        return None if answer is None else {"layer": layer, "value": _claimed(answer), "mistake": label}

    def phrase(spec, facts, claim):
        return template.format(layer=claim["layer"] + 1, code=_code(spec, claim["layer"]),
                               value=count_of(claim["value"], noun))

    def decide(oracle, spec, facts, claim):
        actual = _claimed(read_fact(facts, FactRef(fact, claim["layer"])))
        return actual == claim["value"], f"Keras reports {format_answer(actual)}."

    return Kind(name, "", propose, phrase, decide, fact)


KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("output_task", "output_task_confused", _propose_task, _phrase_task, _decide_task),
    _range_kind("outputs_sum_to_one", "outputs values that sum to 1", lambda lo, hi, dev: dev < EPSILON,
                "probabilities_sum_confused"),
    _range_kind("non_negative", "never outputs a negative value", lambda lo, hi, dev: lo >= 0,
                "activation_range_confused"),
    _range_kind("unit_interval", "outputs values between 0 and 1",
                lambda lo, hi, dev: 0 <= lo and hi <= 1, "activation_range_confused"),
    Kind("pooling_activation", "pooling_has_activation", _propose_pooling, _phrase_pooling,
         _decide_pooling),
    Kind("default_activation", "default_activation_confused", _propose_default, _phrase_default,
         _decide_default),
    Kind("dropout_params", "dropout_removes_params", _propose_dropout, _phrase_dropout,
         _decide_dropout),
    Kind("dropout_shape", "dropout_removes_units", _propose_dropout_shape, _phrase_dropout_shape,
         _decide_dropout_shape),
    Kind("kernel_pool_match", "kernel_pool_must_match", _propose_match, _phrase_match,
         _decide_match),
    _number_kind("flatten_size", "output_shape", ("Flatten",),
                 "The Flatten layer (layer {layer}) outputs {value} per example.", "value"),
    _number_kind("layer_params", "params", WEIGHTED, "Layer {layer}, {code}, has {value}.",
                 "parameter"),
)}


def decide(oracle: Oracle, spec: ModelSpec, facts: ModelFacts, kind: str,
           claim: Claim) -> tuple[bool, str]:
    """Decide a recorded statement again: `(truth, evidence)`.

    Raises:
        QuestionError: unknown kind, or a claim that does not fit the model.
    """
    if kind not in KINDS:
        raise QuestionError(f"unknown statement kind {kind!r}")
    try:
        return KINDS[kind].decide(oracle, spec, facts, claim)
    except (KeyError, IndexError, TypeError) as error:
        raise QuestionError(f"statement {kind}: claim {claim} does not fit the model") from error


def make_statement(oracle: Oracle, spec: ModelSpec, facts: ModelFacts, kind: str,
                   claim: Claim) -> Statement:
    """Phrase and decide one claim."""
    truth, evidence = decide(oracle, spec, facts, kind, claim)
    label = None if truth else (claim.get("mistake") or KINDS[kind].misconception)
    return Statement(kind, tuple(claim.items()), KINDS[kind].phrase(spec, facts, claim), truth,
                     label, evidence)


def choose_statements(oracle: Oracle, spec: ModelSpec, facts: ModelFacts, rng: random.Random,
                      count: int, true: int, fixed: list[tuple[str, Claim | None]] | None = None,
                      kinds: tuple[str, ...] | None = None) -> list[Statement]:
    """`count` statements of distinct kinds about `spec`, `true` of them true (so that every
    variant's question scores alike), in random order, of `kinds` (default: all); or the
    `fixed` `(kind, claim)` list of a classic (a claim of None is proposed, wanted true).
    Truth comes from `decide` only.

    Raises:
        QuestionError: the model does not offer enough kinds of statement.
    """
    if fixed is not None:
        return [make_statement(oracle, spec, facts, kind,
                               claim or KINDS[kind].propose(oracle, spec, facts, rng, True))
                for kind, claim in fixed]
    wants = [True] * true + [False] * (count - true)
    rng.shuffle(wants)
    kinds = list(kinds or KINDS)
    rng.shuffle(kinds)
    chosen: list[Statement] = []
    for want in wants:
        while kinds:
            kind = kinds.pop()
            claim = KINDS[kind].propose(oracle, spec, facts, rng, want)
            if claim is not None:
                statement = make_statement(oracle, spec, facts, kind, claim)
                if statement.true == want:
                    chosen.append(statement)
                    break
    if len(chosen) < count:
        raise QuestionError(f"the model offers only {len(chosen)} kinds of statement; need {count}")
    return chosen


# --- making, proving and re-deriving a question ---------------------------------------------

#: What believing each false statement shows (the feedback a student gets); a false number
#: claim carries the model-fact misconception that produced its number.
DESCRIPTIONS = model_facts.DESCRIPTIONS | {
    "output_task_confused": "misread what the output layer implies: softmax over several units "
                            "means multi-class, one sigmoid unit binary classification",
    "probabilities_sum_confused": "thought a layer's outputs sum to 1 whatever its activation; "
                                  "only softmax makes them a probability distribution",
    "activation_range_confused": "mixed up the output ranges of activation functions (ReLU ≥ 0, "
                                 "sigmoid in (0, 1), tanh in (-1, 1), linear unbounded)",
    "pooling_has_activation": "thought pooling layers apply an activation function",
    "default_activation_confused": "thought Dense and Conv2D apply ReLU by default; without an "
                                   "activation argument they are linear",
    "dropout_removes_params": "thought Dropout removes parameters; it only zeroes activations "
                              "during training",
    "dropout_removes_units": "thought Dropout removes units from the output; it keeps the shape",
    "kernel_pool_must_match": "thought the kernel size and the pool size must be equal",
}


def make(subject: Subject, rng: random.Random) -> Question:
    """"Which statements are correct?": a multiple-choice question whose answer is the tuple
    of the true statements' option numbers (1-based), each decided by execution.

    Raises:
        QuestionError: the model does not offer enough kinds of statement, is functional
            (statements are decided along a chain of layers) or too large to execute
            (`MAX_EXECUTED_VALUES`).
    """
    if subject.spec.inbound is not None:
        raise QuestionError("statements are decided on Sequential models (a chain of layers); "
                            "this model is functional")
    values = sum(math.prod(size for size in layer.output_shape if size is not None)
                 for layer in subject.facts.layers)
    if values > MAX_EXECUTED_VALUES:
        raise QuestionError(f"its layers output {values:,} values per example, too many to "
                            f"decide statements by execution (at most {MAX_EXECUTED_VALUES:,})")
    ask = subject.ask
    fixed = None if ask.statements is None else [
        (kind, None if claim is None else claim.to_dict()) for kind, claim in ask.statements]
    chosen = choose_statements(subject.oracle, subject.spec, subject.facts, rng, ask.count,
                                ask.true_statements, fixed, ask.kinds)
    choices = tuple(Choice(s.text, None, s.true, s.misconception, s.record()) for s in chosen)
    answer = tuple(number for number, s in enumerate(chosen, 1) if s.true)
    reasons = "\n".join(f"{number}. **{'True' if s.true else 'False'}.** {s.reason}"
                         for number, s in enumerate(chosen, 1))
    shown = ", ".join(map(str, answer)) or "none"
    explanation = (f"Correct: {shown}. Each statement was decided by building and executing the "
                   f"model with Keras:\n\n{reasons}\n\n{mistakes(choices, DESCRIPTIONS)}").strip()
    return Question(FactRef("statements"), "multiple_choice", subject.text({}), answer, choices,
                    explanation, reading(subject, None))


def prove(subject: Subject, question: Question) -> list[str]:
    """A statements question is valid when its options are distinct, the answer lists exactly
    the options marked true, and every false statement names a known misconception."""
    texts = [choice.text for choice in question.choices]
    problems = [f"statements are not distinct: {texts}"] if len(set(texts)) != len(texts) else []
    marked = tuple(number for number, choice in enumerate(question.choices, 1) if choice.correct)
    if marked != question.answer:
        problems.append(f"options {marked} are true but the answer is {question.answer}")
    problems += [f"the false statement {choice.text!r} has no known misconception"
                 for choice in question.choices
                 if not choice.correct and choice.misconception not in DESCRIPTIONS]
    return problems


def rederive(entry: KeyEntry, oracle: Oracle) -> tuple[Any, Any]:
    """The option numbers of the entry's statements that execution decides are true now (the
    whole model built again: `Oracle.model_facts`)."""
    spec = ModelSpec.from_json(entry.model)
    facts = oracle.model_facts(spec)
    true = [number for number, choice in enumerate(entry.choices, 1) if decide(
        oracle, spec, facts, choice.statement["kind"], choice.statement["claim"])[0]]
    return true, true


def reproduce(entry: KeyEntry, oracle: Oracle) -> list[str]:
    """Each false statement's label must be its kind's misconception, or, for a number claim,
    the model-fact mistake whose number it states (executed again by a fresh oracle)."""
    spec = ModelSpec.from_json(entry.model)
    facts = oracle.facts(spec)
    problems = []
    for choice in entry.choices:
        if choice.correct or choice.statement is None:
            continue
        kind, claim = KINDS.get(choice.statement["kind"]), choice.statement["claim"]
        if kind is None:
            continue  # rederive reports the unknown kind
        if kind.fact is None:
            if choice.misconception != kind.misconception:
                problems.append(f"statement {choice.text!r}: labelled {choice.misconception!r}, "
                                f"its kind's misconception is {kind.misconception!r}")
            continue
        ref = FactRef(kind.fact, claim.get("layer"))
        given = compound_answer(model_facts.MISCONCEPTIONS, choice.misconception or "", spec, ref,
                                facts, oracle)
        if given is None or _claimed(given) != claim.get("value"):
            problems.append(f"statement {choice.text!r}: its misconception {choice.misconception!r} "
                            f"does not give {claim.get('value')!r}")
    return problems


def check_ask(ask: Ask) -> list[tuple[str, str]]:
    """Fixed statements and the kinds to draw from must be known kinds, enough for `count`
    statements; at least one statement is true and one false."""
    problems = [(f".statements[{number}].kind", f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
                for number, (kind, _) in enumerate(ask.statements or ()) if kind not in KINDS]
    problems += [(f".kinds[{number}]", f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
                 for number, kind in enumerate(ask.kinds or ()) if kind not in KINDS]
    if ask.kinds is not None and len(ask.kinds) < ask.count:
        problems.append((".kinds", f"{len(ask.kinds)} kinds for {ask.count} statements of distinct "
                                   "kinds"))
    if not 1 <= ask.true_statements < ask.count:
        problems.append((".true_count", f"{ask.true_statements} of {ask.count} statements true: "
                                        f"at least one must be true and one false"))
    return problems


FAMILY = Family(
    name="statements",
    facts=("statements",),
    misconceptions=DESCRIPTIONS,
    make=make,
    prove=prove,
    rederive=rederive,
    check_ask=check_ask,
    reproduce=reproduce,
    forms=("multiple_choice",),
)
