"""Convolution and pooling by hand: Keras (after set_weights) against an independent numpy
computation, over many sampled tasks; the seeds/004 matrices; executed distractors."""

import random

import numpy as np
import pytest

from quizgen.families import by_hand
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
