"""By hand: the output matrix of a convolution or pooling worked out on paper (seeds/004).

The family of `conv_output` and `pool_output`. Its subject is a `Task` (a small single-channel
integer input, one Conv2D or pooling layer, and for a Conv2D an integer kernel and bias) drawn
by the `by_hand` sampler or written in a template; Keras executes the layer with that kernel
set (`Oracle.run_task`), the distractors are what Keras computes for the task mutated the way
students get it wrong (`MISCONCEPTIONS`), and the worked solution spells out the first windows.
`quizgen verify` runs the task again and computes it in plain Python
(`quizgen.formulas.task_closed_form`).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from quizgen import formulas
from quizgen.distractors import check_label, pick
from quizgen.errors import ArchitectureError, QuestionError, TemplateError, quote
from quizgen.facts import Answer, format_answer, from_json, to_json
from quizgen.families import model_facts
from quizgen.family import CHOICES, Family, Question, Subject, count_of, prove_choices
from quizgen.formulas import layer_closed_form, padding_amounts, task_closed_form
from quizgen.oracle import Oracle
from quizgen.sample import option_range
from quizgen.spec import POOLING, SEQUENCE_TASKS, LayerSpec, Matrix, Task

if TYPE_CHECKING:
    from quizgen.key import KeyEntry

#: The facts of a by-hand task, and the layer classes each is asked of.
FACTS = {"conv_output": ("Conv2D", "Conv1D", "Conv2DTranspose"), "pool_output": POOLING,
         "upsampling_output": ("UpSampling2D",)}
#: The layers of a by-hand task that get a kernel and a bias.
CONVOLUTIONS = FACTS["conv_output"]


# --- the subject: a task to work out by hand ------------------------------------------------

def _matrix(rng: random.Random, rows: int, columns: int, values: tuple[int, ...]) -> Matrix:
    return tuple(tuple(rng.choice(values) for _ in range(columns)) for _ in range(rows))


#: How many times the `by_hand` sampler draws a window (then matrices) before giving up.
_MAX_TASK_DRAWS = 1000

#: The `layer` option of the `by_hand` sampler: the layer classes of each kind of task, and
#: the input sides (rows and columns, or a sequence's length) drawn by default.
KINDS: dict[str, tuple[tuple[str, ...], tuple[int, int]]] = {
    "conv": (("Conv2D",), (4, 6)), "dilated": (("Conv2D",), (5, 7)),
    "conv1d": (("Conv1D",), (6, 9)), "transpose": (("Conv2DTranspose",), (2, 3)),
    "max": (("MaxPooling2D",), (4, 6)), "average": (("AveragePooling2D",), (4, 6)),
    "pooling": (POOLING, (4, 6)), "upsampling": (("UpSampling2D",), (2, 3)),
}


def _draw_layer(rng: random.Random, kind: str, class_name: str) -> LayerSpec:
    """The layer of a by-hand task of `kind` (see `by_hand`)."""
    if class_name == "UpSampling2D":
        return LayerSpec.make(class_name, size=(rng.choice((2, 3)), rng.choice((2, 3))))
    if class_name == "Conv1D":
        return LayerSpec.make(class_name, filters=1, kernel_size=rng.choice((2, 3, 3)),
                              strides=rng.choice((1, 1, 2)),
                              padding="same" if rng.random() < 0.35 else None,
                              use_bias=False if rng.random() < 0.25 else None)
    window_size = (2, 2) if class_name == "AveragePooling2D" else (
        rng.choice((2, 2, 3)), rng.choice((2, 2, 3)))
    config: dict[str, Any] = {"kernel_size" if class_name in CONVOLUTIONS else "pool_size":
                              window_size}
    strides = (rng.choice((1, 1, 2)), rng.choice((1, 2, 2)))
    if kind == "dilated":  # Keras refuses strides > 1 with a dilation
        config["dilation_rate"] = rng.choice(((2, 2), (2, 2), (1, 2), (2, 1)))
    elif class_name in CONVOLUTIONS or strides != window_size:
        config["strides"] = strides
    if rng.random() < 0.35 and class_name != "Conv2DTranspose":
        config["padding"] = "same"
    if class_name in CONVOLUTIONS:
        config = {"filters": 1, **config}
        if rng.random() < 0.25:
            config["use_bias"] = False
    return LayerSpec.make(class_name, **config)


def _output_sides(task_layer: LayerSpec, rows: int, columns: int) -> tuple[int, int]:
    """The output's rows and columns (0, 0 where the window does not fit the input)."""
    sequence = task_layer.class_name in SEQUENCE_TASKS
    try:
        out = layer_closed_form(task_layer, (None, columns, 1) if sequence
                                else (None, rows, columns, 1)).output_shape
    except ArchitectureError:
        return 0, 0
    return (1, out[1]) if sequence else (out[1], out[2])


