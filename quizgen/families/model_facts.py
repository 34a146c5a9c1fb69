"""Model facts: the output shape, parameters and weight shapes of a layer, and a model's totals.

The family of `output_shape`, `params`, `weight_shape`, `total_params`, `trainable_params` and
`non_trainable_params` (seeds/001, seeds/003): the answer is read from Keras' facts of the
model, each distractor is what Keras computes for the model mutated the way students get it
wrong (or the facts misread that way: `MISCONCEPTIONS`), and the worked explanation comes from
the closed forms of `quizgen.formulas`. `quizgen verify` re-derives an entry by building the
whole model again and by the closed forms.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from quizgen import formulas
from quizgen.distractors import Misconception, Mutated, check_label, choose, compound_answer
from quizgen.errors import ArchitectureError, QuestionError
from quizgen.facts import (
    AXES,
    LAYER_FACTS,
    MODEL_FACTS,
    Answer,
    FactRef,
    format_answer,
    from_json,
    read_fact,
    to_json,
)
from quizgen.family import (
    CHOICES,
    Choice,
    Family,
    Question,
    Subject,
    count_of,
    layer_variables,
    mistakes,
    prove_choices,
    reading,
    resolve_layer,
)
from quizgen.oracle import LayerFacts, ModelFacts, Oracle, WeightFacts
from quizgen.spec import POOLING, LayerSpec, ModelSpec, Shape
from quizgen.template import Ask

if TYPE_CHECKING:
    from quizgen.key import KeyEntry

CONV = ("Conv2D",)
#: Layers with a sliding window and `padding`/`strides` arguments.
SPATIAL = ("Conv2D", "Conv1D", "Conv2DTranspose", "SeparableConv2D", "DepthwiseConv2D", "Conv3D")
#: Pooling layers with a window (2-D and 3-D).
POOLS = POOLING + ("MaxPooling3D", "AveragePooling3D")
RECURRENT = ("SimpleRNN", "GRU", "LSTM")
#: Layers with a `use_bias` argument.
BIASED = SPATIAL + RECURRENT + ("Dense", "MultiHeadAttention")
#: Layers whose weights students count as "one per unit or filter".
WEIGHTED = ("Conv2D", "Conv3D", "Dense")

#: The facts each misconception is made about (`Misconception.facts`).
SHAPE = ("output_shape",)
WEIGHTS = ("weight_shape",)
TOTALS = ("total_params", "trainable_params")
COUNTS = ("params",) + TOTALS
#: Mistakes about the sizes of the architecture change shapes, counts and weight shapes alike.
SIZES = SHAPE + COUNTS + WEIGHTS
SPLIT = ("trainable_params", "non_trainable_params")

#: Where a channels-first reader looks for each axis in a channels-last shape.
CHANNELS_FIRST_AXES = {"channels": 1, "height": 2, "width": 3}


# --- misconceptions: mutations of the model and misreadings of its facts ----------------------

def _scope(spec: ModelSpec, ref: FactRef, classes: tuple[str, ...]) -> list[int]:
    """Layers a mistake touches: the asked layer if it is one of `classes`, else every layer of
    `classes` up to the asked one (all of them for whole-model facts)."""
    if ref.layer is not None and spec.layers[ref.layer].class_name in classes:
        return [ref.layer]
    last = len(spec.layers) if ref.layer is None else ref.layer
    return [i for i, layer in enumerate(spec.layers[:last]) if layer.class_name in classes]


def _rewrite(classes: tuple[str, ...], change: Callable[[LayerSpec], LayerSpec | None]):
    """A mutation applying `change` to each layer in scope; None if nothing changes."""

    def mutate(spec: ModelSpec, ref: FactRef, facts: ModelFacts) -> Mutated | None:
        mutated = spec
        for index in _scope(spec, ref, classes):
            changed = change(spec.layers[index])
            if changed is not None:
                mutated = mutated.replace_layer(index, changed)
        return (mutated, ref) if mutated != spec else None

    return mutate


def _without(spec: ModelSpec, ref: FactRef, indices: set[int]) -> Mutated | None:
    """`spec` without the layers at `indices` (`ModelSpec.without_layers`), `ref` re-pointed to
    where its layer is then; None if its layer goes too (a branch the output left)."""
    kept = spec.kept(indices)
    if ref.layer is not None and ref.layer not in kept:
        return None
    return spec.without_layers(indices), ref.at(None if ref.layer is None else kept.index(ref.layer))


def _remove(classes: tuple[str, ...]):
    """A mutation deleting the layers of `classes` in scope, re-pointing the asked layer."""

    def mutate(spec: ModelSpec, ref: FactRef, facts: ModelFacts) -> Mutated | None:
        scope = set(_scope(spec, ref, classes)) - {ref.layer}
        return _without(spec, ref, scope) if scope else None

    return mutate


def flip_padding(layer: LayerSpec) -> LayerSpec:
    return layer.with_config(padding="same" if layer.get("padding", "valid") == "valid" else "valid")


def _ignore_strides(layer: LayerSpec) -> LayerSpec | None:
    default = None if layer.class_name in POOLS else 1
    if layer.get("strides", default) in (1, (1,), (1, 1), (1, 1, 1)):
        return None
    return layer.with_config(strides=1)


def pool_stride_one(layer: LayerSpec) -> LayerSpec | None:
    return None if layer.get("strides") is not None else layer.with_config(strides=1)


def _undilated(layer: LayerSpec) -> LayerSpec | None:
    return layer.with_config(dilation_rate=None) if layer.get("dilation_rate", 1) not in (
        1, (1, 1)) else None


def _ungrouped(layer: LayerSpec) -> LayerSpec | None:
    return layer.with_config(groups=None) if layer.get("groups", 1) != 1 else None


def _one_side(argument: str, default: int) -> Callable[[LayerSpec], LayerSpec | None]:
    """ZeroPadding2D's `padding` (or Cropping2D's `cropping`) applied on top and left only."""

    def change(layer: LayerSpec) -> LayerSpec | None:
        (top, bottom), (left, right) = formulas.sides(layer.get(argument, default))
        if bottom == right == 0:
            return None
        return layer.with_config(**{argument: ((top, 0), (left, 0))})

    return change


def _normalized_everywhere(spec: ModelSpec, ref: FactRef, facts: ModelFacts) -> Mutated | None:
    """Each LayerNormalization in scope over every axis of a sample (`axis=(1, 2, 3)` on
    images, `(1, 2)` on sequences), where it has more than one."""
    mutated = spec
    for index in _scope(spec, ref, ("LayerNormalization",)):
        rank = len(facts.layers[index].input_shape)
        if rank > 2:
            mutated = mutated.replace_layer(index, spec.layers[index].with_config(
                axis=tuple(range(1, rank))))
    return (mutated, ref) if mutated != spec else None


def _upsampling_added(layer: LayerSpec) -> LayerSpec:
    """UpSampling2D(size) read as size more rows and columns: the ZeroPadding2D adding them."""
    rows, columns = formulas.pair(layer.get("size"), 2)
    return LayerSpec.make("ZeroPadding2D", padding=((0, rows), (0, columns)))


def _forget_bias(layer: LayerSpec) -> LayerSpec | None:
    return layer.with_config(use_bias=False) if layer.get("use_bias", True) else None


def _one_dimensional_kernel(layer: LayerSpec) -> LayerSpec | None:
    size = layer.get("kernel_size")
    height = size if isinstance(size, int) else size[0]
    return layer.with_config(kernel_size=(height, 1)) if height > 1 else None


def _to_class(class_name: str, *dropped: str) -> Callable[[LayerSpec], LayerSpec]:
    """A layer turned into another class, without the arguments the new class lacks."""

    def change(layer: LayerSpec) -> LayerSpec:
        return LayerSpec(class_name, tuple((k, v) for k, v in layer.config if k not in dropped))

    return change


def _flip_sequences(layer: LayerSpec) -> LayerSpec:
    return layer.with_config(return_sequences=not layer.get("return_sequences", False))


def _reset_after_ignored(layer: LayerSpec) -> LayerSpec:
    return layer.with_config(reset_after=not layer.get("reset_after", True))


def _swap_embedding(layer: LayerSpec) -> LayerSpec:
    return layer.with_config(input_dim=layer.get("output_dim"), output_dim=layer.get("input_dim"))


def _depthwise_as_conv(spec: ModelSpec, ref: FactRef, facts: ModelFacts) -> Mutated | None:
    """Each DepthwiseConv2D in scope read as a Conv2D making as many channels."""
    mutated = spec
    for index in _scope(spec, ref, ("DepthwiseConv2D",)):
        layer = spec.layers[index]
        channels = facts.layers[index].input_shape[-1] * layer.get("depth_multiplier", 1)
        config = {k: v for k, v in layer.config if k != "depth_multiplier"}
        mutated = mutated.replace_layer(index, LayerSpec.make("Conv2D", filters=channels, **config))
    return (mutated, ref) if mutated != spec else None


def _append_to_embedding(class_name: str):
    """The asked Embedding followed by `class_name` (the rest of the model dropped), asking
    about that new last layer: what a student who pictures the output that way computes."""

    def mutate(spec: ModelSpec, ref: FactRef, facts: ModelFacts) -> Mutated | None:
        if ref.layer is None or spec.layers[ref.layer].class_name != "Embedding" or spec.inbound:
            return None
        layers = spec.layers[: ref.layer + 1] + (LayerSpec.make(class_name),)
        return ModelSpec(spec.input_shape, layers), ref.at(ref.layer + 1)

    return mutate


def _embedding_count(extra: Callable[[LayerFacts], int]):
    """A misread parameter count of an Embedding: the count as the student forms it from the
    layer's facts (`extra(layer)`)."""

    def misread(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> Answer | None:
        if ref.fact != "params" or facts.layers[ref.layer].class_name != "Embedding":
            return None
        return extra(facts.layers[ref.layer])

    return misread


def _units_ignored(spec: ModelSpec, ref: FactRef, facts: ModelFacts) -> Mutated | None:
    """The asked recurrent layer with as many units as its input has features."""
    if ref.layer is None or spec.layers[ref.layer].class_name not in RECURRENT + ("Bidirectional",):
        return None
    features = facts.layers[ref.layer].input_shape[-1]
    layer = spec.layers[ref.layer]
    if layer.class_name == "Bidirectional":
        inner = layer.wrapped().with_config(units=features)
        changed = layer.with_config(layer={"module": "keras.layers", "class_name": inner.class_name,
                                           "config": dict(inner.config)})
    else:
        changed = layer.with_config(units=features)
    return spec.replace_layer(ref.layer, changed), ref


def _one_output_per_gate(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> Answer | None:
    """An LSTM or GRU output read as one vector per gate (4 or 3 × units wide)."""
    known = facts.layers[ref.layer] if ref.layer is not None else None
    if ref.fact != "output_shape" or ref.axis or known is None or known.class_name not in ("LSTM", "GRU"):
        return None
    gates = 4 if known.class_name == "LSTM" else 3
    return (*known.output_shape[:-1], gates * known.output_shape[-1])


def _recurrent_weights_forgotten(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> Answer | None:
    """Parameters counted without the recurrent kernels (units × gates·units each)."""
    if ref.fact not in ("params", "total_params", "trainable_params"):
        return None
    layers = facts.layers if ref.fact != "params" else [facts.layers[ref.layer]]
    recurrent = sum(math.prod(w.shape) for layer in layers for w in layer.weights
                    if _kind(w) == "recurrent_kernel")
    return read_fact(facts, ref) - recurrent if recurrent else None


def _asked_conv(change: Callable[[LayerSpec, int], LayerSpec]):
    """A mutation of the asked Conv2D layer only; `change` gets the layer and its input depth."""

    def mutate(spec: ModelSpec, ref: FactRef, facts: ModelFacts) -> Mutated | None:
        if ref.layer is None or spec.layers[ref.layer].class_name not in ("Conv2D", "Conv1D"):
            return None
        channels = facts.layers[ref.layer].input_shape[-1]
        return spec.replace_layer(ref.layer, change(spec.layers[ref.layer], channels)), ref

    return mutate


def _filters_ignored(layer: LayerSpec, channels: int) -> LayerSpec:
    return layer.with_config(filters=channels)


def _filters_kernel_swapped(layer: LayerSpec, channels: int) -> LayerSpec:
    """Conv2D(32, 3) read as 32×32 windows and 3 filters (Conv1D(32, 3): 32 steps wide)."""
    size, filters = layer.get("kernel_size"), layer.get("filters")
    first = size if isinstance(size, int) else int(size[0])
    return layer.with_config(filters=first, kernel_size=filters if layer.class_name == "Conv1D"
                             else (filters, filters))


def _per_channel_filters(layer: LayerSpec, channels: int) -> LayerSpec:
    """Each filter applied to each input channel separately: a DepthwiseConv2D (for a
    Conv1D, DepthwiseConv1D) whose depth_multiplier is the number of filters."""
    config = dict(layer.config)
    config["depth_multiplier"] = config.pop("filters")
    return LayerSpec.make(f"Depthwise{layer.class_name}", **config)


def _input_channels_forgotten(spec: ModelSpec, ref: FactRef, facts: ModelFacts) -> Mutated | None:
    """The asked Conv2D layer alone, on an input with a single channel."""
    if ref.layer is None or spec.layers[ref.layer].class_name not in CONV:
        return None
    height, width, _ = facts.layers[ref.layer].input_shape[1:]
    return ModelSpec((height, width, 1), (spec.layers[ref.layer],)), ref.at(0)


def _previous_layer_shape(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> Answer | None:
    if ref.fact != "output_shape" or ref.layer is None:
        return None
    shape = facts.layers[ref.layer].input_shape
    if isinstance(shape[0], tuple):
        return None  # the inputs of a merge: no one shape to mistake for the output's
    if ref.axis is None:
        return shape
    return shape[AXES[ref.axis]] if len(shape) == 4 else None


def _channels_first_axes(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> Answer | None:
    """The output shape written, or read, as (batch, channels, height, width)."""
    if ref.fact != "output_shape" or ref.layer is None:
        return None
    shape = facts.layers[ref.layer].output_shape
    if len(shape) == 3 and ref.axis is None and facts.layers[ref.layer].class_name in SPATIAL:
        return (None, shape[2], shape[1])  # PyTorch's Conv1d layout (batch, channels, steps)
    if len(shape) != 4:
        return None
    if ref.axis is None:
        return (None, shape[3], shape[1], shape[2])
    return shape[CHANNELS_FIRST_AXES[ref.axis]]


def _kernel_reordered(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> Answer | None:
    """Conv2D kernel as (filters, C_in, k_h, k_w); Dense kernel as (units, n_in)."""
    if ref.fact != "weight_shape" or ref.weight != "kernel":
        return None
    shape = read_fact(facts, ref)
    return (shape[3], shape[2], shape[0], shape[1]) if len(shape) == 4 else tuple(reversed(shape))


def _weights_order_confused(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> Answer | None:
    """The kernel's shape given for the bias, or the bias's for the kernel."""
    if ref.fact != "weight_shape" or ref.weight not in ("kernel", "bias"):
        return None
    other = "bias" if ref.weight == "kernel" else "kernel"
    return facts.layers[ref.layer].weight_shape(other)


def _bias_per_position(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> Answer | None:
    """One bias per output value (biases are shared across positions)."""
    if ref.fact != "weight_shape" or ref.weight != "bias":
        return None
    return facts.layers[ref.layer].output_shape[1:]


def _kind(weight: WeightFacts) -> str:
    """A weight's own name without the sublayer that holds it: `forward/bias` → `bias`."""
    return weight.name.rsplit("/", 1)[-1]


def _bias_sizes(facts: ModelFacts, layer: int | None) -> list[int]:
    """Sizes of the bias vectors of one layer (or of all layers)."""
    layers = facts.layers if layer is None else [facts.layers[layer]]
    return [math.prod(weight.shape) for known in layers for weight in known.weights
            if _kind(weight) == "bias"]


def _single_bias(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> Answer | None:
    """One bias for the whole layer, as the scalar b of y = wx + b."""
    if ref.fact == "weight_shape":
        return (1,) if ref.weight == "bias" else None
    if ref.fact not in ("params", "total_params", "trainable_params"):
        return None
    biases = _bias_sizes(facts, ref.layer if ref.fact == "params" else None)
    return read_fact(facts, ref) - sum(biases) + len(biases) if biases else None


def _neurons_counted(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> Answer | None:
    """The number of units (or filters) instead of the number of weights; none where a layer
    with parameters has no plain units or filters to count (a BatchNormalization, a
    SeparableConv2D: what a student counts there is not one mistake)."""
    if ref.fact not in ("params", "total_params", "trainable_params"):
        return None
    layers = facts.layers if ref.layer is None else [facts.layers[ref.layer]]
    if any(known.params and known.class_name not in WEIGHTED for known in layers):
        return None
    return sum(known.output_shape[-1] for known in layers if known.class_name in WEIGHTED) or None


def _identity_shortcuts(spec: ModelSpec) -> list[tuple[int, int]]:
    """`(add, source)` for each identity shortcut of a functional model: an input of an `Add`
    that other layers take too (a residual block's input, which its body also takes)."""
    if spec.inbound is None:
        return []
    uses = Counter(source for sources in spec.inbound for source in sources)
    return [(index, source) for index, layer in enumerate(spec.layers) if layer.class_name == "Add"
            for source in spec.sources(index) if uses[source] > 1]


def _projections(spec: ModelSpec) -> list[int]:
    """The layers of each shortcut projection of a functional model: a 1×1 Conv2D (and the
    BatchNormalization after it, as in ResNet) on an input of an `Add` that other layers take
    too (the block's input, which its body also takes)."""
    if spec.inbound is None:
        return []
    uses = Counter(source for sources in spec.inbound for source in sources)
    found = []
    for index, layer in enumerate(spec.layers):
        for source in spec.sources(index) if layer.class_name == "Add" else ():
            path = []
            while source >= 0 and spec.layers[source].class_name == "BatchNormalization":
                path.append(source)
                source = spec.sources(source)[0]
            conv = spec.layers[source] if source >= 0 else None
            if conv is not None and conv.class_name == "Conv2D" and formulas.pair(
                    conv.get("kernel_size"), 1) == (1, 1) and uses[spec.sources(source)[0]] > 1:
                found += [source, *path]
    return found


def _projections_forgotten(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> Answer | None:
    """The model's parameters without its shortcut projections' (`_projections`)."""
    column = {"total_params": "params"}.get(ref.fact, ref.fact)
    left_out = sum(getattr(facts.layers[index], column) for index in _projections(spec))
    return read_fact(facts, ref) - left_out if left_out else None


def _shortcut_convolved(spec: ModelSpec, ref: FactRef, facts: ModelFacts) -> Mutated | None:
    """Each identity shortcut given a 1×1 Conv2D of as many filters as it has channels."""
    mutated = spec
    for add, source in reversed(_identity_shortcuts(spec)):  # a later add first: no index moves
        channels = (spec.input_of(source) if source < 0 else facts.layers[source].output_shape)[-1]
        mutated = mutated.with_layer_before(add, LayerSpec.make("Conv2D", filters=channels,
                                                                kernel_size=1), source)
    return (mutated, ref) if mutated != spec else None


ATTENTION = ("MultiHeadAttention",)


def _flat_kernel(layer: LayerSpec) -> LayerSpec | None:
    """A Conv3D's kernel without its depth (k_d = 1)."""
    k_d, k_h, k_w = formulas.triple(layer.get("kernel_size"), 1)
    return layer.with_config(kernel_size=(1, k_h, k_w)) if k_d > 1 else None


def _volume_as_image(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> Answer | None:
    """A 3-D layer's output shape without its depth axis, as a Conv2D's."""
    known = facts.layers[ref.layer] if ref.layer is not None else None
    if ref.fact != "output_shape" or ref.axis or known is None or len(known.output_shape) != 5:
        return None
    return (None, *known.output_shape[2:])


def _attention_layers(facts: ModelFacts, ref: FactRef) -> list[LayerFacts]:
    """The MultiHeadAttention layers a count of `ref` covers (the asked layer, or all)."""
    layers = facts.layers if ref.layer is None else [facts.layers[ref.layer]]
    return [known for known in layers if known.class_name in ATTENTION]


def _attention_weights_left_out(*sublayers: str):
    """A count of attention parameters without the weights of `sublayers` (`query`, `key`,
    `value`, `attention_output`); for the output shape without `attention_output`, the heads'
    values concatenated (num_heads × value_dim features)."""

    def misread(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> Answer | None:
        layers = _attention_layers(facts, ref)
        if ref.fact == "output_shape":
            if ref.axis or not layers or "attention_output" not in sublayers:
                return None
            heads, value_dim, _ = layers[0].weight_shape("attention_output/kernel")
            return (*layers[0].output_shape[:-1], heads * value_dim)
        if "key" in sublayers and not all(_projections_alike(known) for known in layers):
            return None  # projections of different shapes cannot be thought one
        left_out = sum(math.prod(weight.shape) for known in layers for weight in known.weights
                       if weight.name.split("/")[0] in sublayers)
        return read_fact(facts, ref) - left_out if left_out else None

    return misread


def _projections_alike(known: LayerFacts) -> bool:
    """Whether an attention layer's query, key and value kernels have one shape (self-attention
    with `value_dim` equal to `key_dim`)."""
    return len({known.weight_shape(f"{name}/kernel") for name in ("query", "key", "value")}) == 1


def _attention_scores(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> Answer | None:
    """The attention scores' shape (batch, num_heads, query steps, value steps) for the
    output's."""
    known = facts.layers[ref.layer] if ref.layer is not None else None
    if ref.fact != "output_shape" or ref.axis or known is None or known.class_name not in ATTENTION:
        return None
    query, value = known.input_shape[0], known.input_shape[1]
    if len(query) != 3:
        return None
    return (None, known.weight_shape("query/kernel")[1], query[1], value[1])


def _first_branch_only(spec: ModelSpec, ref: FactRef, facts: ModelFacts) -> Mutated | None:
    """The Concatenate layers before the asked one removed: what took their output takes
    their first input alone (`ModelSpec.without_layers`)."""
    scope = set(_scope(spec, ref, ("Concatenate",))) - {ref.layer}
    return _without(spec, ref, scope) if scope and ref.layer is not None else None


def _output_layer_forgotten(spec: ModelSpec, ref: FactRef, facts: ModelFacts) -> Mutated | None:
    """The model counted without its last layer."""
    if ref.fact not in ("total_params", "trainable_params") or len(spec.layers) < 2:
        return None
    return spec.without_layers({len(spec.layers) - 1}), ref


def _bias_in_kernel(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> Answer | None:
    """A Dense kernel with an extra row for the bias, as in textbooks that append x0 = 1."""
    if ref.fact != "weight_shape" or ref.weight != "kernel":
        return None
    shape = read_fact(facts, ref)
    return (shape[0] + 1, shape[1]) if len(shape) == 2 else None


def _earlier_layers_ignored(spec: ModelSpec, ref: FactRef, facts: ModelFacts) -> Mutated | None:
    """The asked layer applied straight to the model's input (of a chain)."""
    if not ref.layer or spec.layers[ref.layer].class_name not in WEIGHTED or spec.inbound:
        return None
    return ModelSpec(spec.input_shape, spec.layers[ref.layer:]), ref.at(0)


def _bias_per_input(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> Answer | None:
    if ref.fact != "weight_shape" or ref.weight != "bias":
        return None
    return (facts.layers[ref.layer].input_shape[-1],)


def _all_counted_trainable(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> Answer | None:
    if ref.fact == "trainable_params":
        return facts.total_params
    if ref.fact == "non_trainable_params":
        return 0
    return None


def _all_counted_non_trainable(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> Answer | None:
    """Every BatchNormalization parameter (gamma and beta too) counted as non-trainable."""
    batchnorm = sum(layer.params for layer in facts.layers
                    if layer.class_name == "BatchNormalization")
    if ref.fact == "non_trainable_params":
        return batchnorm
    if ref.fact == "trainable_params":
        return facts.total_params - batchnorm
    return None


def _bias_non_trainable(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> Answer | None:
    """Biases counted as fixed (non-trainable) parameters."""
    biases = sum(_bias_sizes(facts, None))
    if not biases:
        return None
    if ref.fact == "non_trainable_params":
        return facts.non_trainable_params + biases
    if ref.fact == "trainable_params":
        return facts.trainable_params - biases
    return None


#: The mistakes of this family, in priority order: when several give the same wrong value, the
#: distractor names the first of them (the most common: padding, strides and biases before the
#: rarer mistakes about one kind of layer).
MISCONCEPTIONS: tuple[Misconception, ...] = (
    Misconception("padding_flipped", "confused padding='valid' and padding='same'",
                  facts=SIZES, mutate=_rewrite(SPATIAL + POOLS, flip_padding)),
    Misconception("stride_ignored", "ignored the strides (computed as if the window moved by 1)",
                  facts=SIZES, mutate=_rewrite(SPATIAL + POOLS, _ignore_strides)),
    Misconception("pool_stride_one", "assumed pooling moves by 1 pixel (Keras' default strides "
                  "equal pool_size)", facts=SIZES, mutate=_rewrite(POOLS, pool_stride_one)),
    Misconception("bias_forgotten", "forgot the biases (one per filter, unit or attention "
                  "projection output)",
                  facts=COUNTS, mutate=_rewrite(BIASED, _forget_bias)),
    Misconception("gates_forgotten", "counted an LSTM or GRU like a SimpleRNN, forgetting its "
                  "gates (4 weight sets for LSTM, 3 for GRU)",
                  facts=COUNTS + WEIGHTS,
                  mutate=_rewrite(("LSTM", "GRU"), _to_class("SimpleRNN", "reset_after"))),
    Misconception("reset_after_confused", "forgot that GRU's reset_after=True (Keras' default) "
                  "gives it two bias vectors",
                  facts=COUNTS + WEIGHTS, mutate=_rewrite(("GRU",), _reset_after_ignored)),
    Misconception("recurrent_weights_forgotten", "forgot the recurrent kernel (units × units "
                  "per gate) that feeds the previous state back",
                  facts=COUNTS, misread=_recurrent_weights_forgotten),
    Misconception("bidirectional_single", "counted one direction only: Bidirectional holds two "
                  "copies of the layer and concatenates their outputs",
                  facts=SIZES, mutate=_rewrite(("Bidirectional",), LayerSpec.wrapped)),
    Misconception("return_sequences_confused", "confused return_sequences: False returns only "
                  "the last step, True one output per step",
                  facts=SHAPE, mutate=_rewrite(RECURRENT, _flip_sequences)),
    Misconception("units_ignored", "kept the input's feature size instead of the number of units",
                  facts=SIZES, mutate=_units_ignored),
    Misconception("one_output_per_gate", "thought an LSTM or GRU outputs one vector per gate; "
                  "it outputs its hidden state, units wide", facts=SHAPE, misread=_one_output_per_gate),
    Misconception("embedding_dims_swapped", "swapped Embedding's input_dim (vocabulary) and "
                  "output_dim (vector size)",
                  facts=SIZES, mutate=_rewrite(("Embedding",), _swap_embedding)),
    Misconception("transpose_as_conv", "used the Conv2D output-size formula for a transposed "
                  "convolution, which enlarges its input",
                  facts=SIZES, mutate=_rewrite(("Conv2DTranspose",), _to_class("Conv2D"))),
    Misconception("separable_as_conv", "counted a separable convolution as a regular Conv2D",
                  facts=COUNTS + WEIGHTS,
                  mutate=_rewrite(("SeparableConv2D",), _to_class("Conv2D", "depth_multiplier"))),
    Misconception("depthwise_as_conv", "counted a depthwise convolution as a regular Conv2D, "
                  "each filter spanning all input channels", facts=COUNTS + WEIGHTS,
                  mutate=_depthwise_as_conv),
    Misconception("embedding_flattened", "thought an Embedding returns one long vector; it "
                  "returns one vector per token", facts=SHAPE, mutate=_append_to_embedding("Flatten")),
    Misconception("embedding_pooled", "thought an Embedding returns a single vector for the "
                  "whole sequence", facts=SHAPE, mutate=_append_to_embedding("GlobalAveragePooling1D")),
    Misconception("embedding_bias", "gave the Embedding a bias; it is a lookup table of "
                  "input_dim × output_dim weights",
                  facts=COUNTS,
                  misread=_embedding_count(lambda layer: layer.params + layer.output_shape[-1])),
    Misconception("embedding_one_weight_per_word", "gave each word of the vocabulary one weight "
                  "instead of a vector of output_dim values", facts=COUNTS,
                  misread=_embedding_count(lambda layer: layer.weights[0].shape[0])),
    Misconception("embedding_per_position", "counted one vector per position of the sequence "
                  "instead of one per word of the vocabulary",
                  facts=COUNTS,
                  misread=_embedding_count(lambda layer: layer.output_shape[1] * layer.output_shape[2])),
    Misconception("global_pooling_as_flatten", "flattened its input instead of averaging each "
                  "feature map (or each feature, over a sequence's steps) to a single value",
                  facts=SIZES,
                  mutate=_rewrite(("GlobalAveragePooling2D", "GlobalAveragePooling1D"),
                                  _to_class("Flatten"))),
    Misconception("kernel_one_dimensional", "treated each k×k kernel as k×1 (k weights instead "
                  "of k×k)",
                  facts=COUNTS + WEIGHTS, mutate=_rewrite(CONV, _one_dimensional_kernel)),
    Misconception("input_channels_forgotten", "forgot that each filter spans all input channels",
                  facts=COUNTS + WEIGHTS, mutate=_input_channels_forgotten),
    Misconception("filters_ignored", "kept the input's depth instead of the number of filters",
                  facts=SIZES, mutate=_asked_conv(_filters_ignored)),
    Misconception("filters_kernel_swapped", "swapped filters and kernel_size, the first two "
                  "arguments of a convolution layer",
                  facts=SIZES, mutate=_asked_conv(_filters_kernel_swapped)),
    Misconception("per_channel_filters", "thought each filter makes one feature map per input "
                  "channel (a depthwise convolution)",
                  facts=SIZES, mutate=_asked_conv(_per_channel_filters)),
    Misconception("flatten_ignored", "applied Dense to the last axis only, as if there were no "
                  "Flatten", facts=SIZES, mutate=_remove(("Flatten",))),
    Misconception("pooling_ignored", "forgot that pooling shrinks the feature maps",
                  facts=SIZES, mutate=_remove(POOLS)),
    Misconception("batchnorm_ignored", "thought BatchNormalization has no parameters",
                  facts=COUNTS + SPLIT, mutate=_remove(("BatchNormalization",))),
    Misconception("output_layer_forgotten", "left the output layer out of the count",
                  facts=TOTALS, mutate=_output_layer_forgotten),
    Misconception("earlier_layers_ignored", "used the model's input size instead of the output "
                  "of the layer just before", facts=("params",) + WEIGHTS, mutate=_earlier_layers_ignored),
    Misconception("previous_layer_shape", "gave the layer's input shape, not its output shape",
                  facts=SHAPE, misread=_previous_layer_shape),
    Misconception("channels_first_axes", "read the shape as (batch, channels, height, width); "
                  "Keras is channels-last: (batch, height, width, channels)",
                  facts=SHAPE, misread=_channels_first_axes),
    Misconception("kernel_reordered", "wrote the kernel in PyTorch's order, (filters, C_in, k_h, "
                  "k_w) or (units, n_in); Keras stores (k_h, k_w, C_in, filters) and (n_in, units)",
                  facts=WEIGHTS, misread=_kernel_reordered),
    Misconception("weights_order_confused", "mixed up the kernel and the bias (get_weights() "
                  "returns the kernel first, then the bias)", facts=WEIGHTS, misread=_weights_order_confused),
    Misconception("bias_per_position", "gave every output value its own bias; a bias is shared "
                  "by all positions of its feature map", facts=WEIGHTS, misread=_bias_per_position),
    Misconception("single_bias", "gave each layer a single bias instead of one per unit or "
                  "filter", facts=COUNTS + WEIGHTS, misread=_single_bias),
    Misconception("neurons_counted", "counted neurons (units or filters) instead of weights",
                  facts=COUNTS, misread=_neurons_counted),
    Misconception("bias_in_kernel", "put the bias in the kernel as an extra input row",
                  facts=WEIGHTS, misread=_bias_in_kernel),
    Misconception("bias_per_input", "gave one bias per input channel or feature instead of one "
                  "per filter or unit",
                  facts=WEIGHTS, misread=_bias_per_input),
    Misconception("batchnorm_all_trainable", "counted BatchNormalization's moving mean and "
                  "variance as trainable", facts=SPLIT, misread=_all_counted_trainable),
    Misconception("batchnorm_all_non_trainable", "counted BatchNormalization's gamma and beta "
                  "as non-trainable", facts=SPLIT, misread=_all_counted_non_trainable),
    Misconception("bias_non_trainable", "thought biases are fixed, not learned",
                  facts=SPLIT, misread=_bias_non_trainable),
    Misconception("dilation_ignored", "ignored the dilation_rate: a kernel k wide dilated by d "
                  "spans d·(k − 1) + 1 pixels (3×3 dilated by 2 spans 5×5)", facts=SHAPE,
                  mutate=_rewrite(CONV, _undilated)),
    Misconception("groups_ignored", "ignored groups: with groups=G each filter sees only C_in / G "
                  "of the input channels", facts=COUNTS + WEIGHTS, mutate=_rewrite(CONV, _ungrouped)),
    Misconception("padding_one_side", "added ZeroPadding2D's rows and columns on one side only; "
                  "padding=p adds p on each side", facts=SIZES,
                  mutate=_rewrite(("ZeroPadding2D",), _one_side("padding", 1))),
    Misconception("cropping_one_side", "cropped on one side only; cropping=c cuts c rows and "
                  "columns from each side", facts=SIZES,
                  mutate=_rewrite(("Cropping2D",), _one_side("cropping", 0))),
    Misconception("upsampling_adds", "added `size` rows and columns; UpSampling2D repeats each "
                  "row and column `size` times", facts=SIZES,
                  mutate=_rewrite(("UpSampling2D",), _upsampling_added)),
    Misconception("layernorm_all_axes", "gave LayerNormalization a gamma and a beta per value of "
                  "the sample; it has one per feature (its last axis)", facts=COUNTS + WEIGHTS,
                  mutate=_normalized_everywhere),
    Misconception("layernorm_without_parameters", "thought LayerNormalization has no "
                  "parameters; it learns a gamma and a beta per feature", facts=COUNTS,
                  mutate=_rewrite(("LayerNormalization",),
                                  lambda layer: layer.with_config(center=False, scale=False))),
    Misconception("layernorm_as_batchnorm", "counted LayerNormalization like BatchNormalization, "
                  "with a moving mean and variance; it normalizes each sample and keeps only "
                  "gamma and beta", facts=COUNTS + SPLIT,
                  mutate=_rewrite(("LayerNormalization",), _to_class("BatchNormalization", "axis"))),
    Misconception("concatenation_as_add", "thought Concatenate adds its inputs element-wise, "
                  "like Add; it puts them side by side, so their channels add up",
                  facts=SIZES, mutate=_rewrite(("Concatenate",), _to_class("Add", "axis"))),
    Misconception("concatenated_branch_forgotten", "took the layer after Concatenate to see "
                  "the first branch's features only; it sees all the branches' features side by "
                  "side",
                  facts=SIZES, mutate=_first_branch_only),
    Misconception("projection_forgotten", "left out the shortcut's 1×1 projection, which "
                  "gives the block's input the depth (and size) of its output so that they can be "
                  "added; its parameters count too", facts=TOTALS, misread=_projections_forgotten),
    Misconception("shortcut_weights", "gave the identity shortcut of a residual block weights "
                  "of its own (a 1×1 convolution); it adds its input unchanged, with no parameter",
                  facts=TOTALS, mutate=_shortcut_convolved),
    Misconception("conv3d_kernel_flat", "counted a Conv3D kernel as k_h × k_w per input "
                  "channel; it is k_d × k_h × k_w, also spanning the depth (frames)",
                  facts=("params",) + WEIGHTS, mutate=_rewrite(("Conv3D",), _flat_kernel)),
    Misconception("depth_axis_forgotten", "left out the depth (frames) axis; a 3-D layer's "
                  "output is (batch, depth, height, width, channels)", facts=SHAPE,
                  misread=_volume_as_image),
    Misconception("attention_heads_share_projections", "counted as if num_heads were 1; each "
                  "head has its own query, key and value projections, so they are num_heads × "
                  "key_dim (and num_heads × value_dim) wide in all",
                  facts=COUNTS, mutate=_rewrite(ATTENTION, lambda layer: layer.with_config(
                      num_heads=1) if layer.get("num_heads") != 1 else None)),
    Misconception("attention_output_forgotten", "forgot the output projection "
                  "(`attention_output`), which maps the heads' num_heads × value_dim values of "
                  "each position back to the query's features (or output_shape)",
                  facts=SHAPE + COUNTS, misread=_attention_weights_left_out("attention_output")),
    Misconception("attention_one_projection", "gave self-attention one projection for query, "
                  "key and value, as it is called on one tensor twice; each has its own kernel "
                  "and bias", facts=COUNTS, misread=_attention_weights_left_out("key", "value")),
    Misconception("attention_without_biases", "left out the biases of the query, key, value "
                  "and output projections (use_bias=True is Keras' default)",
                  facts=COUNTS, mutate=_rewrite(ATTENTION, _forget_bias)),
    Misconception("attention_scores_as_output", "gave the shape of the attention scores (batch, "
                  "heads, query steps, value steps); the layer returns one vector per query "
                  "position", facts=SHAPE, misread=_attention_scores),
)

#: Every label of this family and what it means (the feedback a student gets).
DESCRIPTIONS = {m.label: m.description for m in MISCONCEPTIONS}


def wrong_answers(spec: ModelSpec, ref: FactRef, facts: ModelFacts, oracle: Oracle,
                  rng: random.Random, count: int = 3,
                  avoid: frozenset = frozenset()) -> list[tuple[Answer, str]]:
    """`count` distinct wrong answers to `ref` about `spec`, with their misconception labels
    (`quizgen.distractors.choose` over `MISCONCEPTIONS`), none of them in `avoid`.

    Raises:
        QuestionError: fewer than `count` misconceptions give distinct wrong answers.
    """
    return choose(MISCONCEPTIONS, spec, ref, facts, oracle, rng, count, avoid)


# --- the worked explanation -----------------------------------------------------------------

def _shape_sentence(spec: ModelSpec, facts: ModelFacts, index: int) -> str:
    """Why layer `index` has its output shape, with the closed forms worked out."""
    layer, known = spec.layers[index], facts.layers[index]
    before, after = known.input_shape, known.output_shape
    intro = _receives(known)
    if _closed_form(layer, known) is None:
        return _unchanged_or_built(intro, layer, before, after)
    if layer.class_name in POOLING + ("Conv2D",):
        kernel, strides, padding = formulas.window(layer)
        span = formulas.dilated_window(layer) if layer.class_name == "Conv2D" else kernel
        dilated = "" if span == kernel else (
            f" (dilated by {layer.get('dilation_rate')}: it spans {span[0]}×{span[1]}, the K below)")
        kernel = span
        sizes = [
            f"{axis} {formulas.size_derivation(size, k, s, padding)}"
            for axis, size, k, s in zip(("height", "width"), before[1:3], kernel, strides,
                                        strict=True)
        ]
        depth = (f"the depth is the number of filters, {after[-1]}"
                 if layer.class_name == "Conv2D" else f"pooling keeps the {after[-1]} channels")
        window = formulas.window(layer)[0]
        return (f"{intro} Its window is {window[0]}×{window[1]}{dilated} with strides {strides} "
                f"and padding \"{padding}\", so each spatial size is "
                f"{' and '.join(sizes)}; {depth}.")
    if layer.class_name == "Flatten":
        product = " × ".join(str(size) for size in before[1:])
        return f"{intro} Flatten multiplies the non-batch sizes: {product} = {after[1]:,}."
    if layer.class_name in SHAPE_SENTENCES:
        return f"{intro} {SHAPE_SENTENCES[layer.class_name](layer, before, after)}"
    return _unchanged_or_built(intro, layer, before, after)


def _receives(known: LayerFacts) -> str:
    """`conv2d receives a tensor of shape (None, 28, 28, 1).`, or the shapes of its inputs."""
    before = known.input_shape
    if isinstance(before[0], tuple):
        shapes = " and ".join(format_answer(shape) for shape in before)
        return f"`{known.name}` receives {len(before)} tensors, of shapes {shapes}."
    return f"`{known.name}` receives a tensor of shape {format_answer(before)}."


def _unchanged_or_built(intro: str, layer: LayerSpec, before: Any, after: Shape) -> str:
    """The shape sentence of a layer without a worked formula."""
    if before == after:
        return f"{intro} A {layer.class_name} layer does not change the shape."
    return f"{intro} Keras builds `{layer.code()}` on it and reports its output shape."


def _transposed(layer, before, after) -> str:
    (k_h, _), (s_h, _), padding = formulas.window(layer)
    rule = "W·S + max(K − S, 0)" if padding == "valid" else "W·S"
    return (f"A transposed convolution enlarges each spatial size to {rule} with padding "
            f"\"{padding}\": {before[1]}·{s_h}{' + ' + str(max(k_h - s_h, 0)) if padding == 'valid' else ''}"
            f" = {after[1]}; the depth is the number of filters, {after[-1]}.")


def _recurrent(layer, before, after) -> str:
    inner = layer.wrapped() if layer.class_name == "Bidirectional" else layer
    sequences = inner.get("return_sequences", False)
    what = (f"one vector of {count_of(inner.get('units'), 'unit')} per time step ({before[1]} steps)"
            if sequences else f"only the last time step's {count_of(inner.get('units'), 'unit')} "
            "(return_sequences=False)")
    twice = (" Bidirectional concatenates the forward and backward outputs, doubling the last "
             "axis." if layer.class_name == "Bidirectional" else "")
    return f"It returns {what}.{twice}"


def _sides_sentence(verb: str, argument: str, default: int):
    """The shape sentence of ZeroPadding2D (`verb` "adds") or Cropping2D ("cuts")."""

    def sentence(layer: LayerSpec, before: Shape, after: Shape) -> str:
        (top, bottom), (left, right) = formulas.sides(layer.get(argument, default))
        return (f"It {verb} {top} + {bottom} = {count_of(top + bottom, 'row')} and {left} + "
                f"{right} = {count_of(left + right, 'column')}: {after[1]}×{after[2]}, the "
                f"{after[3]} channels unchanged.")

    return sentence


def _attention_sentence(layer: LayerSpec, before: Any, after: Shape) -> str:
    heads, value_dim = layer.get("num_heads"), layer.get("value_dim") or layer.get("key_dim")
    target = ("as many as the query has" if layer.get("output_shape") is None
              else f"output_shape = {layer.get('output_shape')}")
    return (f"The first is the query, the second the value (the key too, when none is given). "
            f"Each of its {heads} heads gives every query position value_dim = {value_dim} "
            f"values; the output projection maps those {heads} · {value_dim} values back to "
            f"{count_of(after[-1], 'feature')} ({target}), so the output has the query's "
            f"positions, {format_answer(after)}.")


def _volume_sentence(layer: LayerSpec, before: Any, after: Shape) -> str:
    """A Conv3D's or 3-D pooling's sizes along depth, height and width."""
    pooling = layer.class_name != "Conv3D"
    kernel = formulas.triple(layer.get("pool_size" if pooling else "kernel_size"), 2 if pooling else 1)
    strides = formulas.triple(layer.get("strides"), kernel if pooling else 1)
    padding = layer.get("padding", "valid")
    sizes = " and ".join(f"{axis} {formulas.size_derivation(size, k, s, padding)}" for axis, size, k, s
                         in zip(("depth", "height", "width"), before[1:4], kernel, strides, strict=True))
    depth = (f"pooling keeps the {after[-1]} channels" if pooling
             else f"the channels are the {count_of(after[-1], 'filter')}")
    return (f"Its {kernel[0]}×{kernel[1]}×{kernel[2]} window moves with strides {strides} and "
            f"padding \"{padding}\" along the three axes: {sizes}; {depth}.")


SHAPE_SENTENCES = {
    "Conv3D": _volume_sentence, "MaxPooling3D": _volume_sentence,
    "AveragePooling3D": _volume_sentence,
    "MultiHeadAttention": _attention_sentence,
    "ZeroPadding2D": _sides_sentence("adds", "padding", 1),
    "Cropping2D": _sides_sentence("cuts", "cropping", 0),
    "UpSampling2D": lambda layer, before, after: (
        f"It repeats each row {after[1] // before[1]} and each column {after[2] // before[2]} "
        f"times: {before[1]}·{after[1] // before[1]} × {before[2]}·{after[2] // before[2]} = "
        f"{after[1]}×{after[2]}, the {after[3]} channels unchanged."),
    "Add": lambda layer, before, after: (
        "Add sums them element-wise, so the output keeps their shape."),
    "Concatenate": lambda layer, before, after: (
        f"Concatenate puts them side by side along axis {layer.get('axis', -1)}"
        + ((" (the channels)" if len(after) == 4 else " (the features)")
           if layer.get("axis", -1) in (-1, len(after) - 1) else "") + ": "
        f"{' + '.join(str(shape[layer.get('axis', -1)]) for shape in before)} = "
        f"{after[layer.get('axis', -1)]}."),
    "Dense": lambda layer, before, after: (
        f"Dense replaces the last axis by its {count_of(after[-1], 'unit')}."),
    "Conv2DTranspose": _transposed,
    "Conv1D": lambda layer, before, after: (
        f"Along the time axis the window of {formulas.task_window(layer)[0][1]} steps gives "
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


def summary_table(facts: ModelFacts, column: str,
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


def _gru_biases(layer: LayerSpec) -> str:
    """Why a GRU counts its biases twice (Keras' default `reset_after=True`), if it does."""
    inner = layer.wrapped() if layer.class_name == "Bidirectional" else layer
    if inner.class_name != "GRU" or not inner.get("reset_after", True) or not inner.get("use_bias", True):
        return ""
    return (" A GRU with `reset_after=True` (Keras' default) has two bias vectors, one for its "
            "input kernel and one for its recurrent kernel, so b = 2.")


def _per(layer: LayerSpec) -> str:
    """What a layer has one bias (or BatchNormalization vector entry) for."""
    if layer.class_name in ("Dense",) + RECURRENT:
        return "unit"
    return "filter" if layer.get("filters") is not None else "channel"


#: A model of more layers has its total worked out as the column's sum, not term by term.
SUMMED_LAYERS = 30


def _closed_form(layer: LayerSpec, known: LayerFacts) -> formulas.ClosedForm | None:
    """The closed form of a layer, when there is one and it gives what Keras reports (a
    layer with an argument the formulas leave out, such as `groups`, has its explanation from
    Keras' weights instead)."""
    try:
        form = formulas.layer_closed_form(layer, known.input_shape)
    except (NotImplementedError, ArchitectureError, TypeError, ValueError, KeyError, IndexError):
        return None
    return form if (form.output_shape, form.params) == (known.output_shape, known.params) else None


def _params_derivation(layer: LayerSpec, known: LayerFacts) -> str:
    """The worked parameter count (`quizgen.formulas.params_derivation`), or, without a closed
    form that gives Keras' count, the sum of the sizes of the weights Keras creates."""
    if _closed_form(layer, known) is not None:
        return formulas.params_derivation(layer, known.input_shape)
    if not known.weights:
        return f"{known.params} (a {layer.class_name} layer has no weights)"
    sizes = " + ".join(" · ".join(map(str, weight.shape)) for weight in known.weights)
    names = ", ".join(f"`{weight.name}` {format_answer(weight.shape)}" for weight in known.weights)
    return f"Keras creates {names}: {sizes} = {known.params:,}"


def explain(spec: ModelSpec, facts: ModelFacts, ref: FactRef) -> str:
    """The worked explanation (Markdown with `$...$` math) of the answer to `ref`."""
    answer = format_answer(read_fact(facts, ref))
    if ref.fact in ("total_params", "trainable_params", "non_trainable_params"):
        column = "params" if ref.fact == "total_params" else ref.fact
        terms = " + ".join(f"{getattr(layer, column):,}" for layer in facts.layers)
        normalized = any(layer.class_name == "BatchNormalization" for layer in facts.layers)
        note = ("BatchNormalization's gamma and beta are trainable; its moving mean and moving "
                "variance are updated during training but not by gradient descent, so Keras counts "
                "them as non-trainable. " if ref.fact != "total_params" and normalized else "")
        if ref.fact != "total_params" and not facts.non_trainable_params:
            note = "No layer of this model has non-trainable weights. "
        total = f"{terms} = {answer}" if len(facts.layers) <= SUMMED_LAYERS else (
            f"The {'Param #' if column == 'params' else 'Trainable'} column adds up to {answer}")
        return (f"Add up the parameters of every layer, as `model.summary()` does:\n\n"
                f"{summary_table(facts, column)}\n\n{note}{total}.")
    layer, known = spec.layers[ref.layer], facts.layers[ref.layer]
    if ref.fact == "params":
        return (f"{_receives(known)} Its parameters: "
                f"{_params_derivation(layer, known)}.{_gru_biases(layer)}")
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
                if ref.weight == "kernel" else f"The {ref.weight} has one value per {_per(layer)}")
        return (f"{_receives(known)} {what}, so "
                f"`{ref.weight}` has shape {answer} (the order `get_weights()` returns).")
    sentence = _shape_sentence(spec, facts, ref.layer)
    if ref.axis is None:
        return f"{sentence} Keras reports the output shape {answer}."
    what = "depth (number of channels)" if ref.axis == "channels" else ref.axis
    return (f"{sentence} The output shape is {format_answer(known.output_shape)}, so its "
            f"{what} is {answer}.")



# --- making, proving and re-deriving a question ---------------------------------------------

def value_question(subject: Subject, rng: random.Random, layer: int | None, answer: Answer,
                   wrong: Callable[[random.Random], list[tuple[Answer, str]]], worked: str,
                   misconceptions: dict[str, str]) -> Question:
    """A question whose answer is a value (a count, a shape, a matrix): single choice among the
    answer and the `wrong` answers with their labels, or free response, as the ask's
    `response` forms allow (one drawn by `rng`); `worked` is the worked explanation. A fixed
    subject (a classic's model or task: it cannot be redrawn) whose mistakes give too few
    distinct wrong answers for single choice is asked as free response when its ask allows it.

    Raises:
        QuestionError: too few distinct wrong answers for single choice, and free response is
            not an option (a sampled subject is redrawn instead; a slot's form is kept).
    """
    ref = subject.ask.ref(layer)
    response = rng.choice(subject.ask.response)
    choices: tuple[Choice, ...] = ()
    if response == "single_choice":
        try:
            choices = (Choice(format_answer(answer), answer, True),) + tuple(
                Choice(format_answer(value), value, False, label) for value, label in wrong(rng))
        except QuestionError:
            if subject.template.fixed is None or "free" not in subject.ask.response:
                raise
    kind = "single_choice" if choices else ref.free_kind
    text = subject.text(layer_variables(subject, layer) | {"axis": ref.axis, "weight": ref.weight})
    explanation = "\n\n".join(part for part in (worked, mistakes(choices, misconceptions)) if part)
    return Question(ref, kind, text, answer, choices, explanation, reading(subject, layer))


def make(subject: Subject, rng: random.Random) -> Question:
    """The asked fact of the subject's model, read from Keras' facts; distractors from
    `MISCONCEPTIONS`. The correct choice comes first.

    Raises:
        QuestionError: no layer matches the ask, the layer has no such fact (an axis of a
            non-image output, a missing weight), the trainable / non-trainable split of a
            model without non-trainable weights (the total again, or 0), or too few distinct
            distractors.
    """
    if subject.ask.fact in SPLIT and subject.facts.non_trainable_params == 0:
        raise QuestionError("every parameter of the model is trainable: its trainable / "
                            "non-trainable split would ask its total again (or 0)")
    layer = resolve_layer(subject.ask, subject.spec, rng)
    ref = subject.ask.ref(layer)
    answer = read_fact(subject.facts, ref)
    return value_question(
        subject, rng, layer, answer,
        lambda rng: wrong_answers(subject.spec, ref, subject.facts, subject.oracle, rng, CHOICES - 1,
                                  subject.avoid),
        explain(subject.spec, subject.facts, ref), DESCRIPTIONS)


def prove(subject: Subject, question: Question) -> list[str]:
    """A model-fact question is valid when its answer is Keras' value of the fact and its
    options are (`quizgen.family.prove_choices`)."""
    problems = prove_choices(question, DESCRIPTIONS) if question.choices else []
    if read_fact(subject.facts, question.ref) != question.answer:
        problems.append(f"the answer {format_answer(question.answer)} is not Keras' value")
    return problems


def rederive(entry: KeyEntry, oracle: Oracle) -> tuple[Any, Any]:
    """The fact of a key entry as Keras computes it now (the whole `keras.Sequential` built
    and executed: `Oracle.model_facts`) and as the closed forms give it (Keras' value again
    where some layer has no closed form; an error message where they fail)."""
    spec = ModelSpec.from_json(entry.model)
    ref = entry.ref
    keras_answer = to_json(read_fact(oracle.model_facts(spec), ref))
    try:
        return keras_answer, to_json(formulas.closed_form_fact(spec, ref))
    except NotImplementedError:
        return keras_answer, keras_answer
    except (ArchitectureError, QuestionError) as error:
        return keras_answer, f"error: {error}"


def reproduce(entry: KeyEntry, oracle: Oracle) -> list[str]:
    """Each distractor's labelled mistake executed again on the entry's model (by a fresh
    oracle) must give that distractor, and no more common mistake may give it too."""
    spec, ref = ModelSpec.from_json(entry.model), entry.ref
    facts = oracle.facts(spec)
    priority = [m.label for m in MISCONCEPTIONS]
    problems = []
    for choice in entry.choices:
        if choice.correct or not choice.misconception:
            continue
        why = check_label(choice.misconception, from_json(choice.value),
                          lambda label: compound_answer(MISCONCEPTIONS, label, spec, ref, facts, oracle),
                          priority)
        if why:
            problems.append(f"distractor {choice.text!r}: {why}")
    return problems


def check_ask(ask: Ask) -> list[tuple[str, str]]:
    """A layer fact needs its `layer`, a weight shape its `weight`."""
    needed = (("layer",) if ask.fact in LAYER_FACTS else ()) + (
        ("weight",) if ask.fact == "weight_shape" else ())
    return [("", f"'{name}' is a required property") for name in needed
            if getattr(ask, name) is None]


FAMILY = Family(
    name="model_facts",
    facts=LAYER_FACTS + MODEL_FACTS,
    misconceptions=DESCRIPTIONS,
    make=make,
    prove=prove,
    rederive=rederive,
    check_ask=check_ask,
    reproduce=reproduce,
)
