"""What a family of questions is, and what every family shares.

A *family* (`Family`, one module of `quizgen.families` each) is one kind of question: the facts
it asks, its misconceptions, how it makes a question about a subject (`make`), the proof that a
question it made is valid for its instance (`prove`), and how `quizgen verify` re-derives an
answer key entry of its kind (`rederive`). A family returns `Question`s made of `Choice`s; the
pipeline stages (`quizgen.questions`, `quizgen.verify`, `quizgen.bank`) ask the registry in
`quizgen.families` which family handles an ask or an entry, and know no family by name.

The helpers below are what families share: picking the asked layer, the variables of a
question text, the "Common mistakes" list and the recommended reading.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from quizgen.errors import QuestionError
from quizgen.facts import Answer, FactRef, format_answer, same_response
from quizgen.oracle import ModelFacts, Oracle
from quizgen.spec import ModelSpec, Task
from quizgen.template import Ask, Template, render_text

if TYPE_CHECKING:  # the key is made of what families make
    from quizgen.key import KeyEntry

#: Options of a single-choice question: the answer and three distractors.
CHOICES = 4

#: Keras API pages, the recommended reading for a question about a layer of that class.
KERAS_DOCS = {
    "ZeroPadding2D": ("Keras API: ZeroPadding2D layer",
                      "https://keras.io/api/layers/reshaping_layers/zero_padding2d/"),
    "Cropping2D": ("Keras API: Cropping2D layer",
                   "https://keras.io/api/layers/reshaping_layers/cropping2d/"),
    "UpSampling2D": ("Keras API: UpSampling2D layer",
                     "https://keras.io/api/layers/reshaping_layers/up_sampling2d/"),
    "LayerNormalization": ("Keras API: LayerNormalization layer",
                           "https://keras.io/api/layers/normalization_layers/layer_normalization/"),
    "Add": ("Keras API: Add layer", "https://keras.io/api/layers/merging_layers/add/"),
    "Conv3D": ("Keras API: Conv3D layer",
               "https://keras.io/api/layers/convolution_layers/convolution3d/"),
    "MultiHeadAttention": ("Keras API: MultiHeadAttention layer",
                           "https://keras.io/api/layers/attention_layers/multi_head_attention/"),
    "Concatenate": ("Keras API: Concatenate layer",
                    "https://keras.io/api/layers/merging_layers/concatenate/"),
    "Conv2D": ("Keras API: Conv2D layer",
               "https://keras.io/api/layers/convolution_layers/convolution2d/"),
    "MaxPooling2D": ("Keras API: MaxPooling2D layer",
                     "https://keras.io/api/layers/pooling_layers/max_pooling2d/"),
    "AveragePooling2D": ("Keras API: AveragePooling2D layer",
                         "https://keras.io/api/layers/pooling_layers/average_pooling2d/"),
    "Dense": ("Keras API: Dense layer", "https://keras.io/api/layers/core_layers/dense/"),
    "Flatten": ("Keras API: Flatten layer",
                "https://keras.io/api/layers/reshaping_layers/flatten/"),
    "Dropout": ("Keras API: Dropout layer",
                "https://keras.io/api/layers/regularization_layers/dropout/"),
    "BatchNormalization": ("Keras API: BatchNormalization layer",
                           "https://keras.io/api/layers/normalization_layers/batch_normalization/"),
    "Conv1D": ("Keras API: Conv1D layer",
               "https://keras.io/api/layers/convolution_layers/convolution1d/"),
    "Conv2DTranspose": ("Keras API: Conv2DTranspose layer",
                        "https://keras.io/api/layers/convolution_layers/convolution2d_transpose/"),
    "SeparableConv2D": ("Keras API: SeparableConv2D layer",
                        "https://keras.io/api/layers/convolution_layers/separable_convolution2d/"),
    "DepthwiseConv2D": ("Keras API: DepthwiseConv2D layer",
                        "https://keras.io/api/layers/convolution_layers/depthwise_convolution2d/"),
    "GlobalAveragePooling1D": ("Keras API: GlobalAveragePooling1D layer",
                               "https://keras.io/api/layers/pooling_layers/global_average_pooling1d/"),
    "GlobalAveragePooling2D": ("Keras API: GlobalAveragePooling2D layer",
                               "https://keras.io/api/layers/pooling_layers/global_average_pooling2d/"),
    "Embedding": ("Keras API: Embedding layer", "https://keras.io/api/layers/core_layers/embedding/"),
    "SimpleRNN": ("Keras API: SimpleRNN layer",
                  "https://keras.io/api/layers/recurrent_layers/simple_rnn/"),
    "LSTM": ("Keras API: LSTM layer", "https://keras.io/api/layers/recurrent_layers/lstm/"),
    "GRU": ("Keras API: GRU layer", "https://keras.io/api/layers/recurrent_layers/gru/"),
    "Bidirectional": ("Keras API: Bidirectional layer",
                      "https://keras.io/api/layers/recurrent_layers/bidirectional/"),
}
MODEL_DOCS = ("Keras guide: The Sequential model", "https://keras.io/guides/sequential_model/")
FUNCTIONAL_DOCS = ("Keras guide: The Functional API", "https://keras.io/guides/functional_api/")


@dataclass(frozen=True)
class Choice:
    """One option of a choice question: its printed `text`, its `value` (an answer, a model or
    a formula), whether it is `correct`, the `misconception` label of a distractor, and for a
    statement the `{"kind", "claim"}` record it is decided from."""

    text: str
    value: Answer | ModelSpec | str | None
    correct: bool
    misconception: str | None = None
    statement: dict[str, Any] | None = None


@dataclass(frozen=True)
class Question:
    """One question about an item's model. `kind` is `single_choice`, `multiple_choice`,
    `numeric`, `shape` or `matrix`; `answer` is an int (counts), a shape tuple (batch axis
    `None`), a matrix, the option numbers of the true statements, or the correct option's text."""

    ref: FactRef
    kind: str
    text: str
    answer: Answer
    choices: tuple[Choice, ...]
    explanation: str
    reading: tuple[tuple[str, str], ...]

    @property
    def answer_text(self) -> str:
        """The answer as printed; for multiple choice the true options' numbers, `1, 3`."""
        if self.kind == "multiple_choice":
            return ", ".join(map(str, self.answer)) or "none"
        return format_answer(self.answer)

    def with_correct_at(self, position: int) -> Question:
        """The same single-choice question with the correct choice moved to `position`
        (0-based); other kinds are returned unchanged."""
        if self.kind != "single_choice":
            return self
        wrong = [choice for choice in self.choices if not choice.correct]
        correct = next(choice for choice in self.choices if choice.correct)
        return replace(self, choices=tuple(wrong[:position] + [correct] + wrong[position:]))