def _padding_that_adds(task_layer: LayerSpec, rows: int, columns: int) -> LayerSpec:
    """The layer, with "same" padding only where it pads the input (else Keras' default)."""
    _, strides, padding, _ = formulas.task_window(task_layer)
    if padding != "same" or any(padding_amounts(size, span, s, padding) != (0, 0) for size, span, s
                                in zip((rows, columns), formulas.task_spans(task_layer), strides,
                                       strict=True)):
        return task_layer
    return task_layer.with_config(padding=None)


def by_hand(rng: random.Random, layer: str = "conv", size: Any = None) -> Task:
    """A small layer to work out by hand (seeds/004) on an integer input (values 0–3) of
    `size` rows and columns (default per kind: `KINDS`), one of
    - `"conv"`: a Conv2D with one filter, a 2×2 or 3×3 kernel of small integers (-1–2) and an
      integer bias, strides 1–2 per axis; `"dilated"`: the same, its kernel dilated
      (`dilation_rate` 2 along one or both axes; strides 1, as Keras requires);
    - `"conv1d"`: a Conv1D over a sequence of `size` values (one row), kernel 2–3 wide;
    - `"transpose"`: a Conv2DTranspose with one filter, a 2×2 or 3×3 kernel, strides 1–2
      (padding "valid");
    - `"max"`, `"average"` or `"pooling"`: a pooling layer (average pooling with a 2×2
      window, so every value is a multiple of 0.25);
    - `"upsampling"`: an UpSampling2D of `size` 2 or 3 along each axis;
    `valid` or `same` padding (only where it pads the input). Every output side is 2–5 values
    long (a sequence's 2–8; a transposed convolution's and an upsampling's up to 9), the
    output is never constant, and a kernel is never its own 180° rotation (flipping it must
    be a mistake).

    Raises:
        TemplateError: `layer` is not one of the kinds; `size` is not a range; or no task fits
            `size` in `_MAX_TASK_DRAWS` draws. The message names the option and quotes its
            value briefly.
    """
    if not isinstance(layer, str) or layer not in KINDS:
        raise TemplateError(f"sampler option layer: one of {', '.join(KINDS)}, got {quote(layer)}")
    classes, default = KINDS[layer]
    low, high = option_range(size, default, "size")
    longest = {"Conv1D": 8, "Conv2DTranspose": 9, "UpSampling2D": 9}
    for _ in range(_MAX_TASK_DRAWS):
        class_name = rng.choice(classes)
        rows = 1 if class_name in SEQUENCE_TASKS else rng.randint(low, high)
        columns = rng.randint(low, high)
        task_layer = _padding_that_adds(_draw_layer(rng, layer, class_name), rows, columns)
        out = _output_sides(task_layer, rows, columns)
        smallest = 1 if class_name in SEQUENCE_TASKS else 2
        if all(smallest <= side <= longest.get(class_name, 5) for side in out) and max(out) >= 2:
            break
    else:
        raise TemplateError(
            f"sampler option size: no {layer} task fits an input of {quote(size)} (default "
            f"{default[0]}–{default[1]}) rows and columns: none of {_MAX_TASK_DRAWS} draws gave "
            "an output of 2–5 rows and columns")
    kernel_size, _, _, _ = formulas.task_window(task_layer)
    for _ in range(_MAX_TASK_DRAWS):
        if class_name not in CONVOLUTIONS:
            task = Task(task_layer, _matrix(rng, rows, columns, (0, 1, 2, 3)))
        else:
            task = Task(task_layer, _matrix(rng, rows, columns, (0, 0, 1, 1, 2, 3)),
                        _matrix(rng, *kernel_size, (-1, 0, 1, 1, 2)),
                        rng.choice((0, 1, -1, 2)) if task_layer.get("use_bias", True) else 0)
        symmetric = task.kernel is not None and _flip_kernel(CONVOLUTIONS)(task) is None
        if len({value for row in task_closed_form(task) for value in row}) > 1 and not symmetric:
            return task
    raise TemplateError(f"sampler option size: none of {_MAX_TASK_DRAWS} {layer} tasks on "
                        f"{rows}×{columns} inputs gave an output that is not constant with a "
                        "kernel that flipping changes")


