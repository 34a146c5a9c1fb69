"""Closed forms (sympy) for output sizes and parameter counts, independent of Keras.

They serve three purposes: the samplers use them to keep every spatial size >= 1 without
importing Keras; the worked solutions print them in LaTeX with the numbers substituted; and the
tests (and `quizgen verify`) use them as an independent cross-check of the Keras oracle.

Sources (Keras 3 API docs):
- Conv2D: https://keras.io/api/layers/convolution_layers/convolution2d/ —
  output size `floor((W - K) / S) + 1` for `padding="valid"`, `ceil(W / S)` for `"same"`;
  kernel shape `(k_h, k_w, C_in, filters)`, bias shape `(filters,)`.
- MaxPooling2D / AveragePooling2D: https://keras.io/api/layers/pooling_layers/max_pooling2d/ —
  same size formulas with `pool_size` for K and `strides` defaulting to `pool_size`.
- Dense: https://keras.io/api/layers/core_layers/dense/ — kernel `(n_in, units)` on the last
  axis, bias `(units,)`.
- BatchNormalization: https://keras.io/api/layers/normalization_layers/batch_normalization/ —
  `gamma`, `beta` (trainable) and `moving_mean`, `moving_variance` (non-trainable), each `(C,)`.
- Conv3D: https://keras.io/api/layers/convolution_layers/convolution3d/ — the Conv2D size
  formula along depth, height and width; kernel `(k_d, k_h, k_w, C_in, filters)`.
- MultiHeadAttention: https://keras.io/api/layers/attention_layers/multi_head_attention/ —
  query, key and value projections per head (`key_dim`, `value_dim`), then an output
  projection back to the query's features (or `output_shape`), each with a bias.
"""

from __future__ import annotations

import ast
import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import sympy as sp

from quizgen.errors import ArchitectureError, QuestionError
from quizgen.facts import AXES, MODEL_FACTS, Answer, FactRef
from quizgen.spec import POOLING, LayerSpec, ModelSpec, Shape, Task

W, K, S = sp.symbols("W K S", integer=True, positive=True)
K_H, K_W, C_IN, F, B, N_IN, U, C, G, V, E, D = sp.symbols(
    "k_h k_w C_in F b n_in u C G V E d", integer=True, nonnegative=True
)
#: MultiHeadAttention: h heads of key_dim d_k and value_dim d_v; n_q, n_k, n_v the features
#: of the query, key and value inputs, n_o those of the output.
K_D = sp.Symbol("k_d", integer=True, nonnegative=True)
H, D_K, D_V, N_Q, N_K, N_V, N_O = sp.symbols("h d_k d_v n_q n_k n_v n_o", integer=True,
                                             nonnegative=True)

# Built unevaluated, so that the worked solutions print them in the textbook order.
with sp.evaluate(False):
    #: Output size along one spatial axis, per padding mode (Conv2D and pooling alike).
    OUTPUT_SIZE = {"valid": sp.floor((W - K) / S) + 1, "same": sp.ceiling(W / S)}
    #: Parameters of a Conv2D layer; `b` is 1 with `use_bias=True`, else 0.
    CONV2D_PARAMS = (K_H * K_W * C_IN + B) * F
    #: Parameters of a Dense layer applied to `n_in` features.
    DENSE_PARAMS = (N_IN + B) * U
    #: BatchNormalization: trainable gamma and beta, non-trainable moving mean and variance.
    BATCHNORM_TRAINABLE = 2 * C
    BATCHNORM_NON_TRAINABLE = 2 * C
    BATCHNORM_PARAMS = BATCHNORM_TRAINABLE + BATCHNORM_NON_TRAINABLE
    #: Output size of a transposed convolution (Keras' `compute_conv_transpose_output_shape`
    #: without output_padding).
    TRANSPOSE_SIZE = {"valid": W * S + sp.Max(K - S, 0), "same": W * S}
    #: Recurrent layers: G gates (SimpleRNN 1, GRU 3, LSTM 4), each with an input kernel, a
    #: recurrent kernel and b biases per unit (GRU with reset_after=True, Keras' default: 2).
    RNN_PARAMS = G * U * sp.Add(N_IN, U, B, evaluate=False)
    #: Embedding: one vector of output_dim values per token of the vocabulary.
    EMBEDDING_PARAMS = V * E
    #: The span of a kernel `K` wide dilated by `d` (`dilation_rate`): the window it covers
    #: (https://keras.io/api/layers/convolution_layers/convolution2d/).
    DILATED_KERNEL = D * (K - 1) + 1
    #: A Conv2D of `groups` G: each filter sees C_in / G of the input channels.
    GROUPED_CONV2D_PARAMS = (K_H * K_W * C_IN / G + B) * F
    #: Parameters of a Conv3D layer: a k_d × k_h × k_w kernel per input channel and filter.
    CONV3D_PARAMS = (K_D * K_H * K_W * C_IN + B) * F
    #: LayerNormalization over the last axis: a trainable gamma and beta per feature.
    LAYERNORM_PARAMS = 2 * C
    #: MultiHeadAttention: the query, key and value projections (a kernel of n × h × d and a
    #: bias of h × d each), then the output projection (h × d_v × n_o, and n_o biases).
    ATTENTION_PARAMS = sp.Add((N_Q + B) * H * D_K, (N_K + B) * H * D_K, (N_V + B) * H * D_V,
                              H * D_V * N_O, B * N_O, evaluate=False)


@cache
def _compiled(expression: sp.Expr, symbols: tuple[sp.Symbol, ...]):
    """`expression` as a plain Python function of `symbols` (sympy's `lambdify`: evaluating
    with `subs` costs about a millisecond, the compiled function microseconds)."""
    return sp.lambdify(symbols, expression, "math")


def evaluate(expression: sp.Expr, values: dict[sp.Symbol, int]) -> int:
    """The formula's value for the given symbol values (an integer; the formulas divide and
    round small whole numbers, which floating point does exactly)."""
    return int(_compiled(expression, tuple(values))(*values.values()))


def _size_function(padding: str, transposed: bool = False):
    formulas = TRANSPOSE_SIZE if transposed else OUTPUT_SIZE
    return _compiled(formulas[padding], (W, K, S))


def output_size(size: int, kernel: int, stride: int, padding: str) -> int:
    """Output size along one spatial axis (pixels) for a window `kernel` wide moved by `stride`.

    Raises:
        ArchitectureError: unknown padding, or the output would have no pixel (size < 1).
    """
    if padding not in OUTPUT_SIZE:
        raise ArchitectureError(f"padding must be 'valid' or 'same', got {padding!r}")
    result = int(_size_function(padding)(size, kernel, stride))
    if result < 1:
        raise ArchitectureError(
            f"a {kernel}-wide window with stride {stride} and padding {padding!r} does not fit "
            f"an input {size} wide (the output size would be {result}: zero or negative)"
        )
    return result


