"""Convolution and pooling by hand: Keras (after set_weights) against an independent numpy
computation, over many sampled tasks; the seeds/004 matrices; executed distractors."""

import random

import numpy as np
import pytest

from quizgen.bank import load_template
from quizgen.errors import QuestionError
from quizgen.families import by_hand
from quizgen.formulas import task_closed_form
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


def numpy_today(task: Task) -> np.ndarray:
    """A dilated Conv2D, a Conv1D, a Conv2DTranspose or an UpSampling2D with numpy."""
    config = dict(task.layer.config)
    x, name = np.array(task.input, dtype=float), task.layer.class_name
    if name == "UpSampling2D":
        rows, columns = config["size"]
        return np.repeat(np.repeat(x, rows, axis=0), columns, axis=1)
    kernel = np.array(task.kernel, dtype=float)
    bias = task.bias if config.get("use_bias", True) else 0
    if name == "Conv2DTranspose":
        (k_h, k_w), strides = kernel.shape, config.get("strides", (1, 1))
        out = np.zeros(((x.shape[0] - 1) * strides[0] + k_h + strides[0],
                        (x.shape[1] - 1) * strides[1] + k_w + strides[1]))
        for (i, j), value in np.ndenumerate(x):
            out[i * strides[0]:i * strides[0] + k_h, j * strides[1]:j * strides[1] + k_w] += value * kernel
        return out[:x.shape[0] * strides[0] + max(k_h - strides[0], 0),
                   :x.shape[1] * strides[1] + max(k_w - strides[1], 0)] + bias
    if name == "Conv1D":
        stride = config.get("strides", 1)
        if config.get("padding") == "same":
            total = max((-(-x.shape[1] // stride) - 1) * stride + kernel.shape[1] - x.shape[1], 0)
            x = np.pad(x, ((0, 0), (total // 2, total - total // 2)))
        values = np.correlate(x[0], kernel[0], mode="valid")[::stride]
        return values[np.newaxis, :] + bias
    dilation = np.array(config["dilation_rate"])
    spread = np.zeros(dilation * (np.array(kernel.shape) - 1) + 1)
    spread[::dilation[0], ::dilation[1]] = kernel  # the dilated kernel, zeros in its gaps
    return numpy_reference(Task(task.layer.with_config(kernel_size=spread.shape, dilation_rate=None),
                                task.input, tuple(map(tuple, spread)), task.bias))


@pytest.mark.parametrize("layer", ["dilated", "conv1d", "transpose", "upsampling"])
def test_todays_layers_by_hand_equal_numpy_and_the_closed_form(layer, oracle):
    for seed in range(40):
        task = by_hand.by_hand(random.Random(seed), layer=layer)
        keras_output = oracle.run_task(task.spec, task.input, task.kernel, task.bias)
        np.testing.assert_allclose(keras_output, numpy_today(task), atol=1e-5, err_msg=str(task))
        assert [list(row) for row in keras_output] == task_closed_form(task), task


def test_transposed_convolution_and_upsampling_worked_by_hand(oracle):
    x = ((1, 2), (3, 4))
    transposed = Task(LayerSpec.make("Conv2DTranspose", filters=1, kernel_size=(2, 2),
                                     strides=(2, 2)), x, ((1, 0), (0, -1)), 1)
    # each value times [[1, 0], [0, -1]] in its own 2×2 block (strides 2: no overlap), plus 1
    assert oracle.run_task(transposed.spec, x, transposed.kernel, 1) == (
        (2, 1, 3, 1), (1, 0, 1, -1), (4, 1, 5, 1), (1, -2, 1, -3))
    overlapping = Task(transposed.layer.with_config(strides=(1, 1)), x, ((1, 1), (1, 1)), 0)
    # strides 1: the 2×2 blocks of ones overlap, the centre gets all four values
    assert oracle.run_task(overlapping.spec, x, overlapping.kernel, 0) == (
        (1, 3, 2), (4, 10, 6), (3, 7, 4))
    upsampling = Task(LayerSpec.make("UpSampling2D", size=(1, 2)), x)
    assert by_hand.run(oracle, upsampling) == ((1, 1, 2, 2), (3, 3, 4, 4))
    zeros = next(m for m in by_hand.MISCONCEPTIONS if m.label == "upsampling_zeros_inserted")
    assert by_hand.run(oracle, zeros.mutate(upsampling)) == ((1, 0, 2, 0), (3, 0, 4, 0))


def test_dilated_and_sequence_mistakes(oracle):
    x = ((1, 2, 0, 1), (0, 1, 3, 0), (2, 0, 1, 1), (1, 1, 0, 2))
    dilated = Task(LayerSpec.make("Conv2D", filters=1, kernel_size=(2, 2), dilation_rate=(2, 2)),
                   x, ((1, 0), (0, 1)), 0)
    # kernel values 2 apart: x[i][j] + x[i+2][j+2]
    assert by_hand.run(oracle, dilated) == ((1 + 1, 2 + 1), (0 + 0, 1 + 2))
    flipped = next(m for m in by_hand.MISCONCEPTIONS if m.label == "kernel_flipped")
    # flipped [[1, 0], [0, 1]] is itself: the sampler never draws such a kernel
    assert flipped.mutate(dilated) is None
    sequence = Task(LayerSpec.make("Conv1D", filters=1, kernel_size=3), ((1, 2, 0, 3, 1),),
                    ((1, 0, -1),), 2)
    assert sequence.spec.input_shape == (5, 1)
    assert "x = [1, 2, 0, 3, 1]\nkernel = [1, 0, -1]" in sequence.code()
    # 1 − 0 + 2 = 3, 2 − 3 + 2 = 1, 0 − 1 + 2 = 1; flipped [-1, 0, 1]: 1, 3, 3
    assert by_hand.run(oracle, sequence) == ((3, 1, 1),)
    assert by_hand.run(oracle, flipped.mutate(sequence)) == ((1, 3, 3),)
    assert Task.from_json(sequence.to_json()) == sequence
    with pytest.raises(Exception, match="takes one row"):
        Task.from_json({**sequence.to_json(), "input": [[1, 2, 3], [4, 5, 6]]})


@pytest.mark.parametrize("kernel_size, strides", [(2, 1), (3, 1), (3, 2), (2, 3), (4, 2)])
def test_transposed_same_padding_crops_as_keras(kernel_size, strides, oracle):
    x = ((1, 2, 0), (0, 3, 1), (2, 1, 1))
    kernel = tuple(tuple((row * kernel_size + column) % 3 - 1 for column in range(kernel_size))
                   for row in range(kernel_size))
    task = Task(LayerSpec.make("Conv2DTranspose", filters=1, kernel_size=kernel_size,
                               strides=strides, padding="same"), x, kernel, 1)
    keras_output = oracle.run_task(task.spec, x, kernel, 1)
    assert len(keras_output) == 3 * strides
    assert [list(row) for row in keras_output] == task_closed_form(task)
