"""Question logic: a template, a sampled model and Keras' facts become question instances.

`make_item(template, seed)` samples (or takes) the template's model, executes it with the oracle,
and asks each of the template's `asks` about it: the answer is read from Keras' facts, the
distractors come from executed misconceptions, and the worked explanation from the closed forms.
A sampled model that cannot carry the questions (no layer of the asked kind, too few distinct
distractors) is redrawn from a derived seed; a fixed (classic) model is an error instead.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import jinja2
import sympy as sp

from quizgen import distractors, formulas, oracle
from quizgen.bank import TEMPLATE_ENV, Ask, Template
from quizgen.errors import ArchitectureError, QuestionError, TemplateError
from quizgen.facts import TASK_FACTS, Answer, FactRef, format_answer, read_fact
from quizgen.oracle import ModelFacts
from quizgen.sample import sample
from quizgen.spec import ModelSpec, Task, describe_layer
from quizgen.statements import choose_statements

#: How many times a sampled template is redrawn before giving up.
MAX_DRAWS = 25
CHOICES = 4

#: Keras API pages, the recommended reading for a question about a layer of that class.
KERAS_DOCS = {
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
}
MODEL_DOCS = ("Keras guide: The Sequential model", "https://keras.io/guides/sequential_model/")


def derive_seed(*parts: Any) -> int:
    """A child seed from a parent seed and labels (the exam → variant → question hierarchy);
    stable across runs and platforms (SHA-256, not Python's salted `hash`)."""
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).hexdigest()
    return int(digest[:15], 16)


@dataclass(frozen=True)
class Choice:
    """One option of a choice question; `misconception` labels a distractor."""

    text: str
    value: Answer | ModelSpec | None
    correct: bool
    misconception: str | None = None
    statement: dict[str, Any] | None = None


@dataclass(frozen=True)
class Question:
    """One question about an item's model. `kind` is `single_choice`, `numeric` or `shape`;
    `answer` is an int (counts) or a shape tuple (batch axis `None`)."""

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
class Item:
    """One template instance: a model (or a by-hand `task` and its one-layer model), its code,
    and the questions asked about it."""

    template: Template
    seed: int
    spec: ModelSpec
    facts: ModelFacts
    stem: str
    code: str
    questions: tuple[Question, ...]
    task: Task | None = None


def resolve_layer(ask: Ask, spec: ModelSpec, rng: random.Random) -> int | None:
    """The index (into `model.layers`) an ask is about, or None for whole-model facts.

    Raises:
        QuestionError: the index is out of range or no layer matches the filter.
    """
    if ask.layer is None:
        return None
    count = len(spec.layers)
    if isinstance(ask.layer, int):
        if not -count <= ask.layer < count:
            raise QuestionError(f"layer {ask.layer} out of range: the model has {count} layers")
        return ask.layer % count
    classes, pick = ask.layer
    matches = [i for i, layer in enumerate(spec.layers) if layer.class_name in classes]
    if not matches:
        raise QuestionError(f"the model has no {' or '.join(classes)} layer")
    if pick == "first":
        return matches[0]
    if pick == "last":
        return matches[-1]
    return rng.choice(matches)


def _layer_context(spec: ModelSpec, facts: ModelFacts, index: int | None) -> dict[str, Any]:
    if index is None:
        return {}
    layer = spec.layers[index]
    return {"layer": {"number": index + 1, "index": index, "name": facts.layers[index].name,
                      "class_name": layer.class_name, "code": layer.code()}}


@cache
def _compiled_text(text: str) -> jinja2.Template:
    """A template text compiled once (Jinja2's `from_string` compiles it on every call)."""
    return TEMPLATE_ENV.from_string(text)


def _render_text(text: str, context: dict[str, Any], where: str) -> str:
    try:
        return _compiled_text(text).render(**context).strip()
    except jinja2.UndefinedError as error:
        raise TemplateError(f"{where}: {error.message}") from error