@dataclass(frozen=True)
class Subject:
    """What one ask is about: ask number `index` of `template`, its model `spec` and Keras'
    `facts` of it (or a by-hand `task` and its one-layer model), the `oracle` that answers
    for Keras, extra variables of the ask's text (`context`), and the answers of the item's
    other questions, which no distractor may be (`avoid`: an option must not give one away)."""

    template: Template
    index: int
    spec: ModelSpec
    facts: ModelFacts
    task: Task | None
    oracle: Oracle
    context: Mapping[str, Any] = field(default_factory=dict)
    avoid: frozenset = frozenset()

    @property
    def ask(self) -> Ask:
        """The ask this subject answers."""
        return self.template.asks[self.index]

    def text(self, variables: Mapping[str, Any]) -> str:
        """The ask's text rendered with `variables` and `context`.

        Raises:
            TemplateError: the text uses an undefined variable (names file and field).
        """
        return render_text(self.ask.text, dict(variables) | dict(self.context),
                           f"{self.template.path.name}: asks[{self.index}].text")


@dataclass(frozen=True)
class Family:
    """One kind of question.

    - `facts`: the `fact`s of the asks it makes questions of; `check_ask(ask)` lists the
      problems of an ask of a template as `(field, message)`, the field relative to the ask
      (`""` for the ask itself, `".statements[0].kind"`);
    - `misconceptions`: every label its distractors carry → the feedback a student gets;
    - `make(subject, rng)`: the question (correct choice first), or `QuestionError` when the
      subject cannot carry it (the item is redrawn);
    - `prove(subject, question)`: why the question is not a valid item for its instance (empty
      when it is);
    - `rederive(entry, oracle)`: for `quizgen verify`, `(Keras' answer now, the answer by an
      independent path)` of a key entry (`quizgen.key.KeyEntry`, answers as JSON), or a
      message saying what is wrong;
    - `reproduce(entry, oracle)`: for `quizgen verify`, the problems of the misconception
      labels of a key entry's distractors: each label's mistake executed again must give its
      distractor, and no more common mistake may give it too;
    - `option_values`: whether each option's `value` is an answer that `verify` compares with
      Keras' (False where `rederive` judges the options itself: code, formulas);
    - `forms`: the response forms its questions take (`single_choice`, `multiple_choice`,
      `free`), or None where the ask's `response` says (`model_facts.value_question`);
    - `asks_together`: whether the asks of a template whose stem it provides must be asked
      together (the blanks of one summary table: one alone is given away by the other cells);
    - `shows`: the facts of every layer that the stem it provides prints (a summary table's
      output shapes and parameter counts): on a fixed model, no question about one of its
      layers goes beside it (`quizgen.blueprint.Candidate.covers`: they give away what
      follows from them too);
    - `samplers`, `code_styles` and `stem_variables`: what it adds to the pipeline — subjects
      to draw (`sampler:` in a template), ways to show a model (`code_style:`; printed after
      the stem in place of code), and variables of a template's stem, made from its subject
      and questions (`{{ summary }}`, `{{ set_weights }}`); a template whose stem uses one has
      its asks made by the family that provides it.
    """

    name: str
    facts: tuple[str, ...]
    misconceptions: Mapping[str, str]
    make: Callable[[Subject, random.Random], Question]
    prove: Callable[[Subject, Question], list[str]]
    rederive: Callable[[KeyEntry, Oracle], tuple[Any, Any]]
    check_ask: Callable[[Ask], list[tuple[str, str]]] = lambda ask: []
    reproduce: Callable[[KeyEntry, Oracle], list[str]] = lambda entry, oracle: []
    option_values: bool = True
    forms: tuple[str, ...] | None = None
    asks_together: bool = False
    shows: tuple[str, ...] = ()
    samplers: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    code_styles: Mapping[str, Callable[[ModelSpec], str]] = field(default_factory=dict)
    stem_variables: Mapping[str, Callable[[Subject, tuple[Question, ...]], str]] = \
        field(default_factory=dict)


