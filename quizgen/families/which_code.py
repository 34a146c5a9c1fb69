"""Which code: the architecture described in words (seeds/002), and the code that implements it.

A template with `code_style: prose` shows its model as a numbered description in words
(`describe`, "Convolutional input layer, 32 feature maps with a size of 3×3, a rectifier
activation function") instead of code. The `code` ask then asks which of four code listings
implements that description: the described model's code against the code of executed
misreadings of the description (`MISCONCEPTIONS`), each of which builds, in Keras, a different
model. `quizgen verify` builds every option again and compares what Keras builds.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from quizgen.errors import ArchitectureError, QuestionError
from quizgen.facts import FactRef
from quizgen.families import model_facts
from quizgen.family import (
    CHOICES,
    Choice,
    Family,
    Question,
    Subject,
    count_of,
    describe_in,
    prove_options,
    reading,
)
from quizgen.oracle import ModelFacts, Oracle
from quizgen.spec import LayerSpec, ModelSpec
from quizgen.template import fenced

if TYPE_CHECKING:
    from quizgen.key import KeyEntry

#: How an activation is named in prose (seeds/002: "a rectifier activation function").
ACTIVATION_PROSE = {"relu": "a rectifier", "sigmoid": "a sigmoid", "softmax": "a softmax",
                    "tanh": "a hyperbolic tangent", "elu": "an ELU", "linear": "a linear"}


# --- the description in words ---------------------------------------------------------------

def describe(spec: ModelSpec) -> str:
    """The architecture in words, as a Markdown numbered list in the style of seeds/002
    ("Convolutional input layer, 32 feature maps with a size of 3×3, a rectifier activation
    function"), after a sentence giving the input shape: the `prose` code style."""
    size = "×".join(str(n) for n in spec.input_shape)
    lines = [f"The input has shape {size}; the layers are:", ""]
    for index, layer in enumerate(spec.layers):
        last = index == len(spec.layers) - 1
        lines.append(f"1. {describe_layer(layer, first=index == 0, last=last)}")
    return "\n".join(lines)


def _window_words(layer: LayerSpec, argument: str) -> str:
    size = layer.get(argument, 2)
    size = (size, size) if isinstance(size, int) else size
    words = f"{size[0]}×{size[1]}"
    strides = layer.get("strides")
    if strides is not None:
        strides = (strides, strides) if isinstance(strides, int) else strides
        words += f", stride {strides[0]}×{strides[1]}"
    if layer.get("padding", "valid") == "same":
        words += ", 'same' padding"
    return words


def describe_layer(layer: LayerSpec, first: bool = False, last: bool = False) -> str:
    """One layer in words, e.g. "Max Pool layer with size 2×2" or "Fully connected output
    layer with 10 units and a softmax activation function"."""
    activation = ACTIVATION_PROSE.get(layer.get("activation", "linear"), layer.get("activation"))
    name = layer.class_name
    if name == "Conv2D":
        return (f"Convolutional {'input ' if first else ''}layer, {layer.get('filters')} feature "
                f"maps with a size of {_window_words(layer, 'kernel_size')}, {activation} "
                "activation function")
    if name in ("MaxPooling2D", "AveragePooling2D"):
        kind = "Max" if name == "MaxPooling2D" else "Average"
        return f"{kind} Pool layer with size {_window_words(layer, 'pool_size')}"
    if name == "Dropout":
        return f"Dropout set to {layer.get('rate'):.0%}"
    if name == "Dense":
        return (f"Fully connected {'output ' if last else ''}layer with "
                f"{count_of(layer.get('units'), 'unit')} and {activation} activation function")
    if name == "Flatten":
        return "Flatten layer"
    if name == "BatchNormalization":
        return "Batch normalization layer"
    return f"{name} layer ({layer.code()})"


# --- misconceptions: misreadings of the description -----------------------------------------

def _indices(spec: ModelSpec, test: Callable[[LayerSpec], bool]) -> list[int]:
    return [i for i, layer in enumerate(spec.layers) if test(layer)]


def _one_layer(test: Callable[[LayerSpec], bool], change: Callable[[LayerSpec], LayerSpec]):
    """A code mutation changing one random layer that passes `test`."""

    def mutate(spec: ModelSpec, rng: random.Random) -> ModelSpec | None:
        candidates = _indices(spec, test)
        if not candidates:
            return None
        index = rng.choice(candidates)
        return spec.replace_layer(index, change(spec.layers[index]))

    return mutate


def _drop_flatten(spec: ModelSpec, rng: random.Random) -> ModelSpec | None:
    flatten = _indices(spec, lambda layer: layer.class_name == "Flatten")
    return spec.without_layers({flatten[0]}) if flatten else None


def _dropout_moved(spec: ModelSpec, rng: random.Random) -> ModelSpec | None:
    """A Dropout swapped with the layer before it (not a Flatten: dropping values before or
    after reshaping them is the same)."""
    candidates = [i for i in _indices(spec, lambda layer: layer.class_name == "Dropout")
                  if i > 0 and spec.layers[i - 1].class_name != "Flatten"]
    if not candidates:
        return None
    index = rng.choice(candidates)
    layers = list(spec.layers)
    layers[index - 1], layers[index] = layers[index], layers[index - 1]
    return replace(spec, layers=tuple(layers))


def _all_convs_same(spec: ModelSpec, rng: random.Random) -> ModelSpec | None:
    convs = _indices(spec, lambda layer: layer.class_name == "Conv2D")
    mutated = spec
    for index in convs:
        mutated = mutated.replace_layer(index, model_facts.flip_padding(spec.layers[index]))
    return mutated if convs else None


@dataclass(frozen=True)
class CodeMisconception:
    """A misreading of an architecture described in words, as a mutation of its spec (one
    random layer where several fit; `rng` picks it)."""

    label: str
    description: str
    mutate: Callable[[ModelSpec, random.Random], ModelSpec | None]


MISCONCEPTIONS: tuple[CodeMisconception, ...] = (
    CodeMisconception("dropout_rate_inverted", "read the Dropout percentage of the description as "
                      "the fraction kept; Keras' rate is the fraction dropped",
                      _one_layer(lambda layer: layer.class_name == "Dropout" and layer.get("rate") != 0.5,
                                 lambda layer: layer.with_config(rate=round(1 - layer.get("rate"), 2)))),
    CodeMisconception("activation_misread", "translated \"rectifier\" as sigmoid instead of "
                      "ReLU", _one_layer(lambda layer: layer.get("activation") == "relu",
                                         lambda layer: layer.with_config(activation="sigmoid"))),
    CodeMisconception("pooling_swapped", "swapped max pooling and average pooling",
                      _one_layer(lambda layer: layer.class_name == "MaxPooling2D",
                                 lambda layer: replace(layer, class_name="AveragePooling2D"))),
    CodeMisconception("same_padding_assumed", "assumed convolutions keep the size ('same' "
                      "padding); Keras' default is 'valid'", _all_convs_same),
    CodeMisconception("flatten_forgotten", "left out the Flatten layer", _drop_flatten),
    CodeMisconception("layers_reordered", "put a Dropout layer before the layer it follows",
                      _dropout_moved),
)

#: Every label of this family and what it means (the feedback a student gets).
DESCRIPTIONS = {m.label: m.description for m in MISCONCEPTIONS}


def misreadings(oracle: Oracle, spec: ModelSpec, rng: random.Random,
                count: int = 3) -> list[tuple[ModelSpec, str]]:
    """`count` models that misread the description of `spec`, with their labels: each builds
    in Keras, differs from `spec` in some layer's configuration (as Keras reports it) and
    computes another function (an argument that changes nothing is no misreading: see
    `Oracle.same_function`). Misreadings are tried in random order until `count` are found.

    Raises:
        QuestionError: fewer than `count` misreadings give distinct, buildable models.
    """
    target = oracle.layer_configs(spec)
    found: dict[tuple, tuple[ModelSpec, str]] = {}
    for misconception in rng.sample(MISCONCEPTIONS, len(MISCONCEPTIONS)):
        if len(found) == count:
            break
        mutated = misconception.mutate(spec, rng)
        if mutated is None:
            continue
        try:
            oracle.facts(mutated)  # it builds in Keras
            configs = oracle.layer_configs(mutated)
        except ArchitectureError:
            continue
        if configs != target and not oracle.same_function(spec, mutated):
            found.setdefault(configs, (mutated, misconception.label))
    if len(found) < count:
        raise QuestionError(f"only {len(found)} misreadings of the description build a "
                            f"different model; need {count}")
    return list(found.values())


# --- making, proving and re-deriving a question ---------------------------------------------

def _fenced(spec: ModelSpec) -> str:
    return fenced(spec.code())


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _difference(spec: ModelSpec, mutated: ModelSpec) -> str:
    """The first differing line of two models' code, e.g. "`layers.Dropout(0.75)`"."""
    ours, theirs = spec.code().splitlines(), mutated.code().splitlines()
    line = next((b for a, b in zip(ours, theirs, strict=False) if a != b), theirs[-1])
    return f"`{line.strip().rstrip(',')}`"


def make(subject: Subject, rng: random.Random) -> Question:
    """"Which code implements this description?": the described model's code against the code
    of executed misreadings (each builds a different model in Keras).

    Raises:
        QuestionError: fewer than three misreadings build a different model, or the model is
            functional (a description reads as a chain of layers).
    """
    spec = subject.spec
    if spec.inbound is not None:
        raise QuestionError("a description in words lists a chain of layers; this model is "
                            "functional")
    wrong = misreadings(subject.oracle, spec, rng, CHOICES - 1)
    choices = (Choice(_fenced(spec), spec, True),) + tuple(
        Choice(_fenced(mutated), mutated, False, label) for mutated, label in wrong)
    lines = [f"* {describe_layer(layer, i == 0, i == len(spec.layers) - 1)}: `{layer.code()}`"
             for i, layer in enumerate(spec.layers)]
    mistakes = "\n".join(f"* {_sentence(describe_in(DESCRIPTIONS, label))}: that code differs at "
                          f"{_difference(spec, mutated)}." for mutated, label in wrong)
    explanation = ("Each line of the description is one layer:\n\n" + "\n".join(lines)
                   + f"\n\n**Common mistakes**\n\n{mistakes}")
    return Question(FactRef("code"), "single_choice", subject.text({}), _fenced(spec), choices,
                    explanation, reading(subject, None))


def _implements(oracle: Oracle, described: ModelSpec, option: ModelSpec,
                built: Callable[[ModelSpec], ModelFacts]) -> bool:
    """Whether the code of `option` implements the described model: it builds (`built`:
    `Oracle.facts` when generating, `Oracle.model_facts`, the whole model, when verifying),
    and has the same layer configurations (as Keras reports them) or computes the same
    function.

    Raises:
        ArchitectureError: Keras cannot build the option's model.
    """
    built(option)
    return (oracle.layer_configs(option) == oracle.layer_configs(described)
            or oracle.same_function(described, option))


def _judge(oracle: Oracle, described: ModelSpec, options: list[tuple[str, ModelSpec, bool]],
           built: Callable[[ModelSpec], ModelFacts]) -> list[str]:
    """Why options `(text, model, marked correct)` do not leave exactly the correct one
    implementing the described model (`_implements`, each option `built`)."""
    problems = []
    for text, option, correct in options:
        try:
            same = _implements(oracle, described, option, built)
        except ArchitectureError as error:
            problems.append(f"option {text!r} does not build in Keras: {error}")
            continue
        if same != correct:
            problems.append(f"option {text!r} builds {'the described' if same else 'another'} model")
    return problems


def prove(subject: Subject, question: Question) -> list[str]:
    """A code question is valid when its options are distinct and exactly its correct option
    implements the described model (`_implements`)."""
    return prove_options(question) + _judge(subject.oracle, subject.spec, [
        (choice.text, choice.value, choice.correct) for choice in question.choices],
        subject.oracle.facts)


def rederive(entry: KeyEntry, oracle: Oracle) -> tuple[Any, Any]:
    """For a code entry: the correct option's text when exactly it implements the described
    model and every option builds (as a whole `keras.Sequential`); else a message saying
    which option fails."""
    problems = _judge(oracle, ModelSpec.from_json(entry.model), [
        (choice.text, ModelSpec.from_json(choice.value), choice.correct) for choice in entry.choices],
        oracle.model_facts)
    if problems:
        return "; ".join(problems), None
    correct = [c for c in entry.choices if c.correct]
    answer = correct[0].text if len(correct) == 1 else None
    return answer, answer


class _Each:
    """A stand-in for `random.Random` whose `choice` takes the `index`-th candidate (wrapping
    around): trying every index applies a misreading to each layer it can change."""

    def __init__(self, index: int) -> None:
        self.index = index

    def choice(self, candidates: list[Any]) -> Any:
        return candidates[self.index % len(candidates)]


def reproduce(entry: KeyEntry, oracle: Oracle) -> list[str]:
    """Each distractor's misreading, applied again to the described model (at each layer it
    can change), must build that distractor's model."""
    described = ModelSpec.from_json(entry.model)
    by_label = {m.label: m for m in MISCONCEPTIONS}
    problems = []
    for choice in entry.choices:
        if choice.correct:
            continue
        misconception = by_label.get(choice.misconception or "")
        target = oracle.layer_configs(ModelSpec.from_json(choice.value))
        made = [] if misconception is None else [
            misconception.mutate(described, _Each(index)) for index in range(len(described.layers))]
        if not any(model is not None and oracle.layer_configs(model) == target for model in made):
            problems.append(f"distractor {choice.text!r}: the misreading {choice.misconception!r} "
                            "does not give its code")
    return problems


FAMILY = Family(
    name="which_code",
    facts=("code",),
    misconceptions=DESCRIPTIONS,
    make=make,
    prove=prove,
    rederive=rederive,
    reproduce=reproduce,
    option_values=False,
    code_styles={"prose": describe},
    forms=("single_choice",),
)
