"""Convolution and pooling by hand: Keras (after set_weights) against an independent numpy
computation, over many sampled tasks; the seeds/004 matrices; executed distractors."""

import random

import numpy as np
import pytest

from quizgen.bank import load_template
from quizgen.errors import QuestionError
from quizgen.families import by_hand
from quizgen.questions import make_item
from quizgen.spec import LayerSpec, Task

LAB = ((1, 0, 1, 0), (0, 1, 1, 1), (0, 1, 0, 0), (1, 0, 0, 0))


def numpy_reference(task: Task) -> np.ndarray:
    """Cross-correlation / pooling with numpy, TensorFlow's 'same' padding (extra at the end)."""
    config = dict(task.layer.config)
    window = config.get("kernel_size") or config.get("pool_size")
    window = (window, window) if isinstance(window, int) else window
    strides = config.get("strides") or (window if task.kernel is None else (1, 1))
    strides = (strides, strides) if isinstance(strides, int) else strides
    x = np.array(task.input, dtype=float)
    if config.get("padding") == "same":
        pads = []
        for size, k, s in zip(x.shape, window, strides, strict=True):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, pads, constant_values=np.nan)
    rows = (x.shape[0] - window[0]) // strides[0] + 1
    cols = (x.shape[1] - window[1]) // strides[1] + 1
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            patch = x[i * strides[0]:i * strides[0] + window[0], j * strides[1]:j * strides[1] + window[1]]
            if task.layer.class_name == "MaxPooling2D":
                out[i, j] = np.nanmax(patch)
            elif task.layer.class_name == "AveragePooling2D":
                out[i, j] = np.nanmean(patch)
            else:
                bias = task.bias if config.get("use_bias", True) else 0
                out[i, j] = np.sum(np.nan_to_num(patch) * np.array(task.kernel)) + bias
    return out


@pytest.mark.parametrize("layer", ["conv", "max", "average"])
def test_keras_equals_numpy_over_many_tasks(layer, oracle):
    for seed in range(40):
        task = by_hand.by_hand(random.Random(seed), layer=layer)
        keras_output = oracle.run_task(task.spec, task.input, task.kernel, task.bias)
        np.testing.assert_allclose(keras_output, numpy_reference(task), atol=1e-5,
                                   err_msg=str(task))


@pytest.mark.parametrize("layer, kernel, expected", [
    (LayerSpec.make("Conv2D", filters=1, kernel_size=(2, 2)), ((1, 0), (1, 1)),
     ((2, 2, 3), (1, 2, 1), (1, 1, 0))),
    (LayerSpec.make("MaxPooling2D", pool_size=(2, 2), strides=(1, 1)), None,
     ((1, 1, 1), (1, 1, 1), (1, 1, 0))),
    (LayerSpec.make("Conv2D", filters=1, kernel_size=(2, 2), strides=(1, 2)), ((1, 0), (1, 1)),
     ((2, 3), (1, 1), (1, 0))),
])
def test_seed_004_matrices(layer, kernel, expected, oracle):
    assert oracle.run_task(Task(layer, LAB, kernel).spec, LAB, kernel, 0) == expected


def test_distractors_are_the_named_mistakes(oracle):
    task = Task(LayerSpec.make("Conv2D", filters=1, kernel_size=(2, 2), strides=(1, 2)), LAB,
                ((1, 0), (1, 1)))
    wrong = {m.label: by_hand.run(oracle, m.mutate(task)) for m in by_hand.MISCONCEPTIONS
             if m.mutate(task) is not None}
    # ignoring the horizontal stride gives the stride-1 output of the lab
    assert wrong["column_stride_ignored"] == ((2, 2, 3), (1, 2, 1), (1, 1, 0))
    # the flipped kernel [[1, 1], [0, 1]] is a true convolution
    flipped = Task(task.layer, LAB, ((1, 1), (0, 1)))
    assert wrong["kernel_flipped"] == tuple(map(tuple, numpy_reference(flipped).astype(int)))
    # only the mistakes that keep the 3×2 output size are options: the size alone rules out
    # the stride-1 matrix
    offered = by_hand.wrong_answers(oracle, task, random.Random(0), 1)
    assert offered and all(len(value) == 3 and len(value[0]) == 2 for value, _ in offered)


def test_same_padding_symmetric_mistake(oracle):
    task = Task(LayerSpec.make("Conv2D", filters=1, kernel_size=(2, 2), padding="same"), LAB,
                ((1, 0), (1, 1)))
    mistaken = next(m for m in by_hand.MISCONCEPTIONS if m.label == "same_padded_symmetrically").mutate(task)
    assert mistaken is not None and mistaken.input[0] == (0, 0, 0, 0, 0)  # padded on top
    assert by_hand.run(oracle, mistaken) != by_hand.run(oracle, task)


VERTICAL_LINE = """\
title: A vertical line
topic: convolution
difficulty: 1
tags: [by_hand]
task:
  layer: {class_name: Conv2D, config: {filters: 1, kernel_size: [2, 2]}}
  input: %s
  kernel: [[-1, 1], [-1, 1]]
  bias: 0
stem: "A vertical-edge filter slides over an 8×8 image of a vertical line:"
asks:
  - fact: conv_output
    text: What is the output of the convolution?
%s"""


def vertical_line(tmp_path, response: str = ""):
    image = [[1 if column in (3, 4) else 0 for column in range(8)] for _ in range(8)]
    path = tmp_path / "vertical-line.yaml"
    path.write_text(VERTICAL_LINE % (image, response))
    return load_template(path)


def test_fixed_task_without_three_mistakes_falls_back_to_free_response(tmp_path, oracle):
    template = vertical_line(tmp_path)
    # its mistakes give a single wrong matrix of the answer's size: no single choice is possible
    task = template.fixed
    assert len(by_hand.wrong_answers(oracle, task, random.Random(0), 1)) == 1
    with pytest.raises(QuestionError, match="only 1 distinct"):
        by_hand.wrong_answers(oracle, task, random.Random(0), 3)
    items = [make_item(template, seed, oracle) for seed in range(8)]
    assert {item.questions[0].kind for item in items} == {"matrix"}
    row = (0, 0, 2, 0, -2, 0, 0)  # the edges on either side of the line, as Keras computes
    assert all(item.questions[0].answer == (row,) * 7 for item in items)


def test_fixed_task_asked_only_as_single_choice_still_fails(tmp_path, oracle):
    template = vertical_line(tmp_path, "    response: [single_choice]\n")
    with pytest.raises(QuestionError, match="vertical-line.yaml: its fixed model cannot carry"):
        make_item(template, 0, oracle)