# --- misconceptions: the task mutated the way students work it out wrongly ------------------

def _flip_kernel(classes: tuple[str, ...]) -> Callable[[Task], Task | None]:
    """The kernel rotated by 180° (a true convolution, for a Conv2D or Conv1D: Keras computes
    a cross-correlation), for a layer of `classes`."""

    def mutate(task: Task) -> Task | None:
        if task.kernel is None or task.layer.class_name not in classes:
            return None
        flipped = tuple(tuple(reversed(row)) for row in reversed(task.kernel))
        return replace(task, kernel=flipped) if flipped != task.kernel else None

    return mutate


def _ignore_one_stride(axis: int):
    def mutate(task: Task) -> Task | None:
        _, strides, _, _ = formulas.task_window(task.layer)
        if strides[axis] == 1:
            return None
        changed = list(strides)
        changed[axis] = 1
        return replace(task, layer=task.layer.with_config(
            strides=1 if task.sequence else tuple(changed)))

    return mutate


def _sides(task: Task) -> tuple[int, int]:
    return len(task.input), len(task.input[0])


def _pad_symmetrically(task: Task) -> Task | None:
    """'same' padding with the larger half before (top/left) instead of after, applied to the
    input by hand and followed by a 'valid' window."""
    _, strides, padding, _ = formulas.task_window(task.layer)
    if padding != "same" or task.layer.class_name not in ("Conv2D", "Conv1D"):
        return None
    (top, bottom), (left, right) = (
        padding_amounts(size, span, s, padding) for size, span, s in zip(
            _sides(task), formulas.task_spans(task.layer), strides, strict=True))
    if (top, left) == (bottom, right):
        return None
    width = len(task.input[0]) + left + right
    rows = [(0,) * width] * bottom + [(0,) * right + row + (0,) * left for row in task.input]
    padded = tuple(rows + [(0,) * width] * top)
    return replace(task, input=padded, layer=task.layer.with_config(padding="valid"))


def _zeros_inserted(task: Task) -> Task | None:
    """UpSampling2D read as each value placed once, zeros between: a Conv2DTranspose with a
    1×1 kernel of 1 and `strides` the upsampling's `size`."""
    if task.layer.class_name != "UpSampling2D":
        return None
    size = formulas.pair(task.layer.get("size"), 2)
    return Task(LayerSpec.make("Conv2DTranspose", filters=1, kernel_size=1, strides=size,
                               use_bias=False), task.input, ((1,),), 0)


def _swap_pooling(task: Task) -> Task | None:
    swapped = {"MaxPooling2D": "AveragePooling2D", "AveragePooling2D": "MaxPooling2D"}
    if task.layer.class_name not in swapped:
        return None
    return replace(task, layer=replace(task.layer, class_name=swapped[task.layer.class_name]))


def _task_layer(change: Callable[[LayerSpec], LayerSpec | None], classes: tuple[str, ...]):
    def mutate(task: Task) -> Task | None:
        if task.layer.class_name not in classes:
            return None
        changed = change(task.layer)
        return replace(task, layer=changed) if changed is not None else None

    return mutate


def _task_bias_forgotten(task: Task) -> Task | None:
    return replace(task, bias=0) if task.bias and task.layer.get("use_bias", True) else None