def pair(value: int | tuple[int, ...] | None, default: int | tuple[int, int]) -> tuple[int, int]:
    """Keras' normalisation of `kernel_size`, `strides`, `pool_size`: an int (or a 1-D layer's
    one-element tuple, as its `get_config()` writes it) means (v, v)."""
    value = default if value is None else value
    if isinstance(value, int):
        return (value, value)
    return (int(value[0]), int(value[-1]))


def window(layer: LayerSpec) -> tuple[tuple[int, int], tuple[int, int], str]:
    """`(kernel, strides, padding)` of a Conv2D or pooling layer, with Keras' defaults:
    Conv2D strides 1; pooling `pool_size` (2, 2) and strides equal to `pool_size`."""
    if layer.class_name in POOLING:
        kernel = pair(layer.get("pool_size"), 2)
        strides = pair(layer.get("strides"), kernel)
    else:
        kernel = pair(layer.get("kernel_size"), 1)
        strides = pair(layer.get("strides"), 1)
    return kernel, strides, layer.get("padding", "valid")


@dataclass(frozen=True)
class ClosedForm:
    """What the formulas say about one layer.

    `output_shape` has the batch axis as `None`; `weights` lists `(name, shape)` in Keras'
    `get_weights()` order; parameter counts are numbers of scalars.
    """

    output_shape: Shape
    trainable_params: int
    non_trainable_params: int
    weights: tuple[tuple[str, tuple[int, ...]], ...]

    @property
    def params(self) -> int:
        """All parameters of the layer (trainable + non-trainable)."""
        return self.trainable_params + self.non_trainable_params


def dilated_window(layer: LayerSpec) -> tuple[int, int]:
    """The spans (height, width) a Conv2D's kernel covers: `kernel_size` dilated by
    `dilation_rate` (`DILATED_KERNEL`; the kernel itself without dilation)."""
    (k_h, k_w), _, _ = window(layer)
    d_h, d_w = pair(layer.get("dilation_rate"), 1)
    return evaluate(DILATED_KERNEL, {D: d_h, K: k_h}), evaluate(DILATED_KERNEL, {D: d_w, K: k_w})