def _shape_sentence(spec: ModelSpec, facts: ModelFacts, index: int) -> str:
    """Why layer `index` has its output shape, with the closed forms worked out."""
    layer, known = spec.layers[index], facts.layers[index]
    before, after = known.input_shape, known.output_shape
    intro = f"`{known.name}` receives a tensor of shape {format_answer(before)}."
    if layer.class_name in formulas.POOLING + ("Conv2D",):
        kernel, strides, padding = formulas.window(layer)
        sizes = [
            f"{axis} {formulas.size_derivation(size, k, s, padding)}"
            for axis, size, k, s in zip(("height", "width"), before[1:3], kernel, strides,
                                        strict=True)
        ]
        depth = (f"the depth is the number of filters, {after[-1]}"
                 if layer.class_name == "Conv2D" else f"pooling keeps the {after[-1]} channels")
        return (f"{intro} Its window is {kernel[0]}×{kernel[1]} with strides {strides} and "
                f"padding \"{padding}\", so each spatial size is "
                f"{' and '.join(sizes)}; {depth}.")
    if layer.class_name == "Flatten":
        product = " × ".join(str(size) for size in before[1:])
        return f"{intro} Flatten multiplies the non-batch sizes: {product} = {after[1]:,}."
    if layer.class_name in SHAPE_SENTENCES:
        return f"{intro} {SHAPE_SENTENCES[layer.class_name](layer, before, after)}"
    return f"{intro} A {layer.class_name} layer does not change the shape."


def _transposed(layer, before, after) -> str:
    (k_h, _), (s_h, _), padding = formulas.window(layer)
    rule = "W·S + max(K − S, 0)" if padding == "valid" else "W·S"
    return (f"A transposed convolution enlarges each spatial size to {rule} with padding "
            f"\"{padding}\": {before[1]}·{s_h}{' + ' + str(max(k_h - s_h, 0)) if padding == 'valid' else ''}"
            f" = {after[1]}; the depth is the number of filters, {after[-1]}.")


def _recurrent(layer, before, after) -> str:
    inner = formulas.inner_layer(layer) if layer.class_name == "Bidirectional" else layer
    sequences = inner.get("return_sequences", False)
    what = (f"one vector of {inner.get('units')} units per time step ({before[1]} steps)"
            if sequences else f"only the last time step's {inner.get('units')} units "
            "(return_sequences=False)")
    twice = (" Bidirectional concatenates the forward and backward outputs, doubling the last "
             "axis." if layer.class_name == "Bidirectional" else "")
    return f"It returns {what}.{twice}"


SHAPE_SENTENCES = {
    "Dense": lambda layer, before, after: f"Dense replaces the last axis by its {after[-1]} units.",
    "Conv2DTranspose": _transposed,
    "Conv1D": lambda layer, before, after: (
        f"Along the time axis the window of {formulas.window(layer)[0][0]} steps gives "
        f"{after[1]} positions; the depth is the number of filters, {after[-1]}."),
    "SeparableConv2D": lambda layer, before, after: (
        f"It slides its window like a Conv2D (output size {after[1]}×{after[2]}) and its "
        f"pointwise step makes {after[-1]} channels, one per filter."),
    "DepthwiseConv2D": lambda layer, before, after: (
        f"It slides its window like a Conv2D (output size {after[1]}×{after[2]}) over each input "
        f"channel separately: {before[-1]} channels × depth_multiplier "
        f"{layer.get('depth_multiplier', 1)} = {after[-1]}."),
    "GlobalAveragePooling2D": lambda layer, before, after: (
        f"It averages each of the {after[-1]} feature maps over all its positions, leaving one "
        "value per channel."),
    "GlobalAveragePooling1D": lambda layer, before, after: (
        f"It averages each of the {after[-1]} features over all time steps."),
    "Embedding": lambda layer, before, after: (
        f"It replaces each of the {before[1]} token ids by a vector of output_dim = {after[-1]} "
        "values."),
    "SimpleRNN": _recurrent, "GRU": _recurrent, "LSTM": _recurrent, "Bidirectional": _recurrent,
}


def _summary_table(facts: ModelFacts, column: str,
                   blanks: dict[tuple[str, int | None], str] | None = None) -> str:
    """A `model.summary()`-like Markdown table with one parameter column. `blanks` maps
    `(fact, layer)` cells (`output_shape` or the column, by layer; the column's total with
    layer None) to the label printed instead of the value, e.g. `(a)`."""
    blanks = blanks or {}

    def cell(fact: str, layer: int | None, value: str) -> str:
        return f"**({blanks[(fact, layer)]})**" if (fact, layer) in blanks else value

    rows = [f"| {layer.name} ({layer.class_name}) | "
            f"{cell('output_shape', i, format_answer(layer.output_shape))} | "
            f"{cell(column, i, f'{getattr(layer, column):,}')} |" for i, layer in enumerate(facts.layers)]
    title = {"params": "Param #", "trainable_params": "Trainable",
             "non_trainable_params": "Non-trainable"}[column]
    table = "\n".join(["| Layer (type) | Output Shape | " + title + " |", "|---|---|---:|", *rows])
    if not blanks:
        return table
    totals = [f"{label}: {cell(fact, None, '')}" for fact, label in (
        ("total_params", "Total params"), ("trainable_params", "Trainable params"),
        ("non_trainable_params", "Non-trainable params")) if (fact, None) in blanks]
    return "\n\n".join([table, "  \n".join(totals)]) if totals else table