@dataclass(frozen=True)
class TaskMisconception:
    """A labelled mistake in working out a convolution or pooling by hand."""

    label: str
    description: str
    mutate: Callable[[Task], Task | None]


MISCONCEPTIONS: tuple[TaskMisconception, ...] = (
    TaskMisconception("kernel_flipped", "flipped the kernel (a true convolution); Keras' "
                      "convolution layers compute a cross-correlation",
                      _flip_kernel(("Conv2D", "Conv1D"))),
    TaskMisconception("transpose_kernel_flipped", "rotated the kernel by 180°; a Conv2DTranspose "
                      "adds each input value times the kernel as it is, at stride-spaced "
                      "positions of the output", _flip_kernel(("Conv2DTranspose",))),
    TaskMisconception("upsampling_zeros_inserted", "placed each value once with zeros between; "
                      "UpSampling2D repeats each row and column `size` times",
                      _zeros_inserted),
    TaskMisconception("row_stride_ignored", "moved the window down one row at a time, ignoring "
                      "the vertical stride", _ignore_one_stride(0)),
    TaskMisconception("column_stride_ignored", "moved the window right one column at a time, "
                      "ignoring the horizontal stride", _ignore_one_stride(1)),
    TaskMisconception("same_padded_symmetrically", "padded the extra row or column at the "
                      "top/left; Keras puts it at the bottom/right", _pad_symmetrically),
    TaskMisconception("padding_flipped", model_facts.DESCRIPTIONS["padding_flipped"],
                      _task_layer(model_facts.flip_padding, ("Conv2D",) + POOLING)),
    TaskMisconception("pooling_swapped", "swapped max pooling and average pooling",
                      _swap_pooling),
    TaskMisconception("pool_stride_one", model_facts.DESCRIPTIONS["pool_stride_one"],
                      _task_layer(model_facts.pool_stride_one, POOLING)),
    TaskMisconception("bias_forgotten", model_facts.DESCRIPTIONS["bias_forgotten"], _task_bias_forgotten),
)

#: Every label of this family and what it means (the feedback a student gets).
DESCRIPTIONS = {m.label: m.description for m in MISCONCEPTIONS}


def run(oracle: Oracle, task: Task) -> Matrix | None:
    """The output matrix Keras computes for a (possibly mutated) task; None if it cannot run."""
    try:
        return oracle.run_task(task.spec, task.input, task.kernel, task.bias)
    except ArchitectureError:
        return None


def wrong_answers(oracle: Oracle, task: Task, rng: random.Random,
                  count: int = 3) -> list[tuple[Answer, str]]:
    """`count` distinct wrong output matrices of a by-hand task, with misconception labels.

    Raises:
        QuestionError: fewer than `count` misconceptions give distinct wrong matrices.
    """
    applied = [(m, mutated) for m in MISCONCEPTIONS if (mutated := m.mutate(task))]
    singles = [(partial(run, oracle, mutated), m.label) for m, mutated in applied]

    def compounds() -> Iterator[tuple[Answer | None, str]]:
        for (first, once), (second, _) in itertools.combinations(applied, 2):
            twice = second.mutate(once)
            if twice is not None:
                yield run(oracle, twice), f"{first.label}+{second.label}"

    answer = run(oracle, task)
    return pick(answer, singles, compounds(), rng, count, "output matrix",
                acceptable=lambda matrix: _short(matrix) and _look(matrix)[0] == _look(answer)[0])


def _short(matrix: Matrix) -> bool:
    """Whether every value of a matrix is a multiple of 0.25, as a by-hand answer is (no
    distractor of sixths printed with six decimals)."""
    return all(float(value * 4).is_integer() for row in matrix for value in row)


# --- the worked solution --------------------------------------------------------------------

#: Windows spelled out in a worked solution; the rest are summarised.
SHOWN_WINDOWS = 4


def _factor(value: float) -> str:
    """A number as a factor of a product: negative ones in parentheses, `0 \\cdot (-1)`."""
    return f"({format_answer(value)})" if value < 0 else format_answer(value)