def _conv2d(layer: LayerSpec, shape: Shape) -> ClosedForm:
    """Conv2D, its window dilated by `dilation_rate` and its channels split into `groups`
    (https://keras.io/api/layers/convolution_layers/convolution2d/)."""
    _, height, width, channels = shape
    (k_h, k_w), (s_h, s_w), padding = window(layer)
    span_h, span_w = dilated_window(layer)
    filters, groups = int(layer.get("filters")), int(layer.get("groups", 1))
    if channels % groups or filters % groups:
        raise ArchitectureError(f"groups={groups} must divide the {channels} input channels and "
                                f"the {filters} filters")
    bias = bool(layer.get("use_bias", True))
    out = (None, output_size(height, span_h, s_h, padding),
           output_size(width, span_w, s_w, padding), filters)
    values = {K_H: k_h, K_W: k_w, C_IN: channels, B: int(bias), F: filters}
    params = evaluate(CONV2D_PARAMS, values) if groups == 1 else evaluate(
        GROUPED_CONV2D_PARAMS, values | {G: groups})
    weights = (("kernel", (k_h, k_w, channels // groups, filters)),) + (
        (("bias", (filters,)),) if bias else ())
    return ClosedForm(out, params, 0, weights)


def sides(value: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras' reading of ZeroPadding2D's `padding` and Cropping2D's `cropping`: an int (every
    side), `(rows, columns)` (each on both sides) or `((top, bottom), (left, right))`."""
    if isinstance(value, int):
        return (value, value), (value, value)
    rows, columns = value
    return pair(rows, 0), pair(columns, 0)


def _zero_padding(layer: LayerSpec, shape: Shape) -> ClosedForm:
    """ZeroPadding2D: rows of zeros on top and bottom, columns left and right
    (https://keras.io/api/layers/reshaping_layers/zero_padding2d/)."""
    (top, bottom), (left, right) = sides(layer.get("padding", 1))
    _, height, width, channels = shape
    return ClosedForm((None, height + top + bottom, width + left + right, channels), 0, 0, ())


def _cropping(layer: LayerSpec, shape: Shape) -> ClosedForm:
    """Cropping2D: rows cut from top and bottom, columns from left and right
    (https://keras.io/api/layers/reshaping_layers/cropping2d/)."""
    (top, bottom), (left, right) = sides(layer.get("cropping", 0))
    _, height, width, channels = shape
    out = (None, height - top - bottom, width - left - right, channels)
    if min(out[1:3]) < 1:
        raise ArchitectureError(f"cropping {((top, bottom), (left, right))} leaves nothing of a "
                                f"{height}×{width} input")
    return ClosedForm(out, 0, 0, ())


def _upsampling(layer: LayerSpec, shape: Shape) -> ClosedForm:
    """UpSampling2D: every row repeated size[0] times, every column size[1] times
    (https://keras.io/api/layers/reshaping_layers/up_sampling2d/)."""
    rows, columns = pair(layer.get("size"), 2)
    _, height, width, channels = shape
    return ClosedForm((None, height * rows, width * columns, channels), 0, 0, ())


def _reshape(layer: LayerSpec, shape: Shape) -> ClosedForm:
    """Reshape: the same values laid out as `target_shape`, where one size may be -1 (what is
    left; https://keras.io/api/layers/reshaping_layers/reshape/)."""
    target = tuple(int(size) for size in layer.get("target_shape"))
    values, known = math.prod(shape[1:]), math.prod(size for size in target if size != -1)
    if target.count(-1) == 1 and known and values % known == 0:
        target = tuple(values // known if size == -1 else size for size in target)
    if math.prod(target) != values:
        raise ArchitectureError(f"Reshape to {target} needs {math.prod(target)} values per sample; "
                                f"the input has {values}")
    return ClosedForm((None, *target), 0, 0, ())


def _layer_normalization(layer: LayerSpec, shape: Shape) -> ClosedForm:
    """LayerNormalization over the last axis: a gamma and a beta per feature, both trainable
    (https://keras.io/api/layers/normalization_layers/layer_normalization/)."""
    if not (layer.get("center", True) and layer.get("scale", True)):
        raise NotImplementedError("LayerNormalization without beta or gamma: left to Keras")
    features = shape[-1]
    return ClosedForm(shape, evaluate(LAYERNORM_PARAMS, {C: features}), 0,
                      (("gamma", (features,)), ("beta", (features,))))


def _pooling(layer: LayerSpec, shape: Shape) -> ClosedForm:
    _, height, width, channels = shape
    (k_h, k_w), (s_h, s_w), padding = window(layer)
    out = (None, output_size(height, k_h, s_h, padding), output_size(width, k_w, s_w, padding),
           channels)
    return ClosedForm(out, 0, 0, ())


def _dense(layer: LayerSpec, shape: Shape) -> ClosedForm:
    units = int(layer.get("units"))
    bias = bool(layer.get("use_bias", True))
    params = evaluate(DENSE_PARAMS, {N_IN: shape[-1], B: int(bias), U: units})
    weights = (("kernel", (shape[-1], units)),) + ((("bias", (units,)),) if bias else ())
    return ClosedForm((*shape[:-1], units), params, 0, weights)


def _batch_normalization(layer: LayerSpec, shape: Shape) -> ClosedForm:
    if not (layer.get("center", True) and layer.get("scale", True)):
        raise NotImplementedError("BatchNormalization without beta or gamma: left to Keras")
    channels = shape[-1]
    weights = tuple((name, (channels,)) for name in ("gamma", "beta", "moving_mean", "moving_variance"))
    return ClosedForm(shape, evaluate(BATCHNORM_TRAINABLE, {C: channels}),
                      evaluate(BATCHNORM_NON_TRAINABLE, {C: channels}), weights)


def _flatten(layer: LayerSpec, shape: Shape) -> ClosedForm:
    return ClosedForm((None, math.prod(shape[1:])), 0, 0, ())


def _unchanged(layer: LayerSpec, shape: Shape) -> ClosedForm:
    return ClosedForm(shape, 0, 0, ())


def _single(value: int | tuple[int, ...] | None, default: int) -> int:
    return default if value is None else (value if isinstance(value, int) else int(value[0]))


def _bias_weights(layer: LayerSpec, size: int) -> tuple[tuple[str, tuple[int, ...]], ...]:
    return (("bias", (size,)),) if layer.get("use_bias", True) else ()


def _closed(out: Shape, weights: tuple[tuple[str, tuple[int, ...]], ...]) -> ClosedForm:
    """A layer whose weights are all trainable: its parameters are the weights' sizes."""
    return ClosedForm(out, sum(math.prod(shape) for _, shape in weights), 0, weights)


def _conv1d(layer: LayerSpec, shape: Shape) -> ClosedForm:
    _, length, channels = shape
    kernel, stride = _single(layer.get("kernel_size"), 1), _single(layer.get("strides"), 1)
    filters = int(layer.get("filters"))
    out = (None, output_size(length, kernel, stride, layer.get("padding", "valid")), filters)
    return _closed(out, (("kernel", (kernel, channels, filters)),) + _bias_weights(layer, filters))


def transposed_size(size: int, kernel: int, stride: int, padding: str) -> int:
    """Output size of a transposed convolution along one axis: `W·S + max(K − S, 0)`
    ('valid') or `W·S` ('same')."""
    return int(_size_function(padding, True)(size, kernel, stride))


def _conv2d_transpose(layer: LayerSpec, shape: Shape) -> ClosedForm:
    _, height, width, channels = shape
    (k_h, k_w), (s_h, s_w), padding = window(layer)
    filters = int(layer.get("filters"))
    out = (None, transposed_size(height, k_h, s_h, padding), transposed_size(width, k_w, s_w, padding),
           filters)
    return _closed(out, (("kernel", (k_h, k_w, filters, channels)),) + _bias_weights(layer, filters))


def _windowed(layer: LayerSpec, shape: Shape, depth: int) -> Shape:
    (k_h, k_w), (s_h, s_w), padding = window(layer)
    return (None, output_size(shape[1], k_h, s_h, padding), output_size(shape[2], k_w, s_w, padding),
            depth)


def _separable_conv2d(layer: LayerSpec, shape: Shape) -> ClosedForm:
    (k_h, k_w), _, _ = window(layer)
    channels, filters = shape[-1], int(layer.get("filters"))
    multiplier = int(layer.get("depth_multiplier", 1))
    weights = (("depthwise_kernel", (k_h, k_w, channels, multiplier)),
               ("pointwise_kernel", (1, 1, channels * multiplier, filters)))
    return _closed(_windowed(layer, shape, filters), weights + _bias_weights(layer, filters))


def _depthwise_conv2d(layer: LayerSpec, shape: Shape) -> ClosedForm:
    (k_h, k_w), _, _ = window(layer)
    channels, multiplier = shape[-1], int(layer.get("depth_multiplier", 1))
    weights = (("kernel", (k_h, k_w, channels, multiplier)),)
    return _closed(_windowed(layer, shape, channels * multiplier),
                   weights + _bias_weights(layer, channels * multiplier))


def triple(value: int | tuple[int, ...] | None, default: int | tuple[int, int, int]) -> tuple[int, int, int]:
    """Keras' normalisation of a 3-D `kernel_size`, `strides`, `pool_size`: an int means (v, v, v)."""
    value = default if value is None else value
    return (value,) * 3 if isinstance(value, int) else tuple(int(item) for item in value)


def _volume(layer: LayerSpec, shape: Shape, depth: int) -> Shape:
    """The output of a 3-D window (Conv3D or pooling) on `(None, D, H, W, C)`: each of the
    three spatial sizes as Conv2D's, `depth` channels."""
    pooling = layer.class_name in ("MaxPooling3D", "AveragePooling3D")
    kernel = triple(layer.get("pool_size" if pooling else "kernel_size"), 2 if pooling else 1)
    strides = triple(layer.get("strides"), kernel if pooling else 1)
    padding = layer.get("padding", "valid")
    return (None, *(output_size(size, k, s, padding)
                    for size, k, s in zip(shape[1:4], kernel, strides, strict=True)), depth)


def _conv3d(layer: LayerSpec, shape: Shape) -> ClosedForm:
    """Conv3D (https://keras.io/api/layers/convolution_layers/convolution3d/)."""
    k_d, k_h, k_w = triple(layer.get("kernel_size"), 1)
    filters, channels = int(layer.get("filters")), shape[-1]
    bias = bool(layer.get("use_bias", True))
    params = evaluate(CONV3D_PARAMS, {K_D: k_d, K_H: k_h, K_W: k_w, C_IN: channels, B: int(bias),
                                      F: filters})
    weights = (("kernel", (k_d, k_h, k_w, channels, filters)),) + _bias_weights(layer, filters)
    return ClosedForm(_volume(layer, shape, filters), params, 0, weights)


def _pooling3d(layer: LayerSpec, shape: Shape) -> ClosedForm:
    return ClosedForm(_volume(layer, shape, shape[-1]), 0, 0, ())


def _global_pooling(layer: LayerSpec, shape: Shape) -> ClosedForm:
    return ClosedForm((None, shape[-1]), 0, 0, ())


def _embedding(layer: LayerSpec, shape: Shape) -> ClosedForm:
    vocabulary, size = int(layer.get("input_dim")), int(layer.get("output_dim"))
    return _closed((*shape, size), (("embeddings", (vocabulary, size)),))


GATES = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}


def _recurrent(layer: LayerSpec, shape: Shape) -> ClosedForm:
    _, steps, features = shape
    units, gates = int(layer.get("units")), GATES[layer.class_name]
    reset_after = layer.class_name == "GRU" and layer.get("reset_after", True)
    bias = (("bias", (2, gates * units) if reset_after else (gates * units,)),) \
        if layer.get("use_bias", True) else ()
    weights = (("kernel", (features, gates * units)), ("recurrent_kernel", (units, gates * units)))
    out = (None, steps, units) if layer.get("return_sequences", False) else (None, units)
    return _closed(out, weights + bias)


def _bidirectional(layer: LayerSpec, shape: Shape) -> ClosedForm:
    """Forward and backward copies of the inner layer, outputs concatenated (merge_mode
    "concat", Keras' default): weights `forward/kernel` … `backward/bias`."""
    one = _recurrent(layer.wrapped(), shape)
    return _closed((*one.output_shape[:-1], 2 * one.output_shape[-1]), tuple(
        (f"{direction}/{weight}", size) for direction in ("forward", "backward")
        for weight, size in one.weights))


def _merge(layer: LayerSpec, shapes: tuple[Shape, ...]) -> ClosedForm:
    """`Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`: element-wise over inputs
    of one shape, which the output keeps; no weights
    (https://keras.io/api/layers/merging_layers/add/)."""
    if len(set(shapes)) != 1:
        raise NotImplementedError("inputs of several shapes (broadcast): left to Keras")
    return ClosedForm(shapes[0], 0, 0, ())


def _concatenate(layer: LayerSpec, shapes: tuple[Shape, ...]) -> ClosedForm:
    """`Concatenate(axis=-1)`: the inputs side by side along `axis`, whose sizes add up; the
    other sizes must agree; no weights (https://keras.io/api/layers/merging_layers/concatenate/)."""
    axis = layer.get("axis", -1) % len(shapes[0])
    others = {shape[:axis] + shape[axis + 1:] for shape in shapes}
    if len(others) != 1 or len({len(shape) for shape in shapes}) != 1:
        raise ArchitectureError(f"Concatenate needs inputs whose sizes agree except along axis "
                                f"{layer.get('axis', -1)}, got {shapes}")
    size = sum(shape[axis] for shape in shapes)
    return ClosedForm((*shapes[0][:axis], size, *shapes[0][axis + 1:]), 0, 0, ())


def _attention(layer: LayerSpec, shapes: tuple[Shape, ...]) -> ClosedForm:
    """MultiHeadAttention called on `(query, value)` or `(query, value, key)`: each input
    projected per head (`EinsumDense` sublayers `query`, `key`, `value`), the heads' values
    projected back (`attention_output`) to the query's features or `output_shape`; the output
    has the query's shape but for that last axis
    (https://keras.io/api/layers/attention_layers/multi_head_attention/)."""
    values = attention_values(layer, shapes)
    heads, out, bias = values[H], values[N_O], values[B]
    weights = []
    for name, features, size in (("query", N_Q, D_K), ("key", N_K, D_K), ("value", N_V, D_V)):
        weights += [(f"{name}/kernel", (values[features], heads, values[size]))] + (
            [(f"{name}/bias", (heads, values[size]))] if bias else [])
    weights += [("attention_output/kernel", (heads, values[D_V], out))] + (
        [("attention_output/bias", (out,))] if bias else [])
    return ClosedForm((*shapes[0][:-1], out), evaluate(ATTENTION_PARAMS, values), 0,
                      tuple(weights))


def attention_values(layer: LayerSpec, shapes: tuple[Shape, ...]) -> dict[sp.Symbol, int]:
    """The values of `ATTENTION_PARAMS`' symbols for a MultiHeadAttention on `shapes`: the
    query's, value's and key's (the value's when none is given) shapes, batch axis `None`.

    Raises:
        ArchitectureError: not two or three input shapes.
    """
    if not shapes or not isinstance(shapes[0], tuple) or len(shapes) not in (2, 3):
        raise ArchitectureError("MultiHeadAttention is called on a query and a value (and "
                                f"optionally a key), got inputs {shapes}")
    query, value, key = shapes[0], shapes[1], shapes[-1]
    key_dim = int(layer.get("key_dim"))
    return {N_Q: query[-1], N_K: key[-1], N_V: value[-1],
            N_O: int(layer.get("output_shape") or query[-1]), H: int(layer.get("num_heads")),
            D_K: key_dim, D_V: int(layer.get("value_dim") or key_dim),
            B: int(bool(layer.get("use_bias", True)))}


#: Layers that take a list of tensors (several inputs in a functional model).
MERGE_LAYERS = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate")

_RULES = {
    **dict.fromkeys(MERGE_LAYERS[:-1], _merge), "Concatenate": _concatenate,
    "Conv2D": _conv2d, "MaxPooling2D": _pooling, "AveragePooling2D": _pooling,
    "Dense": _dense, "BatchNormalization": _batch_normalization, "Flatten": _flatten,
    "Dropout": _unchanged, "Activation": _unchanged, "Conv1D": _conv1d,
    "Conv2DTranspose": _conv2d_transpose, "SeparableConv2D": _separable_conv2d,
    "DepthwiseConv2D": _depthwise_conv2d, "GlobalAveragePooling2D": _global_pooling,
    "GlobalAveragePooling1D": _global_pooling, "GlobalMaxPooling2D": _global_pooling,
    "Embedding": _embedding, "SimpleRNN": _recurrent, "GRU": _recurrent, "LSTM": _recurrent,
    "Bidirectional": _bidirectional, "ZeroPadding2D": _zero_padding, "Cropping2D": _cropping,
    "UpSampling2D": _upsampling, "Reshape": _reshape, "LayerNormalization": _layer_normalization,
    "MultiHeadAttention": _attention, "Conv3D": _conv3d, "MaxPooling3D": _pooling3d,
    "AveragePooling3D": _pooling3d, "GlobalAveragePooling3D": _global_pooling,
    "GlobalMaxPooling3D": _global_pooling,
}

#: Layers that need an input of shape (None, height, width, channels).
IMAGE_LAYERS = ("Conv2D", "MaxPooling2D", "AveragePooling2D", "Conv2DTranspose",
                "SeparableConv2D", "DepthwiseConv2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
                "ZeroPadding2D", "Cropping2D", "UpSampling2D")
#: Layers that need an input of shape (None, depth, height, width, channels).
VOLUME_LAYERS = ("Conv3D", "MaxPooling3D", "AveragePooling3D", "GlobalAveragePooling3D",
                 "GlobalMaxPooling3D")
#: Layers that need an input of shape (None, steps, features).
SEQUENCE_LAYERS = ("Conv1D", "GlobalAveragePooling1D", "SimpleRNN", "GRU", "LSTM", "Bidirectional")



def layer_closed_form(layer: LayerSpec, input_shape: Shape) -> ClosedForm:
    """Closed form of `layer` applied to an input of `input_shape` (batch axis `None`).

    Raises:
        ArchitectureError: the layer does not fit its input (a window wider than the map, a
            Conv2D or pooling layer on a non-image input).
        NotImplementedError: no closed form is known for `layer.class_name`.
    """
    rule = _RULES.get(layer.class_name)
    if rule is None:
        raise NotImplementedError(f"no closed form for {layer.class_name}")
    for classes, axes in ((IMAGE_LAYERS, "(None, height, width, channels)"),
                          (VOLUME_LAYERS, "(None, depth, height, width, channels)"),
                          (SEQUENCE_LAYERS, "(None, steps, features)")):
        if layer.class_name in classes and len(input_shape) != axes.count(",") + 1:
            raise ArchitectureError(f"{layer.class_name} needs an input of shape {axes}, "
                                    f"got {input_shape}")
    return rule(layer, input_shape)


def model_closed_form(spec: ModelSpec) -> list[ClosedForm]:
    """Closed form of every layer of `spec`, in order, each on the output of the layers it
    takes tensors from (in a chain, the one before).

    Raises:
        ArchitectureError: as `layer_closed_form`.
        NotImplementedError: as `layer_closed_form`, or a layer has an argument the closed
            forms do not model (`exactly_modelled`): Keras alone answers.
    """
    forms: list[ClosedForm] = []
    outputs: list[Shape] = []
    for index, layer in enumerate(spec.layers):
        if not exactly_modelled(layer):
            raise NotImplementedError(f"layer {index} ({layer.class_name}) has an argument the "
                                      "closed forms do not model")
        try:
            form = layer_closed_form(layer, spec.received(index, outputs))
        except ArchitectureError as error:
            raise ArchitectureError(f"layer {index} ({layer.class_name}): {error}") from error
        forms.append(form)
        outputs.append(form.output_shape)
    return forms


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _window_argument(rank: int) -> Callable[[Any], bool]:
    """A `kernel_size`, `strides` or `pool_size` the closed forms read exactly: a positive int
    or `rank` of them."""
    def check(value: Any) -> bool:
        return _positive(value) or (isinstance(value, tuple) and len(value) == rank
                                    and all(_positive(item) for item in value))

    return check


def _any(value: Any) -> bool:
    return True


_WINDOW_1D, _WINDOW_2D, _WINDOW_3D = _window_argument(1), _window_argument(2), _window_argument(3)
def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _sides_argument(value: Any) -> bool:
    """A `padding` or `cropping` the closed forms read (`sides`): an int, two, or two pairs."""
    if _is_size(value):
        return True
    return isinstance(value, list | tuple) and len(value) == 2 and all(
        _is_size(part) or (isinstance(part, list | tuple) and len(part) == 2
                           and all(map(_is_size, part))) for part in value)


_PADDING = {"padding": lambda value: isinstance(value, str) and value in ("valid", "same")}
_RECURRENT = {"units": _positive, "return_sequences": lambda value: isinstance(value, bool)}

#: Arguments that never change the output shape of a layer Keras builds (activations,
#: initializers, regularizers, constraints, dropout rates, ...).
SHAPE_NEUTRAL = frozenset({
    "name", "trainable", "dtype", "activation", "recurrent_activation", "use_bias", "rate", "seed",
    "noise_shape", "dropout", "recurrent_dropout", "unit_forget_bias", "go_backwards", "stateful",
    "unroll", "momentum", "epsilon", "center", "scale", "mask_zero", "activity_regularizer",
    *(f"{weight}_{kind}" for weight in ("kernel", "bias", "recurrent", "depthwise", "pointwise",
                                        "embeddings", "beta", "gamma", "moving_mean",
                                        "moving_variance")
      for kind in ("initializer", "regularizer", "constraint")),
})

#: The arguments that shape a layer's output, per class with a closed form, each with the
#: values the closed forms model exactly (anything else, e.g. `data_format`, `dilation_rate`
#: or `padding="causal"`, is left to Keras).
SHAPE_ARGUMENTS: dict[str, dict[str, Callable[[Any], bool]]] = {
    "Conv2D": {"filters": _positive, "kernel_size": _WINDOW_2D, "strides": _WINDOW_2D,
               "dilation_rate": _WINDOW_2D, "groups": _positive, **_PADDING},
    "Conv2DTranspose": {"filters": _positive, "kernel_size": _WINDOW_2D, "strides": _WINDOW_2D,
                        **_PADDING},
    "SeparableConv2D": {"filters": _positive, "kernel_size": _WINDOW_2D, "strides": _WINDOW_2D,
                        "depth_multiplier": _positive, **_PADDING},
    "DepthwiseConv2D": {"kernel_size": _WINDOW_2D, "strides": _WINDOW_2D,
                        "depth_multiplier": _positive, **_PADDING},
    "MaxPooling2D": {"pool_size": _WINDOW_2D, "strides": _WINDOW_2D, **_PADDING},
    "AveragePooling2D": {"pool_size": _WINDOW_2D, "strides": _WINDOW_2D, **_PADDING},
    "Conv1D": {"filters": _positive, "kernel_size": _WINDOW_1D, "strides": _WINDOW_1D, **_PADDING},
    "Conv3D": {"filters": _positive, "kernel_size": _WINDOW_3D, "strides": _WINDOW_3D, **_PADDING},
    "MaxPooling3D": {"pool_size": _WINDOW_3D, "strides": _WINDOW_3D, **_PADDING},
    "AveragePooling3D": {"pool_size": _WINDOW_3D, "strides": _WINDOW_3D, **_PADDING},
    "GlobalAveragePooling3D": {}, "GlobalMaxPooling3D": {},
    "Dense": {"units": _positive},
    "BatchNormalization": {"axis": _any},
    "Flatten": {}, "Dropout": {}, "Activation": {},
    "ZeroPadding2D": {"padding": _sides_argument}, "Cropping2D": {"cropping": _sides_argument},
    "UpSampling2D": {"size": _WINDOW_2D, "interpolation": _any},
    "Reshape": {"target_shape": lambda value: isinstance(value, list | tuple) and all(
        _is_size(size) or size == -1 for size in value)},
    "LayerNormalization": {"axis": lambda value: value in (-1, [-1], (-1,))},
    "MultiHeadAttention": {"num_heads": _positive, "key_dim": _positive,
                           "value_dim": lambda value: value is None or _positive(value),
                           "output_shape": lambda value: value is None or _positive(value),
                           "use_gate": lambda value: value is False,
                           "attention_axes": _any, "sliding_window": _any},
    **dict.fromkeys(MERGE_LAYERS[:-1], {}), "Concatenate": {"axis": lambda value: isinstance(value, int)},
    "GlobalAveragePooling2D": {}, "GlobalAveragePooling1D": {}, "GlobalMaxPooling2D": {},
    "Embedding": {"input_dim": _positive, "output_dim": _positive},
    "SimpleRNN": _RECURRENT, "LSTM": _RECURRENT,
    "GRU": {**_RECURRENT, "reset_after": lambda value: isinstance(value, bool)},
    "Bidirectional": {"layer": _any, "merge_mode": lambda value: value == "concat"},
}


def exactly_modelled(layer: LayerSpec) -> bool:
    """Whether the closed forms model every argument of `layer` that can change its output
    shape (so that, if Keras builds it, its output shape is the closed form's)."""
    arguments = SHAPE_ARGUMENTS.get(layer.class_name)
    if arguments is None:
        return False
    for key, value in layer.config:
        if key in arguments:
            if not arguments[key](value):
                return False
        elif key not in SHAPE_NEUTRAL:
            return False
    if layer.class_name != "Bidirectional":
        return True
    try:
        inner = layer.wrapped()
    except (TypeError, ValueError, KeyError, AttributeError):
        return False
    return inner.class_name in GATES and exactly_modelled(inner)


def unbuildable(spec: ModelSpec) -> ArchitectureError | None:
    """The error the closed forms give for `spec` when it is certain that Keras cannot build it
    either (a window wider than its input, a layer on an input of the wrong rank), else None.
    Only what is certain is reported: a layer without a closed form, or with an argument the
    closed forms do not model exactly (`exactly_modelled`), at or before the failing one makes
    the answer None (Keras decides). Never imports Keras."""
    try:
        model_closed_form(spec)
    except ArchitectureError as error:
        return error
    except (NotImplementedError, TypeError, ValueError, KeyError, IndexError, ArithmeticError):
        return None
    return None


def latex(expression: sp.Expr, values: dict[sp.Symbol, int] | None = None) -> str:
    """LaTeX of `expression`, or of it with `values` substituted but not evaluated."""
    return _latex(expression, tuple((values or {}).items()))


@cache
def _latex(expression: sp.Expr, values: tuple[tuple[sp.Symbol, int], ...]) -> str:
    if values:  # xreplace: what subs gives for numbers in place of symbols, 5 times faster
        with sp.evaluate(False):
            expression = expression.xreplace({symbol: sp.sympify(value) for symbol, value in values})
    return sp.latex(expression, order="none")


def size_derivation(size: int, kernel: int, stride: int, padding: str) -> str:
    """`$\\lfloor (W - K)/S \\rfloor + 1 = \\lfloor (28 - 3)/1 \\rfloor + 1 = 26$` for one axis."""
    formula = OUTPUT_SIZE[padding]
    result = output_size(size, kernel, stride, padding)
    return f"${latex(formula)} = {latex(formula, {W: size, K: kernel, S: stride})} = {result}$"


def params_derivation(layer: LayerSpec, input_shape: Shape) -> str:
    """Worked parameter count of one layer in LaTeX, e.g.
    `$(k_h k_w C_{in} + b) F = (3 \\cdot 3 \\cdot 1 + 1) 32 = 320$`.

    Raises:
        NotImplementedError: the layer has no closed form.
    """
    form = layer_closed_form(layer, input_shape)
    bias = int(bool(layer.get("use_bias", True)))
    legend = ""
    if layer.class_name == "Conv2D":
        (k_h, k_w), _, _ = window(layer)
        values = {K_H: k_h, K_W: k_w, C_IN: input_shape[-1], B: bias, F: layer.get("filters")}
        expression = CONV2D_PARAMS
        if layer.get("groups", 1) != 1:
            values[G], expression = layer.get("groups"), GROUPED_CONV2D_PARAMS
    elif layer.class_name == "Dense":
        values = {N_IN: input_shape[-1], B: bias, U: layer.get("units")}
        expression = DENSE_PARAMS
    elif layer.class_name == "BatchNormalization":
        values = {C: input_shape[-1]}
        expression = BATCHNORM_PARAMS
    elif layer.class_name in GATES or layer.class_name == "Bidirectional":
        recurrent = layer.wrapped() if layer.class_name == "Bidirectional" else layer
        gates = GATES[recurrent.class_name]
        biases = 2 if recurrent.class_name == "GRU" and recurrent.get("reset_after", True) else 1
        values = {G: gates, U: recurrent.get("units"), N_IN: input_shape[-1],
                  B: biases if recurrent.get("use_bias", True) else 0}
        expression = RNN_PARAMS if layer.class_name in GATES else 2 * RNN_PARAMS
    elif layer.class_name == "Embedding":
        values = {V: layer.get("input_dim"), E: layer.get("output_dim")}
        expression = EMBEDDING_PARAMS
    elif layer.class_name == "LayerNormalization":
        values = {C: input_shape[-1]}
        expression = LAYERNORM_PARAMS
    elif layer.class_name == "Conv3D":
        (k_d, k_h, k_w), expression = triple(layer.get("kernel_size"), 1), CONV3D_PARAMS
        values = {K_D: k_d, K_H: k_h, K_W: k_w, C_IN: input_shape[-1], B: bias,
                  F: layer.get("filters")}
    elif layer.class_name == "MultiHeadAttention":
        values, expression = attention_values(layer, input_shape), ATTENTION_PARAMS
        legend = (r", with $h$ = num_heads, $d_k$ = key_dim, $d_v$ = value_dim, $n_q$, $n_k$, "
                  r"$n_v$ the features of the query, key and value, $n_o$ those of the output, "
                  r"$b = 1$ with biases")
    elif form.weights:
        sizes = " + ".join(r" \cdot ".join(map(str, shape)) for _, shape in form.weights)
        names = " + ".join(name.replace("_", r"\_") for name, _ in form.weights)
        return f"$\\text{{{names}}} = {sizes} = {form.params}$"
    else:
        return f"${form.params}$ (a {layer.class_name} layer has no weights)"
    return f"${latex(expression)} = {latex(expression, values)} = {form.params}${legend}"


def closed_form_fact(spec: ModelSpec, ref: FactRef) -> Answer:
    """The fact `ref` as the closed forms give it (no Keras): the independent cross-check.

    Raises:
        NotImplementedError: a layer of `spec` has no closed form.
        ArchitectureError: the formulas say the model cannot be built.
        QuestionError: the fact does not exist for this model.
    """
    forms = model_closed_form(spec)
    if ref.fact in MODEL_FACTS:
        column = {"total_params": "params"}.get(ref.fact, ref.fact)
        return sum(getattr(form, column) for form in forms)
    if ref.layer is None or not -len(forms) <= ref.layer < len(forms):
        raise QuestionError(f"{ref.fact}: layer {ref.layer} out of range")
    form = forms[ref.layer]
    if ref.fact == "params":
        return form.params
    if ref.fact == "weight_shape":
        weights = dict(form.weights)
        if ref.weight not in weights:
            raise QuestionError(f"layer {ref.layer} has no weight {ref.weight!r}")
        return weights[ref.weight]
    shape = form.output_shape
    return shape if ref.axis is None else shape[AXES[ref.axis]]


def padding_amounts(size: int, kernel: int, stride: int, padding: str) -> tuple[int, int]:
    """Pixels added before and after one axis. 'valid' adds none; 'same' adds
    `max((out - 1)·S + K - W, 0)` in total, the smaller half before (top/left) and the larger
    after (bottom/right), as TensorFlow and Keras do
    (https://www.tensorflow.org/api_docs/python/tf/nn#notes_on_padding_2)."""
    if padding == "valid":
        return 0, 0
    total = max((output_size(size, kernel, stride, padding) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


Window = tuple[tuple[int, int], tuple[int, int], str, tuple[int, int]]


def task_window(layer: LayerSpec) -> Window:
    """`(kernel, strides, padding, dilation)` of a by-hand task's layer, each `(rows,
    columns)` of its input matrix: a Conv1D's input is one row, so its window is 1×k; an
    UpSampling2D's is 1×1 (each output value is one input value)."""
    if layer.class_name == "Conv1D":
        return ((1, _single(layer.get("kernel_size"), 1)), (1, _single(layer.get("strides"), 1)),
                layer.get("padding", "valid"), (1, _single(layer.get("dilation_rate"), 1)))
    if layer.class_name == "UpSampling2D":
        return (1, 1), (1, 1), "valid", (1, 1)
    kernel, strides, padding = window(layer)
    return kernel, strides, padding, pair(layer.get("dilation_rate"), 1)


def task_spans(layer: LayerSpec) -> tuple[int, int]:
    """The rows and columns a by-hand task's window covers: its kernel dilated
    (`DILATED_KERNEL`)."""
    kernel, _, _, dilation = task_window(layer)
    return tuple(evaluate(DILATED_KERNEL, {D: d, K: k}) for d, k in zip(dilation, kernel,
                                                                         strict=True))


def task_windows(task: Task) -> list[tuple[int, int, list[list[float | None]]]]:
    """Every window of a by-hand task, row by row: `(row, column, values)` with 0-based output
    coordinates and `None` for padded pixels; a dilated kernel's window holds the pixels it
    multiplies (every d-th). UpSampling2D's output value at `(i, j)` is the input's at
    `(i // rows, j // columns)`, a window of one. Independent of Keras (plain Python).

    Raises:
        NotImplementedError: a Conv2DTranspose (its output is scattered: `task_closed_form`).
    """
    height, width = len(task.input), len(task.input[0])

    def pixel(r: int, c: int) -> float | None:
        return task.input[r][c] if 0 <= r < height and 0 <= c < width else None

    if task.layer.class_name == "Conv2DTranspose":
        raise NotImplementedError("a transposed convolution scatters its input: no windows")
    if task.layer.class_name == "UpSampling2D":
        rows, columns = pair(task.layer.get("size"), 2)
        return [(i, j, [[pixel(i // rows, j // columns)]])
                for i in range(height * rows) for j in range(width * columns)]
    (k_h, k_w), (s_h, s_w), padding, (d_h, d_w) = task_window(task.layer)
    span_h, span_w = task_spans(task.layer)
    top, _ = padding_amounts(height, span_h, s_h, padding)
    left, _ = padding_amounts(width, span_w, s_w, padding)
    return [
        (i, j, [[pixel(i * s_h - top + a * d_h, j * s_w - left + b * d_w) for b in range(k_w)]
                for a in range(k_h)])
        for i in range(output_size(height, span_h, s_h, padding))
        for j in range(output_size(width, span_w, s_w, padding))
    ]


def window_value(task: Task, values: list[list[float | None]]) -> float:
    """One output value from its window: cross-correlation with the kernel plus the bias
    (padding counts as 0) for Conv2D and Conv1D; the maximum, or the mean of the real pixels
    (padding is left out), for pooling; the one value, for UpSampling2D."""
    real = [v for row in values for v in row if v is not None]
    if task.layer.class_name == "MaxPooling2D":
        return max(real)
    if task.layer.class_name == "AveragePooling2D":
        return sum(real) / len(real)
    if task.layer.class_name == "UpSampling2D":
        return real[0]
    bias = task.bias if task.layer.get("use_bias", True) else 0
    return sum((v or 0) * w for row, weights in zip(values, task.kernel, strict=True)
               for v, w in zip(row, weights, strict=True)) + bias


def transposed_crop(size: int, kernel: int, stride: int, padding: str) -> int:
    """Rows (or columns) a transposed convolution with padding "same" crops from the top
    (left) of its scattered output, `(K − S) // 2` when the kernel is wider than the stride
    (the rest from the bottom, right); none with "valid"."""
    return max(kernel - stride, 0) // 2 if padding == "same" else 0


def scattered(task: Task) -> list[list[float]]:
    """A transposed convolution worked out by hand: each input value times the kernel, added
    to the output at rows `i·S … i·S + K − 1` and columns `j·S …` (overlaps add up), cropped
    to `transposed_size` for padding "same" (`transposed_crop`), plus the bias."""
    (k_h, k_w), (s_h, s_w), padding = window(task.layer)
    height, width = len(task.input), len(task.input[0])
    rows = transposed_size(height, k_h, s_h, padding)
    columns = transposed_size(width, k_w, s_w, padding)
    top, left = (transposed_crop(height, k_h, s_h, padding),
                 transposed_crop(width, k_w, s_w, padding))
    bias = task.bias if task.layer.get("use_bias", True) else 0
    output = [[float(bias)] * columns for _ in range(rows)]
    for i, j, a, b in itertools.product(range(height), range(width), range(k_h), range(k_w)):
        row, column = i * s_h + a - top, j * s_w + b - left
        if 0 <= row < rows and 0 <= column < columns:
            output[row][column] += task.input[i][j] * task.kernel[a][b]
    return output


def task_closed_form(task: Task) -> list[list[float]]:
    """The output matrix of a by-hand task, computed without Keras."""
    if task.layer.class_name == "Conv2DTranspose":
        return scattered(task)
    windows = task_windows(task)
    width = 1 + max(j for _, j, _ in windows)
    values = [window_value(task, vals) for _, _, vals in windows]
    return [values[row:row + width] for row in range(0, len(values), width)]


# --- parsing a formula back from its str() form, never evaluating code ----------------------

#: The functions a formula may call, with their least and greatest number of arguments.
FORMULA_FUNCTIONS: Mapping[str, tuple[Callable[..., sp.Expr], int, int]] = {
    "floor": (sp.floor, 1, 1), "ceiling": (sp.ceiling, 1, 1), "Max": (sp.Max, 2, 8)}
#: Bounds of a formula's text: length, nesting, integer literals and exponents.
MAX_FORMULA_LENGTH = 500
MAX_FORMULA_DEPTH = 32
MAX_FORMULA_INTEGER = 10**6
MAX_FORMULA_EXPONENT = 8

_BINARY_OPERATORS: Mapping[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b}


def _quoted(text: str, limit: int = 80) -> str:
    """`repr` of at most `limit` characters of `text` (an ellipsis marks a cut)."""
    return repr(text[:limit]) + ("…" if len(text) > limit else "")


def _exponent(node: ast.expr) -> int | None:
    """The integer an exponent node spells (`2`, `-1`), or None."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1, node.operand
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return sign * node.value
    return None


def _formula_node(node: ast.expr, symbols: Mapping[str, sp.Symbol], depth: int) -> sp.Expr:
    """The sympy expression of one whitelisted AST node (see `parse_formula`).

    Raises:
        ValueError: anything else (the message says what, briefly).
    """
    if depth > MAX_FORMULA_DEPTH:
        raise ValueError(f"nested more than {MAX_FORMULA_DEPTH} levels deep")
    if isinstance(node, ast.Name):
        if node.id not in symbols:
            known = ", ".join(sorted(symbols))
            raise ValueError(f"uses unknown symbols: {_quoted(node.id, 40)} (known: "
                             f"{known if len(known) <= 80 else known[:79] + '…'})")
        return symbols[node.id]
    if isinstance(node, ast.Constant):
        if type(node.value) is not int:
            raise ValueError(f"only integer literals are allowed, not {type(node.value).__name__}")
        if node.value > MAX_FORMULA_INTEGER:
            raise ValueError(f"integer literal larger than {MAX_FORMULA_INTEGER}")
        return sp.Integer(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_formula_node(node.operand, symbols, depth + 1)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY_OPERATORS:
        # A chain such as `a + b + c` nests to the left: its length is bounded by the text's.
        left = _formula_node(node.left, symbols, depth)
        right = _formula_node(node.right, symbols, depth + 1)
        return _BINARY_OPERATORS[type(node.op)](left, right)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        exponent = _exponent(node.right)
        if exponent is None or abs(exponent) > MAX_FORMULA_EXPONENT:
            raise ValueError(f"exponents must be integers from -{MAX_FORMULA_EXPONENT} to "
                             f"{MAX_FORMULA_EXPONENT}")
        return _formula_node(node.left, symbols, depth + 1) ** exponent
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id in FORMULA_FUNCTIONS:
        function, least, most = FORMULA_FUNCTIONS[node.func.id]
        if node.keywords or not least <= len(node.args) <= most \
                or any(isinstance(argument, ast.Starred) for argument in node.args):
            arity = str(least) if least == most else f"{least} to {most}"
            raise ValueError(f"{node.func.id} takes {arity} positional argument(s)")
        return function(*(_formula_node(argument, symbols, depth + 1) for argument in node.args))
    if isinstance(node, ast.Call):
        raise ValueError(f"only {', '.join(FORMULA_FUNCTIONS)} may be called")
    raise ValueError(f"{type(node).__name__} is not allowed")


def parse_formula(text: str, symbols: Mapping[str, sp.Symbol]) -> sp.Expr:
    """The sympy expression whose `str()` is `text` (e.g. `floor((-K + W)/S) + 1`), read with
    Python's `ast` and rebuilt node by node from a whitelist, so that no code is ever evaluated:
    names of `symbols`, integer literals, unary minus, `+ - * /`, `**` with an integer exponent
    from -8 to 8, and calls of `floor`, `ceiling` (one argument) and `Max` (two or more).

    Raises:
        QuestionError: anything else, a text longer than `MAX_FORMULA_LENGTH` characters or
            nested deeper than `MAX_FORMULA_DEPTH`, or an undefined value such as a division
            by zero; the message quotes at most 80 characters of the text.
    """
    if not isinstance(text, str):
        raise QuestionError(f"not a formula: a {type(text).__name__}, not a string")
    where = f"not a formula: {_quoted(text)}"
    if len(text) > MAX_FORMULA_LENGTH:
        raise QuestionError(f"{where}: longer than {MAX_FORMULA_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise QuestionError(f"{where}: not an expression") from None
    try:
        expression = _formula_node(tree.body, symbols, 0)
    except (ValueError, RecursionError) as error:
        raise QuestionError(f"{where}: {error}") from None
    if not isinstance(expression, sp.Expr) or expression.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        raise QuestionError(f"{where}: not a finite formula")
    return expression