def blank_label(index: int) -> str:
    """The label of the blank an ask fills in a summary table: a, b, c, ..."""
    return chr(ord("a") + index)


def summary_with_blanks(facts: ModelFacts, questions: tuple[Question, ...]) -> str:
    """The model's `model.summary()` table with the cell each question asks for blanked out
    as (a), (b), ... in ask order (seeds/001's "fill in the summary"); the totals lines asked
    for follow the table (the others are left out: they would give the blanks away)."""
    blanks = {("params" if q.ref.fact == "params" else q.ref.fact,
               q.ref.layer if q.ref.fact in ("output_shape", "params") else None): blank_label(i)
              for i, q in enumerate(questions)}
    return _summary_table(facts, "params", blanks)


def explain(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> str:
    """The worked explanation (Markdown with `$...$` math) of the answer to `ref`."""
    answer = format_answer(read_fact(facts, ref))
    if ref.fact in ("total_params", "trainable_params", "non_trainable_params"):
        column = "params" if ref.fact == "total_params" else ref.fact
        terms = " + ".join(f"{getattr(layer, column):,}" for layer in facts.layers)
        note = ("BatchNormalization's gamma and beta are trainable; its moving mean and moving "
                "variance are updated during training but not by gradient descent, so Keras counts "
                "them as non-trainable. " if ref.fact != "total_params" else "")
        return (f"Add up the parameters of every layer, as `model.summary()` does:\n\n"
                f"{_summary_table(facts, column)}\n\n{note}{terms} = {answer}.")
    layer, known = spec.layers[ref.layer], facts.layers[ref.layer]
    if ref.fact == "params":
        return (f"`{known.name}` receives {format_answer(known.input_shape)}. Its parameters: "
                f"{formulas.params_derivation(layer, known.input_shape)}.")
    if ref.fact == "weight_shape":
        layouts = {"Conv2D": "(kernel height, kernel width, input channels, filters)",
                   "Conv1D": "(kernel size, input channels, filters)",
                   "Conv2DTranspose": "(kernel height, kernel width, filters, input channels)",
                   "DepthwiseConv2D": "(kernel height, kernel width, input channels, "
                                      "depth_multiplier)",
                   "Dense": "(input features, units)",
                   "SimpleRNN": "(input features, units)", "GRU": "(input features, 3 × units)",
                   "LSTM": "(input features, 4 × units)"}
        layout = layouts.get(layer.class_name, "one value per channel")
        what = (f"A {layer.class_name} kernel has shape {layout}"
                if ref.weight == "kernel" else f"The {ref.weight} has one value per output channel")
        return (f"`{known.name}` receives {format_answer(known.input_shape)}. {what}, so "
                f"`{ref.weight}` has shape {answer} (the order `get_weights()` returns).")
    sentence = _shape_sentence(spec, facts, ref.layer)
    if ref.axis is None:
        return f"{sentence} Keras reports the output shape {answer}."
    return (f"{sentence} The output shape is {format_answer(known.output_shape)}, so its "
            f"{ref.axis} is {answer}.")


#: Windows spelled out in a worked solution; the rest are summarised.
SHOWN_WINDOWS = 4


def _window_step(task: Task, values: list[list[float | None]]) -> str:
    """One window's computation in LaTeX, e.g. `1 \\cdot 1 + 0 \\cdot 0 + 1 = 2`."""
    result = format_answer(formulas.window_value(task, values))
    real = [format_answer(v) for row in values for v in row if v is not None]
    if task.layer.class_name == "MaxPooling2D":
        return rf"\max({', '.join(real)}) = {result}"
    if task.layer.class_name == "AveragePooling2D":
        return rf"({' + '.join(real)}) / {len(real)} = {result}"
    terms = [f"{format_answer(v or 0)} \\cdot {format_answer(w)}"
             for row, weights in zip(values, task.kernel, strict=True)
             for v, w in zip(row, weights, strict=True)]
    if task.layer.get("use_bias", True):
        terms.append(f"{task.bias}")
    return " + ".join(terms).replace("+ -", "- ") + f" = {result}"


def explain_task(task: Task) -> str:
    """The worked solution of a by-hand task: output size, padding, the first windows."""
    kernel, strides, padding = formulas.window(task.layer)
    height, width = len(task.input), len(task.input[0])
    windows = formulas.task_windows(task)
    rows, columns = windows[-1][0] + 1, windows[-1][1] + 1
    sizes = " and ".join(
        f"{axis} {formulas.size_derivation(size, k, s, padding)}"
        for axis, size, k, s in zip(("height", "width"), (height, width), kernel, strides,
                                    strict=True))
    pads = [formulas.padding_amounts(n, k, s, padding)
            for n, k, s in zip((height, width), kernel, strides, strict=True)]
    padded = "" if padding == "valid" else (
        f" Padding \"same\" adds {pads[0][0]} row(s) at the top, {pads[0][1]} at the bottom, "
        f"{pads[1][0]} column(s) on the left and {pads[1][1]} on the right (Keras puts the extra "
        "one at the bottom/right)" + (", filled with zeros." if task.kernel is not None else
                                      "; padded pixels are left out of the pooling."))
    how = {"Conv2D": "multiplies each window element-wise by the kernel, without flipping it "
                     "(a cross-correlation), and adds up the products"
                     + (" and the bias" if task.layer.get("use_bias", True) else ""),
           "MaxPooling2D": "takes the maximum of each window",
           "AveragePooling2D": "takes the mean of each window"}[task.layer.class_name]
    steps = [f"* row {i + 1}, column {j + 1}: ${_window_step(task, values)}$"
             for i, j, values in windows[:SHOWN_WINDOWS]]
    if len(windows) > SHOWN_WINDOWS:
        steps.append(f"* … and likewise for the other {len(windows) - SHOWN_WINDOWS} windows.")
    return (f"The {kernel[0]}×{kernel[1]} window moves with strides {strides} over the "
            f"{height}×{width} input, so the output is {rows}×{columns}: {sizes}.{padded} "
            f"`{task.layer.class_name}` {how}:\n\n" + "\n".join(steps) +
            f"\n\nKeras computes {format_answer(distractors.run(task))}.")


def _mistakes(choices: tuple[Choice, ...]) -> str:
    lines = [f"* {choice.text if choice.statement is None else 'Believing “' + choice.text + '”'}"
             f": {distractors.describe(choice.misconception)}."
             for choice in choices if choice.misconception]
    return "**Common mistakes**\n\n" + "\n".join(lines) if lines else ""


def _reading(template: Template, spec: ModelSpec, layer: int | None) -> tuple[tuple[str, str], ...]:
    extra = KERAS_DOCS.get(spec.layers[layer].class_name) if layer is not None else MODEL_DOCS
    reading = list(template.reading)
    if extra and extra not in reading:
        reading.append(extra)
    return tuple(reading)


def _check_task(fact: str, task: Task | None) -> None:
    expected = ("Conv2D",) if fact == "conv_output" else formulas.POOLING
    if task is None or task.layer.class_name not in expected:
        raise QuestionError(f"{fact} needs a by-hand task with a {' or '.join(expected)} layer")


def make_question(template: Template, index: int, spec: ModelSpec, facts: ModelFacts,
                  rng: random.Random, task: Task | None = None) -> Question:
    """Ask `template.asks[index]` about a built model (or its by-hand `task`). The correct
    choice comes first; the assembler moves it to its final position.

    Raises:
        QuestionError: the ask does not apply to this model (no matching layer, no such weight,
            too few distinct distractors).
        TemplateError: the ask's text uses an undefined variable.
    """
    ask = template.asks[index]
    if ask.fact == "statements":
        return _statements_question(template, index, spec, facts, rng)
    if ask.fact == "code":
        return _code_question(template, index, spec, rng)
    if ask.fact == "formula":
        return _formula_question(template, index, spec, facts, rng)
    if ask.fact in TASK_FACTS:
        _check_task(ask.fact, task)
        layer = 0
    else:
        layer = resolve_layer(ask, spec, rng)
    ref = ask.ref(layer)
    answer = distractors.run(task) if task is not None else read_fact(facts, ref)
    response = rng.choice(ask.response)
    choices: tuple[Choice, ...] = ()
    if response == "single_choice":
        kind = "single_choice"
        wrong = (distractors.choose_for_task(task, rng, CHOICES - 1) if task is not None else
                 distractors.choose(spec, ref, facts, rng, CHOICES - 1))
        choices = (Choice(format_answer(answer), answer, True),) + tuple(
            Choice(format_answer(value), value, False, label) for value, label in wrong)
    else:
        kind = ref.free_kind
    context = _layer_context(spec, facts, layer) | {"axis": ref.axis, "weight": ref.weight,
                                                     "blank": blank_label(index)}
    text = _render_text(ask.text, context, f"{template.path.name}: asks[{index}].text")
    worked = explain_task(task) if task is not None else explain(spec, facts, ref)
    explanation = "\n\n".join(part for part in (worked, _mistakes(choices)) if part)
    return Question(ref, kind, text, answer, choices, explanation,
                    _reading(template, spec, layer))


def _statements_question(template: Template, index: int, spec: ModelSpec, facts: ModelFacts,
                         rng: random.Random) -> Question:
    """"Which statements are correct?": a multiple-choice question whose answer is the tuple
    of the true statements' option numbers (1-based), each decided by execution."""
    ask = template.asks[index]
    fixed = None if ask.statements is None else [
        (kind, None if claim is None else claim.to_dict()) for kind, claim in ask.statements]
    chosen = choose_statements(spec, facts, rng, ask.count, fixed)
    choices = tuple(Choice(s.text, None, s.true, s.misconception, s.record()) for s in chosen)
    answer = tuple(number for number, s in enumerate(chosen, 1) if s.true)
    reasons = "\n".join(f"{number}. **{'True' if s.true else 'False'}.** {s.reason}"
                         for number, s in enumerate(chosen, 1))
    shown = ", ".join(map(str, answer)) or "none"
    text = _render_text(ask.text, {}, f"{template.path.name}: asks[{index}].text")
    explanation = (f"Correct: {shown}. Each statement was decided by building and executing the "
                   f"model with Keras:\n\n{reasons}\n\n{_mistakes(choices)}").strip()
    return Question(FactRef("statements"), "multiple_choice", text, answer, choices, explanation,
                    _reading(template, spec, None))


def formula_holds(expression: sp.Expr, quantity: str, padding: str = "valid") -> bool:
    """Whether a formula agrees with Keras on every Conv2D of a grid of built layers
    (`quizgen.oracle.SIZE_GRID` for output sizes with `padding`, `PARAMS_GRID` for parameter
    counts): a formula is correct exactly when execution says so."""
    if quantity == "output_size":
        return all(formulas.evaluate(expression, {formulas.W: w, formulas.K: k, formulas.S: s}) == size
                   for (w, k, s), size in oracle.conv_sizes(padding))
    return all(formulas.evaluate(expression, {formulas.K_H: k_h, formulas.K_W: k_w,
                                              formulas.C_IN: c, formulas.F: f}) == params
               for (k_h, k_w, c, f), params in oracle.conv_params())


def _formula_question(template: Template, index: int, spec: ModelSpec, facts: ModelFacts,
                      rng: random.Random) -> Question:
    """"Which formula gives ...?" (seeds/003): the formula Keras follows, found by execution,
    against formulas that follow a misconception (each disagreeing with Keras somewhere)."""
    ask = template.asks[index]
    layer = resolve_layer(ask, spec, rng)
    if spec.layers[layer].class_name != "Conv2D" or (
            ask.quantity == "params" and not spec.layers[layer].get("use_bias", True)):
        raise QuestionError("formula questions are about a Conv2D layer with a bias")
    _, _, padding = formulas.window(spec.layers[layer])
    candidates = (formulas.SIZE_CANDIDATES[padding] if ask.quantity == "output_size"
                  else formulas.PARAMS_CANDIDATES)
    judged = [(expression, label, formula_holds(expression, ask.quantity, padding))
              for expression, label in candidates]
    right = [expression for expression, _, holds in judged if holds]
    wrong = [(expression, label) for expression, label, holds in judged if not holds]
    if len(right) != 1 or len(wrong) < CHOICES - 1:
        raise QuestionError(f"{len(right)} candidate formulas agree with Keras; expected 1")
    chosen = rng.sample(wrong, CHOICES - 1)
    choices = (Choice(f"${formulas.latex(right[0])}$", str(right[0]), True),) + tuple(
        Choice(f"${formulas.latex(expression)}$", str(expression), False, label)
        for expression, label in chosen)
    known = facts.layers[layer]
    if ask.quantity == "output_size":
        kernel, strides, _ = formulas.window(spec.layers[layer])
        worked = (f"For `{known.name}`, along the height: "
                  f"{formulas.size_derivation(known.input_shape[1], kernel[0], strides[0], padding)}.")
    else:
        worked = f"For `{known.name}`: {formulas.params_derivation(spec.layers[layer], known.input_shape)}."
    grid = len(oracle.conv_sizes(padding) if ask.quantity == "output_size" else oracle.conv_params())
    explanation = (f"Keras follows {choices[0].text}: it agrees with all {grid} Conv2D layers "
                   f"Keras built to check it, and each other formula disagrees with at least one. "
                   f"{worked}\n\n{_mistakes(choices)}")
    context = _layer_context(spec, facts, layer) | {"blank": blank_label(index)}
    text = _render_text(ask.text, context, f"{template.path.name}: asks[{index}].text")
    return Question(ask.ref(layer), "single_choice", text, choices[0].text, choices, explanation,
                    _reading(template, spec, layer))


def _fenced(spec: ModelSpec) -> str:
    return f"```python\n{spec.code()}\n```"


def _code_question(template: Template, index: int, spec: ModelSpec,
                   rng: random.Random) -> Question:
    """"Which code implements this description?": the described model's code against the code
    of executed misreadings (each builds a different model in Keras)."""
    wrong = distractors.choose_code(spec, rng, CHOICES - 1)
    choices = (Choice(_fenced(spec), spec, True),) + tuple(
        Choice(_fenced(mutated), mutated, False, label) for mutated, label in wrong)
    lines = [f"* {describe_layer(layer, i == 0, i == len(spec.layers) - 1)}: `{layer.code()}`"
             for i, layer in enumerate(spec.layers)]
    mistakes = "\n".join(f"* {_sentence(distractors.describe(label))}: that code differs at "
                          f"{_difference(spec, mutated)}." for mutated, label in wrong)
    explanation = ("Each line of the description is one layer:\n\n" + "\n".join(lines)
                   + f"\n\n**Common mistakes**\n\n{mistakes}")
    text = _render_text(template.asks[index].text, {}, f"{template.path.name}: asks[{index}].text")
    return Question(FactRef("code"), "single_choice", text, _fenced(spec), choices, explanation,
                    _reading(template, spec, None))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _difference(spec: ModelSpec, mutated: ModelSpec) -> str:
    """The first differing line of two models' code, e.g. "`layers.Dropout(0.75)`"."""
    ours, theirs = spec.code().splitlines(), mutated.code().splitlines()
    line = next((b for a, b in zip(ours, theirs, strict=False) if a != b), theirs[-1])
    return f"`{line.strip().rstrip(',')}`"


def _draw(template: Template, seed: int) -> tuple[ModelSpec | Task, random.Random]:
    rng = random.Random(seed)
    if template.fixed is not None:
        return template.fixed, rng
    return sample(template.sampler or "", rng, template.options), rng


def make_item(template: Template, seed: int) -> Item:
    """One instance of `template` from `seed`: model, code and every ask's question.

    Raises:
        QuestionError: a fixed model cannot carry the questions, or no draw of a sampled one
            could in `MAX_DRAWS` tries; the message names the template file.
        ArchitectureError: Keras cannot build the template's fixed model.
        TemplateError: the template's texts or sampler options are wrong.
    """
    last_error: Exception | None = None
    for draw in range(1 if template.fixed is not None else MAX_DRAWS):
        subject, rng = _draw(template, seed if draw == 0 else derive_seed(seed, "redraw", draw))
        task = subject if isinstance(subject, Task) else None
        spec = subject.spec if isinstance(subject, Task) else subject
        try:
            facts = oracle.facts(spec)
            questions = tuple(make_question(template, i, spec, facts, rng, task)
                              for i in range(len(template.asks)))
        except (QuestionError, ArchitectureError) as error:
            last_error = error
            continue
        stem = _render_text(template.stem, {"summary": summary_with_blanks(facts, questions)},
                            f"{template.path.name}: stem")
        code = task.code() if task is not None else spec.code(template.code_style)
        if template.code_style == "prose":
            stem, code = f"{stem}\n\n{code}", ""
        return Item(template, seed, spec, facts, stem, code, questions, task)
    kind = "its fixed model" if template.fixed is not None else f"{MAX_DRAWS} sampled models"
    error_type = ArchitectureError if isinstance(last_error, ArchitectureError) else QuestionError
    raise error_type(f"{template.path.name}: {kind} cannot carry its questions: {last_error}")