def _window_step(task: Task, values: list[list[float | None]]) -> str:
    """One window's computation in LaTeX, e.g. `1 \\cdot 1 + 0 \\cdot 0 + 1 = 2`."""
    result = format_answer(formulas.window_value(task, values))
    real = [format_answer(v) for row in values for v in row if v is not None]
    if task.layer.class_name == "MaxPooling2D":
        return rf"\max({', '.join(real)}) = {result}"
    if task.layer.class_name == "AveragePooling2D":
        return rf"({' + '.join(real)}) / {len(real)} = {result}"
    terms = [f"{_factor(v or 0)} \\cdot {_factor(w)}"
             for row, weights in zip(values, task.kernel, strict=True)
             for v, w in zip(row, weights, strict=True)]
    if task.layer.get("use_bias", True):
        terms.append(f"{task.bias}")
    return " + ".join(terms).replace("+ -", "- ") + f" = {result}"


def explain(task: Task, keras_output: Matrix) -> str:
    """The worked solution of a by-hand task: output size, padding, the first windows (or, for
    a transposed convolution, the first scattered copies of the kernel; for an upsampling,
    the repetition), and the output Keras computes."""
    worked = {"Conv2DTranspose": _explain_transposed,
              "UpSampling2D": _explain_upsampling}.get(task.layer.class_name, _explain_windows)
    return f"{worked(task)}\n\nKeras computes {format_answer(keras_output)}."


def _explain_windows(task: Task) -> str:
    """A convolution's or pooling's windows: their size, padding, the first few worked out."""
    kernel, strides, padding, dilation = formulas.task_window(task.layer)
    spans = formulas.task_spans(task.layer)
    windows = formulas.task_windows(task)
    rows, columns = windows[-1][0] + 1, windows[-1][1] + 1
    axes = [(axis, size, span, s) for axis, size, span, s in zip(
        ("height", "width"), _sides(task), spans, strides, strict=True)
        if not (task.sequence and axis == "height")]
    sizes = " and ".join(f"{'length' if task.sequence else axis} "
                         f"{formulas.size_derivation(size, span, s, padding)}"
                         for axis, size, span, s in axes)
    pads = [formulas.padding_amounts(size, span, s, padding) for _, size, span, s in axes]
    if padding == "valid":
        padded = ""
    elif task.sequence:
        padded = (f" Padding \"same\" adds {count_of(pads[0][0], 'value')} before and "
                  f"{pads[0][1]} after the sequence{_extra(pads, 'at the end')}, filled with "
                  "zeros.")
    else:
        padded = (f" Padding \"same\" adds {count_of(pads[0][0], 'row')} at the top and "
                  f"{pads[0][1]} at the bottom, {count_of(pads[1][0], 'column')} on the left and "
                  f"{pads[1][1]} on the right{_extra(pads, 'at the bottom/right')}"
                  + (", filled with zeros." if task.kernel is not None
                     else "; padded pixels are left out of the pooling."))
    how = {"MaxPooling2D": "takes the maximum of each window",
           "AveragePooling2D": "takes the mean of each window"}.get(
        task.layer.class_name, "multiplies each window element-wise by the kernel, without "
        "flipping it (a cross-correlation), and adds up the products"
        + (" and the bias" if task.layer.get("use_bias", True) else ""))
    steps = [f"* {'position' if task.sequence else 'row'} "
             f"{(j if task.sequence else i) + 1}{'' if task.sequence else f', column {j + 1}'}: "
             f"${_window_step(task, values)}$" for i, j, values in windows[:SHOWN_WINDOWS]]
    if len(windows) > SHOWN_WINDOWS:
        steps.append(f"* … and likewise for the other "
                     f"{count_of(len(windows) - SHOWN_WINDOWS, 'window')}.")
    if task.sequence:
        moves = (f"The window of {kernel[1]} values moves with stride {strides[1]} along the "
                 f"{len(task.input[0])} values, so the output has {columns}: {sizes}.")
    else:
        dilated = "" if dilation == (1, 1) else (
            f"The {kernel[0]}×{kernel[1]} kernel is dilated by {dilation}: its values multiply "
            f"pixels {count_of(dilation[0], 'row')} and {count_of(dilation[1], 'column')} apart, "
            f"so its window spans {spans[0]}×{spans[1]} pixels (d·(k − 1) + 1 along each axis, "
            "the K below). ")
        moves = (f"{dilated}The {spans[0]}×{spans[1]} window moves with strides {strides} over "
                 f"the {len(task.input)}×{len(task.input[0])} input, so the output is "
                 f"{rows}×{columns}: {sizes}.")
    return (f"{moves}{padded} `{task.layer.class_name}` {how}:\n\n" + "\n".join(steps))


