"""Samplers: random architectures from an explicit `random.Random` (never the global RNG).

Samplers are small composable functions (a layer, a conv block, a dense head, a stack) that
return pure data (`LayerSpec`, `ModelSpec`); they never import Keras. They keep every
architecture buildable and "hand-computable": each spatial size stays >= `MIN_SIZE` pixels (no
0×0 or 1×1 pooled maps), and the flattened feature vector stays at most `MAX_FLATTEN` long, so
every number an exam asks about can be worked out on paper. Sizes are tracked with the closed
forms of `quizgen.formulas`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from quizgen.errors import TemplateError, clip, quote
from quizgen.formulas import layer_closed_form, output_size, padding_amounts, window
from quizgen.spec import INPUT, POOLING, LayerSpec, ModelSpec, Shape

MIN_SIZE = 2
MAX_FLATTEN = 6400

IMAGE_INPUTS = ((28, 28, 1), (32, 32, 3), (24, 24, 1), (48, 48, 1), (64, 64, 3), (36, 36, 3),
                (40, 40, 1), (96, 96, 3))
FEATURE_INPUTS = (4, 8, 10, 13, 16, 20, 30, 32, 64, 100, 784)
ACTIVATIONS = ("relu", "relu", "relu", "tanh", "elu")
DROPOUT_RATES = (0.1, 0.2, 0.25, 0.3, 0.4, 0.5)


def fits(layer: LayerSpec, shape: Shape, min_size: int = MIN_SIZE) -> bool:
    """True when every spatial output size of a Conv2D/pooling layer is >= `min_size`."""
    kernel, strides, padding = window(layer)
    return all(
        output_size(size, k, s, padding) >= min_size if size >= k or padding == "same" else False
        for size, k, s in zip(shape[1:3], kernel, strides, strict=True)
    )


def conv2d(rng: random.Random, shape: Shape) -> LayerSpec:
    """A Conv2D layer for an input of `shape` `(None, H, W, C)`: filters 8–64, kernel 1–5,
    strides 1–2, `valid` or `same` padding, falling back to a 3×3 `same` stride-1 window
    (which keeps the size) when the sampled window does not fit."""
    filters = rng.choice((8, 16, 16, 32, 32, 64))
    kernel = rng.choice((1, 2, 3, 3, 3, 5))
    strides = rng.choice((1, 1, 1, 2))
    padding = rng.choice(("valid", "same"))
    activation = rng.choice(ACTIVATIONS)
    layer = LayerSpec.make("Conv2D", filters=filters, kernel_size=(kernel, kernel),
                           strides=(strides, strides) if strides > 1 else None, padding=padding,
                           activation=activation)
    if not fits(layer, shape):
        layer = layer.with_config(kernel_size=(3, 3), strides=None, padding="same")
    return _padding_that_matters(layer, shape)


def _padding_that_matters(layer: LayerSpec, shape: Shape) -> LayerSpec:
    """`layer` without `padding="same"` where it pads nothing (a 1×1 window, or a window that
    tiles the input exactly): an argument that changes nothing has no place in a question."""
    kernel, strides, padding = window(layer)
    if padding == "same" and all(padding_amounts(size, k, s, "same") == (0, 0)
                                 for size, k, s in zip(shape[1:3], kernel, strides, strict=True)):
        return layer.with_config(padding=None)
    return layer


def pooling(rng: random.Random, shape: Shape) -> LayerSpec | None:
    """A MaxPooling2D or AveragePooling2D layer (pool 2–3, default or explicit strides), or
    None when no pooling window fits the input of `shape`."""
    class_name = rng.choice(("MaxPooling2D", "MaxPooling2D", "AveragePooling2D"))
    size = rng.choice((2, 2, 3))
    config: dict[str, Any] = {"pool_size": (size, size)}
    strides = rng.choice((None, None, 1, 2))
    if strides is not None:
        config["strides"] = (strides, strides)
    if rng.random() < 0.25:
        config["padding"] = "same"
    layer = LayerSpec.make(class_name, **config)
    return _padding_that_matters(layer, shape) if fits(layer, shape) else None


def _append(layers: list[LayerSpec], shape: Shape, layer: LayerSpec | None) -> Shape:
    """Append `layer` (if any) and return the shape after it."""
    if layer is None:
        return shape
    layers.append(layer)
    return _output_shape(layer, shape)


@lru_cache(maxsize=65536)
def _output_shape(layer: LayerSpec, shape: Shape | tuple[Shape, ...]) -> Shape:
    """The output shape of `layer` on `shape` (or shapes) by the closed forms, memoized: a
    sampler meets the same layers on the same inputs draw after draw."""
    return layer_closed_form(layer, shape).output_shape


def conv_block(rng: random.Random, shape: Shape, batch_normalization: bool = False,
               ) -> tuple[list[LayerSpec], Shape]:
    """One or two Conv2D layers (optionally each followed by BatchNormalization), then a
    pooling layer when one fits; returns the layers and the output shape."""
    layers: list[LayerSpec] = []
    for _ in range(rng.choice((1, 1, 2))):
        shape = _append(layers, shape, conv2d(rng, shape))
        if batch_normalization:
            shape = _append(layers, shape, LayerSpec.make("BatchNormalization"))
    shape = _append(layers, shape, pooling(rng, shape))
    return layers, shape


def dense_head(rng: random.Random, shape: Shape, hidden: int, dropout: bool,
               batch_normalization: bool = False) -> list[LayerSpec]:
    """`hidden` Dense layers (8–256 units, at least as many as the output layer's, each
    optionally followed by BatchNormalization and Dropout) and an output layer: Dense(1,
    sigmoid) or Dense(n ≥ 3, softmax)."""
    binary = rng.random() < 0.25
    classes = 1 if binary else rng.choice((3, 4, 5, 10, 10, 100))
    layers: list[LayerSpec] = []
    for _ in range(hidden):
        units = rng.choice([units for units in (8, 16, 32, 64, 64, 128, 256) if units >= classes])
        shape = _append(layers, shape, LayerSpec.make("Dense", units=units,
                                                      activation=rng.choice(ACTIVATIONS)))
        if batch_normalization:
            shape = _append(layers, shape, LayerSpec.make("BatchNormalization"))
        if dropout and rng.random() < 0.5:
            shape = _append(layers, shape, LayerSpec.make("Dropout", rate=rng.choice(DROPOUT_RATES)))
    layers.append(LayerSpec.make("Dense", units=classes, activation="sigmoid" if binary else "softmax"))
    return layers


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def option_range(value: Any, default: tuple[int, int], name: str) -> tuple[int, int]:
    """A sampler option giving a range: `[min, max]`, a single number, or None for `default`.

    Raises:
        TemplateError: not a range of integers with 0 <= min <= max (the message names the
            option and quotes the value briefly).
    """
    if value is None:
        low, high = default
    elif _is_int(value):
        low, high = value, value
    elif isinstance(value, list | tuple) and len(value) == 2 and all(map(_is_int, value)):
        low, high = value
    else:
        low, high = -1, -1
    if not 0 <= low <= high:
        raise TemplateError(f"sampler option {name}: expected [min, max] with 0 <= min <= max, "
                            f"or one number, got {quote(value)}")
    return low, high


def cnn(rng: random.Random, blocks: Any = None, hidden: Any = None, dropout: bool = True,
        batch_normalization: bool = False) -> ModelSpec:
    """A CIFAR/MNIST-style convnet: `blocks` conv blocks (default 1–3), Flatten, optional
    Dropout, `hidden` Dense layers (default 0–1) and an output layer. Input `(H, W, C)` from
    `IMAGE_INPUTS`; output `(None, classes)`. Pooling is added while the flattened vector is
    longer than `MAX_FLATTEN`."""
    low, high = option_range(blocks, (1, 3), "blocks")
    input_shape = rng.choice(IMAGE_INPUTS)
    shape: Shape = (None, *input_shape)
    layers: list[LayerSpec] = []
    for _ in range(rng.randint(max(low, 1), high)):
        block, shape = conv_block(rng, shape, batch_normalization)
        layers += block
    while shape[1] * shape[2] * shape[3] > MAX_FLATTEN:
        extra = LayerSpec.make("MaxPooling2D", pool_size=(2, 2))
        if [layer.class_name in POOLING for layer in layers[-2:]] == [True, True]:
            # no third pooling in a row: a convolution in between, as real networks have
            extra = LayerSpec.make("Conv2D", filters=min(16, shape[3]), kernel_size=(3, 3),
                                   padding="same", activation="relu")
        elif not fits(extra, shape):
            layers.append(LayerSpec.make("Conv2D", filters=8, kernel_size=(1, 1)))
            shape = layer_closed_form(layers[-1], shape).output_shape
            continue
        shape = _append(layers, shape, extra)
    shape = _append(layers, shape, LayerSpec.make("Flatten"))
    if dropout and rng.random() < 0.5:
        shape = _append(layers, shape, LayerSpec.make("Dropout", rate=rng.choice(DROPOUT_RATES)))
    layers += dense_head(rng, shape, rng.randint(*option_range(hidden, (0, 1), "hidden")), dropout)
    return ModelSpec(input_shape, tuple(layers))


def mlp(rng: random.Random, hidden: Any = None, dropout: bool = True,
        batch_normalization: bool = False) -> ModelSpec:
    """A multi-layer perceptron on `(n,)` features (n from `FEATURE_INPUTS`): `hidden` Dense
    layers (default 1–3) with optional BatchNormalization and Dropout, and an output layer."""
    input_shape = (rng.choice(FEATURE_INPUTS),)
    low, high = option_range(hidden, (1, 3), "hidden")
    layers = dense_head(rng, (None, *input_shape), rng.randint(low, high), dropout,
                        batch_normalization)
    return ModelSpec(input_shape, tuple(layers))


def recurrent(rng: random.Random, units: int, return_sequences: bool) -> LayerSpec:
    """A SimpleRNN, LSTM or GRU layer (GRU sometimes with `reset_after=False`), wrapped in
    Bidirectional one time in four."""
    class_name = rng.choice(("SimpleRNN", "LSTM", "LSTM", "GRU", "GRU"))
    config: dict[str, Any] = {"units": units}
    if return_sequences:
        config["return_sequences"] = True
    if class_name == "GRU" and rng.random() < 0.3:
        config["reset_after"] = False
    layer = LayerSpec.make(class_name, **config)
    if rng.random() < 0.25:
        return LayerSpec.make("Bidirectional", layer={"module": "keras.layers",
                                                       "class_name": class_name,
                                                       "config": dict(layer.config)})
    return layer


def sequence(rng: random.Random, recurrent_layers: Any = None) -> ModelSpec:
    """A text model: input `(T,)` token ids (T from 10 to 100), Embedding (vocabulary
    100–10,000, 8–64 dimensions), `recurrent_layers` (default 1–2) recurrent layers (all but
    the last return sequences), and a Dense output layer."""
    steps = rng.choice((10, 20, 25, 50, 100))
    layers = [LayerSpec.make("Embedding", input_dim=rng.choice((100, 1000, 5000, 10000)),
                             output_dim=rng.choice((8, 16, 32, 64)))]
    count = rng.randint(*option_range(recurrent_layers, (1, 2), "recurrent_layers"))
    for index in range(count):
        layers.append(recurrent(rng, rng.choice((4, 8, 16, 32, 64)), index < count - 1))
    layers.append(LayerSpec.make("Dense", units=1, activation="sigmoid") if rng.random() < 0.5
                  else LayerSpec.make("Dense", units=rng.choice((3, 5, 10)), activation="softmax"))
    return ModelSpec((steps,), tuple(layers))


def signal(rng: random.Random) -> ModelSpec:
    """A 1-D convnet on `(T, C)` signals: 1–3 Conv1D layers (kernel 2–7, strides 1–2, valid or
    same), GlobalAveragePooling1D and a Dense output layer."""
    input_shape = (rng.choice((32, 50, 64, 100, 128)), rng.choice((1, 2, 3, 6)))
    shape: Shape = (None, *input_shape)
    layers: list[LayerSpec] = []
    for _ in range(rng.randint(1, 3)):
        layer = LayerSpec.make("Conv1D", filters=rng.choice((8, 16, 32)),
                               kernel_size=rng.choice((2, 3, 5, 7)),
                               strides=rng.choice((1, 1, 2)), padding=rng.choice(("valid", "same")),
                               activation="relu")
        shape = _append(layers, shape, layer)
    units = rng.choice((1, 4, 10))
    layers += [LayerSpec.make("GlobalAveragePooling1D"),
               LayerSpec.make("Dense", units=units, activation="sigmoid" if units == 1 else "softmax")]
    return ModelSpec(input_shape, tuple(layers))


def modern_cnn(rng: random.Random) -> ModelSpec:
    """A mobile-style convnet: Conv2D, then SeparableConv2D or DepthwiseConv2D blocks (with
    BatchNormalization), GlobalAveragePooling2D and a Dense output layer; or, one time in three,
    a decoder that upsamples with Conv2DTranspose layers."""
    if rng.random() < 1 / 3:
        input_shape = rng.choice(((7, 7, 16), (4, 4, 32), (8, 8, 8), (5, 5, 64)))
        layers = [LayerSpec.make("Conv2DTranspose", filters=rng.choice((8, 16, 32)),
                                 kernel_size=rng.choice((2, 3, 4)), strides=2,
                                 padding=rng.choice(("valid", "same")), activation="relu")
                  for _ in range(rng.randint(1, 2))]
        layers.append(LayerSpec.make("Conv2D", filters=rng.choice((1, 3)), kernel_size=3,
                                     padding="same", activation="sigmoid"))
        return ModelSpec(input_shape, tuple(layers))
    input_shape = rng.choice(((32, 32, 3), (28, 28, 1), (64, 64, 3), (48, 48, 3)))
    shape: Shape = (None, *input_shape)
    layers = []
    shape = _append(layers, shape, LayerSpec.make("Conv2D", filters=rng.choice((16, 32)),
                                                  kernel_size=3, strides=2, padding="same",
                                                  activation="relu"))
    for _ in range(rng.randint(1, 2)):
        if rng.random() < 0.5:
            layer = LayerSpec.make("SeparableConv2D", filters=rng.choice((16, 32, 64)),
                                   kernel_size=3, padding=rng.choice(("valid", "same")),
                                   activation="relu")
        else:
            layer = LayerSpec.make("DepthwiseConv2D", kernel_size=3,
                                   depth_multiplier=rng.choice((1, 2)),
                                   padding=rng.choice(("valid", "same")), activation="relu")
        if fits(layer, shape):
            shape = _append(layers, shape, layer)
            shape = _append(layers, shape, LayerSpec.make("BatchNormalization"))
    layers += [LayerSpec.make("GlobalAveragePooling2D"),
               LayerSpec.make("Dense", units=rng.choice((2, 10, 100)), activation="softmax")]
    return ModelSpec(input_shape, tuple(layers))


#: Inputs of 3-D convnets: video clips (frames, height, width, channels) and volumes.
VOLUME_INPUTS = ((16, 32, 32, 1), (10, 64, 64, 3), (32, 32, 32, 1), (8, 28, 28, 1),
                 (16, 48, 48, 3), (12, 40, 40, 1))


def volumetric(rng: random.Random) -> ModelSpec:
    """A 3-D convnet on video clips or volumes `(D, H, W, C)` from `VOLUME_INPUTS`: one or two
    Conv3D layers (8–32 filters, a 3×3×3 kernel, or 1×3×3 that convolves each frame alone;
    valid or same padding), each followed by MaxPooling3D (2×2×2, or 1×2×2 that keeps the
    frames), then GlobalAveragePooling3D and a Dense output layer (as in keras.io's "3D image
    classification from CT scans")."""
    input_shape = rng.choice(VOLUME_INPUTS)
    shape: Shape = (None, *input_shape)
    layers: list[LayerSpec] = []
    for _ in range(rng.randint(1, 2)):
        shape = _append(layers, shape, LayerSpec.make(
            "Conv3D", filters=rng.choice((8, 16, 32)), kernel_size=rng.choice((3, (1, 3, 3))),
            padding=rng.choice(("valid", "same")), activation="relu"))
        pool = (2, 2, 2) if shape[1] >= 4 and rng.random() < 0.6 else (1, 2, 2)
        shape = _append(layers, shape, LayerSpec.make("MaxPooling3D", pool_size=pool))
    units = rng.choice((1, 2, 10))
    layers += [LayerSpec.make("GlobalAveragePooling3D"), LayerSpec.make(
        "Dense", units=units, activation="sigmoid" if units == 1 else "softmax")]
    return ModelSpec(input_shape, tuple(layers))


def reshaping(rng: random.Random) -> ModelSpec:
    """A convnet of today's layers: a Conv2D (dilated one time in three: `dilation_rate` 2,
    as in seeds/001's argument list), a ZeroPadding2D, Cropping2D or UpSampling2D, a Conv2D
    whose channels are split into `groups` 2 one time in two, LayerNormalization,
    GlobalMaxPooling2D and a Dense output layer. Input `(H, W, C)` from `IMAGE_INPUTS`."""
    input_shape = rng.choice(IMAGE_INPUTS[:6])
    shape: Shape = (None, *input_shape)
    layers: list[LayerSpec] = []
    dilation = 2 if rng.random() < 1 / 3 else None
    shape = _append(layers, shape, LayerSpec.make(
        "Conv2D", filters=rng.choice((8, 16, 32)), kernel_size=3, dilation_rate=dilation,
        padding=rng.choice(("valid", "same")), activation="relu"))
    amount = rng.choice((1, 2, 3))
    resize = rng.choice((LayerSpec.make("ZeroPadding2D", padding=amount),
                         LayerSpec.make("Cropping2D", cropping=amount),
                         LayerSpec.make("UpSampling2D", size=rng.choice((2, 3)))))
    shape = _append(layers, shape, resize)
    groups = 2 if rng.random() < 0.5 else None
    shape = _append(layers, shape, LayerSpec.make(
        "Conv2D", filters=rng.choice((16, 32)), kernel_size=3, groups=groups, padding="same",
        activation="relu"))
    layers += [LayerSpec.make("LayerNormalization"), LayerSpec.make("GlobalMaxPooling2D"),
               LayerSpec.make("Dense", units=rng.choice((2, 10)), activation="softmax")]
    return ModelSpec(input_shape, tuple(layers))


class _Graph:
    """A functional model being sampled: its layers, where each takes its tensors from, and
    each output's shape (by the closed forms)."""

    def __init__(self, *inputs: tuple[int, ...]) -> None:
        self.inputs = inputs
        self.layers: list[LayerSpec] = []
        self.inbound: list[tuple[int, ...]] = []
        self.shapes: dict[int, Shape] = {INPUT - k: (None, *shape) for k, shape in enumerate(inputs)}

    def add(self, layer: LayerSpec, *sources: int) -> int:
        """Append `layer`, fed by `sources` (`INPUT` or earlier layers' indices); its index."""
        taken = tuple(self.shapes[source] for source in sources)
        self.shapes[len(self.layers)] = _output_shape(layer, taken[0] if len(taken) == 1 else taken)
        self.layers.append(layer)
        self.inbound.append(sources)
        return len(self.layers) - 1

    def spec(self) -> ModelSpec:
        return ModelSpec(self.inputs[0], tuple(self.layers), tuple(self.inbound), self.inputs[1:])


def residual(rng: random.Random, projection: Any = None) -> ModelSpec:
    """A ResNet-style residual block in the functional API (He et al., 2016): a Conv2D stem,
    then Conv2D–BatchNormalization–ReLU–Conv2D–BatchNormalization added (`Add`) to its
    shortcut, ReLU, GlobalAveragePooling2D and a Dense output layer. With `projection`
    (default: one time in two) the block doubles the depth (and, one time in two, halves the
    size with strides 2), so its shortcut is a 1×1 Conv2D projection, as in ResNet's
    downsampling blocks; otherwise the shortcut is the stem's output itself (identity).
    Input `(H, W, C)` from `IMAGE_INPUTS`."""
    projected = rng.random() < 0.5 if projection is None else bool(projection)
    graph = _Graph(rng.choice(IMAGE_INPUTS[:6]))
    channels = rng.choice((8, 16, 32))
    stem = graph.add(LayerSpec.make("Conv2D", filters=channels, kernel_size=3, padding="same",
                                    activation="relu"), INPUT)
    filters = channels * 2 if projected else channels
    strides = 2 if projected and rng.random() < 0.5 else None
    body = graph.add(LayerSpec.make("Conv2D", filters=filters, kernel_size=3, strides=strides,
                                    padding="same", use_bias=False), stem)
    body = graph.add(LayerSpec.make("BatchNormalization"), body)
    body = graph.add(LayerSpec.make("Activation", activation="relu"), body)
    body = graph.add(LayerSpec.make("Conv2D", filters=filters, kernel_size=3, padding="same",
                                    use_bias=False), body)
    body = graph.add(LayerSpec.make("BatchNormalization"), body)
    shortcut = graph.add(LayerSpec.make("Conv2D", filters=filters, kernel_size=1,
                                        strides=strides), stem) if projected else stem
    added = graph.add(LayerSpec.make("Add"), body, shortcut)
    added = graph.add(LayerSpec.make("Activation", activation="relu"), added)
    pooled = graph.add(LayerSpec.make("GlobalAveragePooling2D"), added)
    graph.add(LayerSpec.make("Dense", units=rng.choice((2, 10, 100)), activation="softmax"), pooled)
    return graph.spec()


def branches(rng: random.Random) -> ModelSpec:
    """An Inception-style two-branch model in the functional API (Szegedy et al., 2015): a
    Conv2D stem, a 1×1 Conv2D branch and a 3×3 or 5×5 Conv2D branch side by side (of as many
    filters one time in two), `Concatenate`d along the channels, then GlobalAveragePooling2D,
    or MaxPooling2D and Flatten, and a Dense output layer. Input `(H, W, C)` from
    `IMAGE_INPUTS`."""
    graph = _Graph(rng.choice(IMAGE_INPUTS[:6]))
    stem = graph.add(LayerSpec.make("Conv2D", filters=rng.choice((8, 16)), kernel_size=3,
                                    strides=2, padding="same", activation="relu"), INPUT)
    narrow_filters = rng.choice((4, 8, 16))
    wide_filters = narrow_filters if rng.random() < 0.5 else rng.choice((8, 16, 32))
    narrow = graph.add(LayerSpec.make("Conv2D", filters=narrow_filters, kernel_size=1,
                                      activation="relu"), stem)
    wide = graph.add(LayerSpec.make("Conv2D", filters=wide_filters,
                                    kernel_size=rng.choice((3, 5)), padding="same",
                                    activation="relu"), stem)
    joined = graph.add(LayerSpec.make("Concatenate"), narrow, wide)
    if rng.random() < 0.5:
        joined = graph.add(LayerSpec.make("GlobalAveragePooling2D"), joined)
    else:
        joined = graph.add(LayerSpec.make("MaxPooling2D", pool_size=(2, 2)), joined)
        while math.prod(graph.shapes[joined][1:]) > MAX_FLATTEN:
            joined = graph.add(LayerSpec.make("MaxPooling2D", pool_size=(2, 2)), joined)
        joined = graph.add(LayerSpec.make("Flatten"), joined)
    graph.add(LayerSpec.make("Dense", units=rng.choice((2, 10)), activation="softmax"), joined)
    return graph.spec()


def transformer(rng: random.Random) -> ModelSpec:
    """A Transformer encoder block in the functional API (Vaswani et al., 2017; the block of
    keras.io's "Text classification with Transformer"): MultiHeadAttention of the sequence on
    itself (2, 4 or 8 heads; `key_dim` the model's width or its share per head; one time in
    four a `value_dim` of its own), added to its input and LayerNormalization'd, then a
    feed-forward Dense pair (ReLU, back to the width) added and normalized the same way,
    GlobalAveragePooling1D and a Dense output layer. One time in two the input is a sequence
    of tokens through an Embedding, else a sequence of feature vectors `(steps, width)`."""
    steps, width = rng.choice((10, 16, 20, 32, 50, 64)), rng.choice((16, 32, 64, 128))
    graph = _Graph((steps,) if rng.random() < 0.5 else (steps, width))
    inputs = INPUT if len(graph.inputs[0]) == 2 else graph.add(LayerSpec.make(
        "Embedding", input_dim=rng.choice((1000, 5000, 20000)), output_dim=width), INPUT)
    heads = rng.choice((2, 4, 8))
    key_dim = rng.choice((width, width // heads))
    value_dim = rng.choice((8, 16, 32)) if rng.random() < 0.25 else None
    attention = graph.add(LayerSpec.make("MultiHeadAttention", num_heads=heads, key_dim=key_dim,
                                         value_dim=value_dim), inputs, inputs)
    normalized = graph.add(LayerSpec.make("LayerNormalization"),
                           graph.add(LayerSpec.make("Add"), inputs, attention))
    hidden = graph.add(LayerSpec.make("Dense", units=rng.choice((2, 4)) * width,
                                      activation="relu"), normalized)
    projected = graph.add(LayerSpec.make("Dense", units=width), hidden)
    normalized = graph.add(LayerSpec.make("LayerNormalization"),
                           graph.add(LayerSpec.make("Add"), normalized, projected))
    pooled = graph.add(LayerSpec.make("GlobalAveragePooling1D"), normalized)
    graph.add(LayerSpec.make("Dense", units=rng.choice((2, 5, 20)), activation="softmax"), pooled)
    return graph.spec()


def two_inputs(rng: random.Random) -> ModelSpec:
    """A model of two inputs in the functional API (as keras.io's "multi-input" examples): an
    image `(H, W, C)` from `IMAGE_INPUTS` through one or two Conv2D–MaxPooling2D blocks and
    GlobalAveragePooling2D, and a vector of 4–30 features (the image's metadata) through a
    Dense layer (the model's first layer), `Concatenate`d, then a Dense output layer."""
    graph = _Graph(rng.choice(IMAGE_INPUTS[:6]), (rng.choice((4, 8, 10, 13, 20, 30)),))
    features = graph.add(LayerSpec.make("Dense", units=rng.choice((8, 16, 32)),
                                        activation="relu"), INPUT - 1)
    image = INPUT
    for _ in range(rng.randint(1, 2)):
        image = graph.add(LayerSpec.make("Conv2D", filters=rng.choice((8, 16, 32)), kernel_size=3,
                                         padding=rng.choice(("valid", "same")),
                                         activation="relu"), image)
        image = graph.add(LayerSpec.make("MaxPooling2D", pool_size=(2, 2)), image)
    image = graph.add(LayerSpec.make("GlobalAveragePooling2D"), image)
    joined = graph.add(LayerSpec.make("Concatenate"), image, features)
    units = rng.choice((1, 3, 5, 10))
    graph.add(LayerSpec.make("Dense", units=units, activation="sigmoid" if units == 1 else "softmax"),
              joined)
    return graph.spec()


#: The architecture samplers by name (families add their own subjects: `quizgen.families`).
SAMPLERS: dict[str, Callable[..., Any]] = {
    "cnn": cnn, "mlp": mlp, "sequence": sequence, "signal": signal, "modern_cnn": modern_cnn,
    "residual": residual, "branches": branches, "reshaping": reshaping, "transformer": transformer,
    "volumetric": volumetric, "two_inputs": two_inputs,
}


def sample(name: str, rng: random.Random, options: dict[str, Any] | None = None,
           samplers: Mapping[str, Callable[..., Any]] = SAMPLERS) -> Any:
    """Draw a model (or another subject, such as a by-hand task) from the sampler `name` of
    `samplers` with the template's `options`.

    Raises:
        TemplateError: unknown sampler (the message names the known ones), options that are
            not a mapping of option names, an unknown option, or a value the sampler rejects;
            values are quoted briefly (`quote`).
    """
    if not isinstance(name, str) or name not in samplers:
        raise TemplateError(f"unknown sampler {quote(name)}; known: {', '.join(samplers)}")
    if options is not None and not (isinstance(options, Mapping)
                                    and all(isinstance(key, str) for key in options)):
        raise TemplateError(f"sampler {name!r}: bad options {quote(options)} (not a mapping of "
                            "option names)")
    try:
        return samplers[name](rng, **(options or {}))
    except TypeError as error:
        raise TemplateError(f"sampler {name!r}: bad options {quote(options)} "
                            f"({clip(str(error))})") from error