def count_of(number: int, noun: str) -> str:
    """`1 unit`, `3 units`, `1,600 values`: a count with its noun in agreement (English
    plurals by -s, which is all the nouns of questions need)."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def describe_in(table: Mapping[str, str], label: str) -> str:
    """The feedback of a misconception `label` in `table`; a compound label (`a+b`, two
    mistakes made together) joins its parts' descriptions with '; also, ' (a description may
    say what Keras does, so 'and' would seem to make it Keras' mistake).

    Raises:
        KeyError: a part of the label is not in `table`.
    """
    return "; also, ".join(table[part] for part in label.split("+"))


def resolve_layer(ask: Ask, spec: ModelSpec, rng: random.Random) -> int | None:
    """The index (into `model.layers`) an ask is about, or None for whole-model facts.

    Raises:
        QuestionError: the index is out of range or no layer matches the filter.
    """
    matches = selectable_layers(ask, spec)
    if ask.picks_at_random:
        return rng.choice(matches)
    return matches[0]


def selectable_layers(ask: Ask, spec: ModelSpec) -> tuple[int | None, ...]:
    """Every index (into `model.layers`) `resolve_layer` may return for `ask` on `spec`:
    the one its index names, the layers its class filter matches (only the first or last
    with `pick`), or `(None,)` for a whole-model fact.

    Raises:
        QuestionError: the index is out of range or no layer matches the filter.
    """
    if ask.layer is None:
        return (None,)
    count = len(spec.layers)
    if isinstance(ask.layer, int):
        if not -count <= ask.layer < count:
            raise QuestionError(f"layer {ask.layer} out of range: the model has {count} layers")
        return (ask.layer % count,)
    classes, pick = ask.layer
    matches = tuple(i for i, layer in enumerate(spec.layers) if layer.class_name in classes)
    if not matches:
        raise QuestionError(f"the model has no {' or '.join(classes)} layer")
    return {"first": matches[:1], "last": matches[-1:]}.get(pick, matches)


def layer_variables(subject: Subject, index: int | None) -> dict[str, Any]:
    """The `layer` variable of a question text about layer `index`: its `number` (1-based),
    `index`, `name`, `class_name` and `code`; nothing for whole-model facts."""
    if index is None:
        return {}
    layer = subject.spec.layers[index]
    return {"layer": {"number": index + 1, "index": index, "name": subject.facts.layers[index].name,
                      "class_name": layer.class_name, "code": layer.code()}}


def mistakes(choices: tuple[Choice, ...], misconceptions: Mapping[str, str]) -> str:
    """The "Common mistakes" paragraph of an explanation: each distractor and the mistake
    that gives it (empty without distractors)."""
    lines = [f"* {choice.text if choice.statement is None else 'Believing “' + choice.text + '”'}"
             f": {describe_in(misconceptions, choice.misconception)}."
             for choice in choices if choice.misconception]
    return "**Common mistakes**\n\n" + "\n".join(lines) if lines else ""


def reading(subject: Subject, layer: int | None) -> tuple[tuple[str, str], ...]:
    """The template's recommended reading, then the Keras page of the asked layer's class
    (the Sequential model guide for whole-model facts; the functional API's for a functional
    model)."""
    whole = MODEL_DOCS if subject.spec.inbound is None else FUNCTIONAL_DOCS
    extra = KERAS_DOCS.get(subject.spec.layers[layer].class_name) if layer is not None else whole
    items = list(subject.template.reading)
    if extra and extra not in items:
        items.append(extra)
    return tuple(items)


def prove_options(question: Question) -> list[str]:
    """What makes a single-choice question's options invalid whatever they are: texts not
    distinct, or not exactly one option correct."""
    problems = []
    texts = [choice.text for choice in question.choices]
    if len(set(texts)) != len(texts):
        problems.append(f"options are not distinct: {texts}")
    correct = [choice for choice in question.choices if choice.correct]
    if len(correct) != 1:
        problems.append(f"{len(correct)} options are correct, expected 1")
    return problems


def prove_choices(question: Question, misconceptions: Mapping[str, str]) -> list[str]:
    """What makes the options of a single-choice question about a value invalid:
    `prove_options`, a correct option whose value is not the answer, a distractor equal to the
    answer, or a distractor without a known misconception."""
    problems = prove_options(question)
    for choice in question.choices:
        if choice.correct and choice.value != question.answer and choice.text != question.answer:
            problems.append(f"the correct option {choice.text!r} is not the answer")
        if not choice.correct:
            if same_response(choice.value, question.answer):
                problems.append(f"the distractor {choice.text!r} is the answer")
            try:
                describe_in(misconceptions, choice.misconception or "")
            except KeyError:
                problems.append(f"the distractor {choice.text!r} has no known misconception")
    return problems