def _extra(pads: list[tuple[int, int]], where: str) -> str:
    """Where Keras puts the padding that cannot be split evenly, if any."""
    return f" (Keras puts the extra one {where})" if any(before != after for before, after in pads) else ""


def _explain_transposed(task: Task) -> str:
    """A transposed convolution: each input value scales the kernel, placed stride-spaced."""
    (k_h, k_w), (s_h, s_w), padding = formulas.window(task.layer)
    height, width = _sides(task)
    output = formulas.task_closed_form(task)
    crop = ("" if padding == "valid" else
            f", then cropped to {len(output)}×{len(output[0])} (padding \"same\": the input's "
            f"size times the strides)")
    where = "" if padding == "valid" else " of the uncropped output"
    steps = [f"* row {i + 1}, column {j + 1} of x (value {task.input[i][j]}): {task.input[i][j]} × "
             f"kernel added at rows {i * s_h + 1}–{i * s_h + k_h}, columns "
             f"{j * s_w + 1}–{j * s_w + k_w}{where}"
             for i, j in list(itertools.product(range(height), range(width)))[:SHOWN_WINDOWS]]
    if height * width > SHOWN_WINDOWS:
        steps.append(f"* … and likewise for the other "
                     f"{count_of(height * width - SHOWN_WINDOWS, 'input value')}.")
    bias = (f" Then the bias {task.bias} is added to every value." if
            task.layer.get("use_bias", True) else "")
    sizes = " and ".join(
        f"{size}·{s} + max({k} − {s}, 0) = {size * s + max(k - s, 0)} {axis}"
        for size, s, k, axis in ((height, s_h, k_h, "rows"), (width, s_w, k_w, "columns")))
    return (f"A transposed convolution works the other way round from a convolution: each "
            f"value of the {height}×{width} input multiplies the whole {k_h}×{k_w} kernel (as it "
            f"is, not flipped), and the product is added to the output at a position moved by "
            f"the strides {(s_h, s_w)} per input step; where copies overlap, they add up. The "
            f"output has W·S + max(K − S, 0) values along each axis: {sizes}{crop}.{bias}\n\n"
            + "\n".join(steps))


def _explain_upsampling(task: Task) -> str:
    """An upsampling: each value repeated."""
    rows, columns = formulas.pair(task.layer.get("size"), 2)
    height, width = _sides(task)
    return (f"UpSampling2D with size {(rows, columns)} (interpolation \"nearest\", Keras' "
            f"default) repeats each row of the {height}×{width} input {rows} times and each "
            f"column {columns} times, so the output is {height * rows}×{width * columns}: the "
            f"value at row i, column j of the output is the input's at row ⌈i / {rows}⌉, column "
            f"⌈j / {columns}⌉ (counting from 1).")



# --- making, proving and re-deriving a question ---------------------------------------------

def make(subject: Subject, rng: random.Random) -> Question:
    """The output matrix of the subject's task as Keras computes it; distractors from
    `MISCONCEPTIONS`. The correct choice comes first.

    Raises:
        QuestionError: the template's subject is not a task with a layer of the asked kind, or
            too few distinct distractors.
    """
    task, expected = subject.task, FACTS[subject.ask.fact]
    if task is None or task.layer.class_name not in expected:
        raise QuestionError(f"{subject.ask.fact} needs a by-hand task with a "
                            f"{' or '.join(expected)} layer")
    answer = run(subject.oracle, task)
    return model_facts.value_question(
        subject, rng, 0, answer,
        lambda rng: wrong_answers(subject.oracle, task, rng, CHOICES - 1),
        explain(task, answer), DESCRIPTIONS)


def _look(matrix: Any) -> tuple[tuple[int, int], bool]:
    """What a matrix shows before any computation: its size, and whether all its values are
    whole numbers."""
    rows = [list(row) for row in matrix]
    return (len(rows), len(rows[0])), all(float(value).is_integer() for row in rows for value in row)


def giveaway(answer: Any, distractors: list[Any]) -> str | None:
    """Why the options give the answer away by their looks (None when they do not): an option
    of another size than the answer (the output size alone rules it out), or the answer is the
    only option with (or without) fractions."""
    (size, whole), looks = _look(answer), [_look(value) for value in distractors]
    other_sizes = sorted({other for other, _ in looks if other != size})
    if other_sizes:
        shown = ", ".join(f"{rows}×{columns}" for rows, columns in other_sizes)
        return (f"an option is {shown} where the answer is {size[0]}×{size[1]}: the output size "
                "alone rules it out")
    if looks and whole not in [other for _, other in looks]:
        return (f"the answer is the only option {'without' if whole else 'with'} fractions: "
                "that gives away the answer")
    return None


def prove(subject: Subject, question: Question) -> list[str]:
    """A by-hand question is valid when its answer is the matrix Keras computes, its options
    are (`quizgen.family.prove_choices`), and their looks do not give the answer away
    (`giveaway`)."""
    problems = prove_choices(question, DESCRIPTIONS) if question.choices else []
    shown = giveaway(question.answer, [c.value for c in question.choices if not c.correct])
    if shown:
        problems.append(shown)
    if question.answer != run(subject.oracle, subject.task):
        problems.append("the answer is not the matrix Keras computes")
    return problems


def rederive(entry: KeyEntry, oracle: Oracle) -> tuple[Any, Any]:
    """The output matrix of the entry's task as Keras computes it now, and in plain Python."""
    task = Task.from_json(entry.task)
    keras_output = oracle.run_task(task.spec, task.input, task.kernel, task.bias)
    return to_json(keras_output), task_closed_form(task)


def _mistaken(task: Task, label: str) -> Task | None:
    """The task as the (possibly compound) mistake `label` works it out; None where a part is
    unknown or does not apply."""
    by_label = {m.label: m for m in MISCONCEPTIONS}
    for part in label.split("+"):
        if part not in by_label or task is None:
            return None
        task = by_label[part].mutate(task)
    return task


def reproduce(entry: KeyEntry, oracle: Oracle) -> list[str]:
    """Each distractor's labelled mistake, worked out again on the entry's task (by a fresh
    oracle), must give that distractor, and no more common mistake may give it too."""
    task = Task.from_json(entry.task)
    priority = [m.label for m in MISCONCEPTIONS]

    def answer_of(label: str) -> Matrix | None:
        mistaken = _mistaken(task, label)
        return None if mistaken is None else run(oracle, mistaken)

    problems = []
    for choice in entry.choices:
        if not choice.correct and choice.misconception:
            why = check_label(choice.misconception, from_json(choice.value), answer_of, priority)
            if why:
                problems.append(f"distractor {choice.text!r}: {why}")
    shown = giveaway(entry.answer, [c.value for c in entry.choices if not c.correct])
    return problems + ([f"the options' looks: {shown}"] if shown else [])


def set_weights(subject: Subject, questions: tuple[Question, ...]) -> str:
    """The `set_weights` call the task's code makes: with the bias only where the layer has one."""
    layer = subject.task.layer if subject.task is not None else None
    bias = layer is not None and layer.get("use_bias", True)
    return f"layer.set_weights([kernel{', [bias]' if bias else ''}])"


FAMILY = Family(
    name="by_hand",
    facts=tuple(FACTS),
    misconceptions=DESCRIPTIONS,
    make=make,
    prove=prove,
    rederive=rederive,
    reproduce=reproduce,
    samplers={"by_hand": by_hand},
    stem_variables={"set_weights": set_weights},
)
