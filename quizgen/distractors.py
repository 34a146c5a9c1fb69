"""Distractors from executed misconceptions.

Each `Misconception` is a way students get a fact wrong, made executable: either a *mutation*
of the spec (padding flipped, stride ignored, bias forgotten, Flatten ignored, ...) which the
Keras oracle then builds and executes, or a *misreading* of the facts Keras computed (the input
shape given for the output shape, a kernel written in channels-first order, BatchNormalization's
moving statistics counted as trainable). The wrong answer is what Keras says about the mutated
model, so every distractor is a number a real (mistaken) computation produces.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial

from quizgen import oracle
from quizgen.errors import ArchitectureError, QuestionError
from quizgen.facts import AXES, Answer, FactRef, read_fact
from quizgen.formulas import padding_amounts, window
from quizgen.oracle import LayerFacts, ModelFacts
from quizgen.spec import LayerSpec, ModelSpec, Task

CONV = ("Conv2D",)
POOLING = ("MaxPooling2D", "AveragePooling2D")
#: Layers with a sliding window and `padding`/`strides` arguments.
SPATIAL = ("Conv2D", "Conv1D", "Conv2DTranspose", "SeparableConv2D", "DepthwiseConv2D")
RECURRENT = ("SimpleRNN", "GRU", "LSTM")
#: Layers with a `use_bias` argument.
BIASED = SPATIAL + RECURRENT + ("Dense",)
WEIGHTED = ("Conv2D", "Dense")

Mutated = tuple[ModelSpec, FactRef]

#: Where a channels-first reader looks for each axis in a channels-last shape.
CHANNELS_FIRST_AXES = {"channels": 1, "height": 2, "width": 3}


@dataclass(frozen=True)
class Misconception:
    """A labelled mistake. `mutate` rewrites the spec (then Keras executes it); `misread`
    derives the wrong answer from the correct model's facts. Either returns None when the
    mistake does not apply to the asked fact."""

    label: str
    description: str
    mutate: Callable[[ModelSpec, FactRef, ModelFacts], Mutated | None] | None = None
    misread: Callable[[ModelFacts, FactRef], Answer | None] | None = None


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


def _remove(classes: tuple[str, ...]):
    """A mutation deleting the layers of `classes` in scope, re-pointing the asked layer."""

    def mutate(spec: ModelSpec, ref: FactRef, facts: ModelFacts) -> Mutated | None:
        scope = set(_scope(spec, ref, classes)) - {ref.layer}
        if not scope:
            return None
        layer = None if ref.layer is None else ref.layer - sum(i < ref.layer for i in scope)
        return spec.without_layers(scope), ref.at(layer)

    return mutate


def _flip_padding(layer: LayerSpec) -> LayerSpec:
    return layer.with_config(padding="same" if layer.get("padding", "valid") == "valid" else "valid")


def _ignore_strides(layer: LayerSpec) -> LayerSpec | None:
    default = None if layer.class_name in POOLING else 1
    if layer.get("strides", default) in (1, (1,), (1, 1)):
        return None
    return layer.with_config(strides=1)


def _pool_stride_one(layer: LayerSpec) -> LayerSpec | None:
    return None if layer.get("strides") is not None else layer.with_config(strides=(1, 1))


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


def _unwrap(layer: LayerSpec) -> LayerSpec:
    inner = dict(layer.get("layer"))
    return LayerSpec.make(inner["class_name"], **dict(inner.get("config", ())))


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
        if ref.layer is None or spec.layers[ref.layer].class_name != "Embedding":
            return None
        layers = spec.layers[: ref.layer + 1] + (LayerSpec.make(class_name),)
        return ModelSpec(spec.input_shape, layers), ref.at(ref.layer + 1)

    return mutate


def _embedding_count(extra: Callable[[LayerFacts], int]):
    """A misread parameter count of an Embedding: the count as the student forms it from the
    layer's facts (`extra(layer)`)."""

    def misread(facts: ModelFacts, ref: FactRef) -> Answer | None:
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
        inner = _unwrap(layer).with_config(units=features)
        changed = layer.with_config(layer={"module": "keras.layers", "class_name": inner.class_name,
                                           "config": dict(inner.config)})
    else:
        changed = layer.with_config(units=features)
    return spec.replace_layer(ref.layer, changed), ref


def _one_output_per_gate(facts: ModelFacts, ref: FactRef) -> Answer | None:
    """An LSTM or GRU output read as one vector per gate (4 or 3 × units wide)."""
    known = facts.layers[ref.layer] if ref.layer is not None else None
    if ref.fact != "output_shape" or ref.axis or known is None or known.class_name not in ("LSTM", "GRU"):
        return None
    gates = 4 if known.class_name == "LSTM" else 3
    return (*known.output_shape[:-1], gates * known.output_shape[-1])


def _recurrent_weights_forgotten(facts: ModelFacts, ref: FactRef) -> Answer | None:
    """Parameters counted without the recurrent kernels (units × gates·units each)."""
    if ref.fact not in ("params", "total_params", "trainable_params"):
        return None
    layers = facts.layers if ref.fact != "params" else [facts.layers[ref.layer]]
    recurrent = sum(math.prod(w.shape) for layer in layers for w in layer.weights
                    if w.name == "recurrent_kernel")
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
    """Conv2D(32, 3) read as 32×32 windows and 3 filters."""
    (k_h, _), _, _ = window(layer)
    filters = layer.get("filters")
    return layer.with_config(filters=k_h, kernel_size=(filters, filters))


def _per_channel_filters(layer: LayerSpec, channels: int) -> LayerSpec:
    """Each filter applied to each input channel separately: a DepthwiseConv2D whose
    depth_multiplier is the number of filters."""
    config = dict(layer.config)
    config["depth_multiplier"] = config.pop("filters")
    return LayerSpec.make("DepthwiseConv2D", **config)


def _input_channels_forgotten(spec: ModelSpec, ref: FactRef, facts: ModelFacts) -> Mutated | None:
    """The asked Conv2D layer alone, on an input with a single channel."""
    if ref.layer is None or spec.layers[ref.layer].class_name not in CONV:
        return None
    height, width, _ = facts.layers[ref.layer].input_shape[1:]
    return ModelSpec((height, width, 1), (spec.layers[ref.layer],)), ref.at(0)


def _previous_layer_shape(facts: ModelFacts, ref: FactRef) -> Answer | None:
    if ref.fact != "output_shape" or ref.layer is None:
        return None
    shape = facts.layers[ref.layer].input_shape
    if ref.axis is None:
        return shape
    return shape[AXES[ref.axis]] if len(shape) == 4 else None


def _channels_first_axes(facts: ModelFacts, ref: FactRef) -> Answer | None:
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


def _kernel_reordered(facts: ModelFacts, ref: FactRef) -> Answer | None:
    """Conv2D kernel as (filters, C_in, k_h, k_w); Dense kernel as (units, n_in)."""
    if ref.fact != "weight_shape" or ref.weight != "kernel":
        return None
    shape = read_fact(facts, ref)
    return (shape[3], shape[2], shape[0], shape[1]) if len(shape) == 4 else tuple(reversed(shape))


def _weights_order_confused(facts: ModelFacts, ref: FactRef) -> Answer | None:
    """The kernel's shape given for the bias, or the bias's for the kernel."""
    if ref.fact != "weight_shape" or ref.weight not in ("kernel", "bias"):
        return None
    other = "bias" if ref.weight == "kernel" else "kernel"
    return facts.layers[ref.layer].weight_shape(other)


def _bias_per_position(facts: ModelFacts, ref: FactRef) -> Answer | None:
    """One bias per output value (biases are shared across positions)."""
    if ref.fact != "weight_shape" or ref.weight != "bias":
        return None
    return facts.layers[ref.layer].output_shape[1:]


def _bias_sizes(facts: ModelFacts, layer: int | None) -> list[int]:
    """Sizes of the bias vectors of one layer (or of all layers)."""
    layers = facts.layers if layer is None else [facts.layers[layer]]
    return [math.prod(weight.shape) for known in layers for weight in known.weights
            if weight.name == "bias"]


def _single_bias(facts: ModelFacts, ref: FactRef) -> Answer | None:
    """One bias for the whole layer, as the scalar b of y = wx + b."""
    if ref.fact == "weight_shape":
        return (1,) if ref.weight == "bias" else None
    if ref.fact not in ("params", "total_params", "trainable_params"):
        return None
    biases = _bias_sizes(facts, ref.layer if ref.fact == "params" else None)
    return read_fact(facts, ref) - sum(biases) + len(biases) if biases else None


def _neurons_counted(facts: ModelFacts, ref: FactRef) -> Answer | None:
    """The number of units (or filters) instead of the number of weights."""
    if ref.fact not in ("params", "total_params", "trainable_params"):
        return None
    layers = facts.layers if ref.layer is None else [facts.layers[ref.layer]]
    return sum(known.output_shape[-1] for known in layers if known.class_name in WEIGHTED) or None


def _output_layer_forgotten(spec: ModelSpec, ref: FactRef, facts: ModelFacts) -> Mutated | None:
    """The model counted without its last layer."""
    if ref.fact not in ("total_params", "trainable_params") or len(spec.layers) < 2:
        return None
    return spec.without_layers({len(spec.layers) - 1}), ref


def _bias_in_kernel(facts: ModelFacts, ref: FactRef) -> Answer | None:
    """A Dense kernel with an extra row for the bias, as in textbooks that append x0 = 1."""
    if ref.fact != "weight_shape" or ref.weight != "kernel":
        return None
    shape = read_fact(facts, ref)
    return (shape[0] + 1, shape[1]) if len(shape) == 2 else None


def _earlier_layers_ignored(spec: ModelSpec, ref: FactRef, facts: ModelFacts) -> Mutated | None:
    """The asked layer applied straight to the model's input."""
    if not ref.layer or spec.layers[ref.layer].class_name not in WEIGHTED:
        return None
    return ModelSpec(spec.input_shape, spec.layers[ref.layer:]), ref.at(0)


def _bias_per_input(facts: ModelFacts, ref: FactRef) -> Answer | None:
    if ref.fact != "weight_shape" or ref.weight != "bias":
        return None
    return (facts.layers[ref.layer].input_shape[-1],)


def _all_counted_trainable(facts: ModelFacts, ref: FactRef) -> Answer | None:
    if ref.fact == "trainable_params":
        return facts.total_params
    if ref.fact == "non_trainable_params":
        return 0
    return None


def _all_counted_non_trainable(facts: ModelFacts, ref: FactRef) -> Answer | None:
    """Every BatchNormalization parameter (gamma and beta too) counted as non-trainable."""
    batchnorm = sum(layer.params for layer in facts.layers
                    if layer.class_name == "BatchNormalization")
    if ref.fact == "non_trainable_params":
        return batchnorm
    if ref.fact == "trainable_params":
        return facts.total_params - batchnorm
    return None


def _bias_non_trainable(facts: ModelFacts, ref: FactRef) -> Answer | None:
    """Biases counted as fixed (non-trainable) parameters."""
    biases = sum(_bias_sizes(facts, None))
    if not biases:
        return None
    if ref.fact == "non_trainable_params":
        return facts.non_trainable_params + biases
    if ref.fact == "trainable_params":
        return facts.trainable_params - biases
    return None


MISCONCEPTIONS: tuple[Misconception, ...] = (
    Misconception("padding_flipped", "confused padding='valid' and padding='same'",
                  mutate=_rewrite(SPATIAL + POOLING, _flip_padding)),
    Misconception("stride_ignored", "ignored the strides (computed as if the window moved by 1)",
                  mutate=_rewrite(SPATIAL + POOLING, _ignore_strides)),
    Misconception("pool_stride_one", "assumed pooling moves by 1 pixel (Keras' default strides "
                  "equal pool_size)", mutate=_rewrite(POOLING, _pool_stride_one)),
    Misconception("bias_forgotten", "forgot the bias (one per filter or unit)",
                  mutate=_rewrite(BIASED, _forget_bias)),
    Misconception("gates_forgotten", "counted an LSTM or GRU like a SimpleRNN, forgetting its "
                  "gates (4 weight sets for LSTM, 3 for GRU)",
                  mutate=_rewrite(("LSTM", "GRU"), _to_class("SimpleRNN", "reset_after"))),
    Misconception("reset_after_confused", "forgot that GRU's reset_after=True (Keras' default) "
                  "gives it two bias vectors", mutate=_rewrite(("GRU",), _reset_after_ignored)),
    Misconception("recurrent_weights_forgotten", "forgot the recurrent kernel (units × units "
                  "per gate) that feeds the previous state back", misread=_recurrent_weights_forgotten),
    Misconception("bidirectional_single", "counted one direction only: Bidirectional holds two "
                  "copies of the layer and concatenates their outputs",
                  mutate=_rewrite(("Bidirectional",), _unwrap)),
    Misconception("return_sequences_confused", "confused return_sequences: False returns only "
                  "the last step, True one output per step",
                  mutate=_rewrite(RECURRENT, _flip_sequences)),
    Misconception("units_ignored", "kept the input's feature size instead of the number of units",
                  mutate=_units_ignored),
    Misconception("one_output_per_gate", "thought an LSTM or GRU outputs one vector per gate; "
                  "it outputs its hidden state, units wide", misread=_one_output_per_gate),
    Misconception("embedding_dims_swapped", "swapped Embedding's input_dim (vocabulary) and "
                  "output_dim (vector size)", mutate=_rewrite(("Embedding",), _swap_embedding)),
    Misconception("transpose_as_conv", "used the Conv2D output-size formula for a transposed "
                  "convolution, which enlarges its input",
                  mutate=_rewrite(("Conv2DTranspose",), _to_class("Conv2D"))),
    Misconception("separable_as_conv", "counted a separable convolution as a regular Conv2D",
                  mutate=_rewrite(("SeparableConv2D",), _to_class("Conv2D", "depth_multiplier"))),
    Misconception("depthwise_as_conv", "counted a depthwise convolution as a regular Conv2D, "
                  "each filter spanning all input channels", mutate=_depthwise_as_conv),
    Misconception("embedding_flattened", "thought an Embedding returns one long vector; it "
                  "returns one vector per token", mutate=_append_to_embedding("Flatten")),
    Misconception("embedding_pooled", "thought an Embedding returns a single vector for the "
                  "whole sequence", mutate=_append_to_embedding("GlobalAveragePooling1D")),
    Misconception("embedding_bias", "gave the Embedding a bias; it is a lookup table of "
                  "input_dim × output_dim weights",
                  misread=_embedding_count(lambda layer: layer.params + layer.output_shape[-1])),
    Misconception("embedding_per_position", "counted one vector per position of the sequence "
                  "instead of one per word of the vocabulary",
                  misread=_embedding_count(lambda layer: layer.output_shape[1] * layer.output_shape[2])),
    Misconception("global_pooling_as_flatten", "flattened the feature maps instead of averaging "
                  "each one to a single value",
                  mutate=_rewrite(("GlobalAveragePooling2D", "GlobalAveragePooling1D"),
                                  _to_class("Flatten"))),
    Misconception("kernel_one_dimensional", "counted the kernel as k weights instead of k×k",
                  mutate=_rewrite(CONV, _one_dimensional_kernel)),
    Misconception("input_channels_forgotten", "forgot that each filter spans all input channels",
                  mutate=_input_channels_forgotten),
    Misconception("filters_ignored", "kept the input's depth instead of the number of filters",
                  mutate=_asked_conv(_filters_ignored)),
    Misconception("filters_kernel_swapped", "swapped filters and kernel_size, the first two "
                  "arguments of Conv2D", mutate=_asked_conv(_filters_kernel_swapped)),
    Misconception("per_channel_filters", "thought each filter makes one feature map per input "
                  "channel (a depthwise convolution)", mutate=_asked_conv(_per_channel_filters)),
    Misconception("flatten_ignored", "applied Dense to the last axis only, as if there were no "
                  "Flatten", mutate=_remove(("Flatten",))),
    Misconception("pooling_ignored", "forgot that pooling shrinks the feature maps",
                  mutate=_remove(POOLING)),
    Misconception("batchnorm_ignored", "thought BatchNormalization has no parameters",
                  mutate=_remove(("BatchNormalization",))),
    Misconception("output_layer_forgotten", "left the output layer out of the count",
                  mutate=_output_layer_forgotten),
    Misconception("earlier_layers_ignored", "used the model's input size instead of the output "
                  "of the layer just before", mutate=_earlier_layers_ignored),
    Misconception("previous_layer_shape", "gave the layer's input shape, not its output shape",
                  misread=_previous_layer_shape),
    Misconception("channels_first_axes", "read the shape as (batch, channels, height, width); "
                  "Keras is channels-last: (batch, height, width, channels)",
                  misread=_channels_first_axes),
    Misconception("kernel_reordered", "wrote the kernel in channels-first (PyTorch/Theano) order; "
                  "Keras stores (k_h, k_w, C_in, filters) and (n_in, units)",
                  misread=_kernel_reordered),
    Misconception("weights_order_confused", "mixed up the kernel and the bias (get_weights() "
                  "returns the kernel first, then the bias)", misread=_weights_order_confused),
    Misconception("bias_per_position", "gave every output value its own bias; a bias is shared "
                  "by all positions of its feature map", misread=_bias_per_position),
    Misconception("single_bias", "gave each layer a single bias instead of one per unit or "
                  "filter", misread=_single_bias),
    Misconception("neurons_counted", "counted neurons (units or filters) instead of weights",
                  misread=_neurons_counted),
    Misconception("bias_in_kernel", "put the bias in the kernel as an extra input row",
                  misread=_bias_in_kernel),
    Misconception("bias_per_input", "gave one bias per input channel instead of one per filter",
                  misread=_bias_per_input),
    Misconception("batchnorm_all_trainable", "counted BatchNormalization's moving mean and "
                  "variance as trainable", misread=_all_counted_trainable),
    Misconception("batchnorm_all_non_trainable", "counted BatchNormalization's gamma and beta "
                  "as non-trainable", misread=_all_counted_non_trainable),
    Misconception("bias_non_trainable", "thought biases are fixed, not learned",
                  misread=_bias_non_trainable),
)

def _flip_kernel(task: Task) -> Task | None:
    """True convolution: the kernel rotated by 180° (Keras computes a cross-correlation)."""
    if task.kernel is None:
        return None
    flipped = tuple(tuple(reversed(row)) for row in reversed(task.kernel))
    return replace(task, kernel=flipped) if flipped != task.kernel else None


def _ignore_one_stride(axis: int):
    def mutate(task: Task) -> Task | None:
        _, strides, _ = window(task.layer)
        if strides[axis] == 1:
            return None
        changed = list(strides)
        changed[axis] = 1
        return replace(task, layer=task.layer.with_config(strides=tuple(changed)))

    return mutate


def _pad_symmetrically(task: Task) -> Task | None:
    """'same' padding with the larger half before (top/left) instead of after, applied to the
    input by hand and followed by a 'valid' window."""
    kernel, strides, padding = window(task.layer)
    if padding != "same" or task.layer.class_name not in CONV:
        return None
    (top, bottom), (left, right) = (
        padding_amounts(size, k, s, padding)
        for size, k, s in zip((len(task.input), len(task.input[0])), kernel, strides, strict=True))
    if (top, left) == (bottom, right):
        return None
    width = len(task.input[0]) + left + right
    rows = [(0,) * width] * bottom + [(0,) * right + row + (0,) * left for row in task.input]
    padded = tuple(rows + [(0,) * width] * top)
    return replace(task, input=padded, layer=task.layer.with_config(padding="valid"))


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


TASK_MISCONCEPTIONS: tuple[TaskMisconception, ...] = (
    TaskMisconception("kernel_flipped", "flipped the kernel (a true convolution); Keras' Conv2D "
                      "computes a cross-correlation", _flip_kernel),
    TaskMisconception("row_stride_ignored", "moved the window down one row at a time, ignoring "
                      "the vertical stride", _ignore_one_stride(0)),
    TaskMisconception("column_stride_ignored", "moved the window right one column at a time, "
                      "ignoring the horizontal stride", _ignore_one_stride(1)),
    TaskMisconception("same_padded_symmetrically", "padded the extra row or column at the "
                      "top/left; Keras puts it at the bottom/right", _pad_symmetrically),
    TaskMisconception("padding_flipped", MISCONCEPTIONS[0].description,
                      _task_layer(_flip_padding, CONV + POOLING)),
    TaskMisconception("pooling_swapped", "swapped max pooling and average pooling",
                      _swap_pooling),
    TaskMisconception("pool_stride_one", MISCONCEPTIONS[2].description,
                      _task_layer(_pool_stride_one, POOLING)),
    TaskMisconception("bias_forgotten", MISCONCEPTIONS[3].description, _task_bias_forgotten),
)

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
    """A Dropout swapped with the layer before it."""
    candidates = [i for i in _indices(spec, lambda layer: layer.class_name == "Dropout") if i > 0]
    if not candidates:
        return None
    index = rng.choice(candidates)
    layers = list(spec.layers)
    layers[index - 1], layers[index] = layers[index], layers[index - 1]
    return replace(spec, layers=tuple(layers))


def _all_convs_same(spec: ModelSpec, rng: random.Random) -> ModelSpec | None:
    convs = _indices(spec, lambda layer: layer.class_name in CONV)
    mutated = spec
    for index in convs:
        mutated = mutated.replace_layer(index, _flip_padding(spec.layers[index]))
    return mutated if convs else None


@dataclass(frozen=True)
class CodeMisconception:
    """A misreading of an architecture described in words, as a mutation of its spec (one
    random layer where several fit; `rng` picks it)."""

    label: str
    description: str
    mutate: Callable[[ModelSpec, random.Random], ModelSpec | None]


CODE_MISCONCEPTIONS: tuple[CodeMisconception, ...] = (
    CodeMisconception("dropout_rate_inverted", "read \"Dropout set to 25%\" as the fraction "
                      "kept; Keras' rate is the fraction dropped",
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


#: Misconceptions that false statements (quizgen.statements) reveal, and formulas
#: (quizgen.formulas.SIZE_CANDIDATES) follow.
STATEMENT_MISCONCEPTIONS = {
    "plus_one_forgotten": "left out the + 1 that counts the window's first position",
    "kernel_ignored": "divided the input size by the stride without subtracting the kernel",
    "rounding_confused": "rounded down; with 'same' padding a partial window still counts",
    "output_task_confused": "misread what the output layer implies: softmax over several units "
                            "means multi-class, one sigmoid unit binary classification",
    "probabilities_sum_confused": "thought every output layer's values sum to 1; only softmax "
                                  "makes them a probability distribution",
    "activation_range_confused": "mixed up the output ranges of activation functions (ReLU ≥ 0, "
                                 "sigmoid in (0, 1), tanh in (-1, 1), linear unbounded)",
    "pooling_has_activation": "thought pooling layers apply an activation function",
    "default_activation_confused": "thought Dense and Conv2D apply ReLU by default; without an "
                                   "activation argument they are linear",
    "dropout_removes_params": "thought Dropout removes parameters; it only zeroes activations "
                              "during training",
    "dropout_removes_units": "thought Dropout removes units from the output; it keeps the shape",
    "kernel_pool_must_match": "thought the kernel size and the pool size must be equal",
}

#: Every misconception label and what it means (the feedback a student gets).
DESCRIPTIONS = STATEMENT_MISCONCEPTIONS | {
    m.label: m.description for group in (CODE_MISCONCEPTIONS, TASK_MISCONCEPTIONS, MISCONCEPTIONS)
    for m in group}


def describe(label: str) -> str:
    """The feedback text for a misconception label; compound labels join with ' and '.

    Raises:
        KeyError: an unknown label.
    """
    return " and ".join(DESCRIPTIONS[part] for part in label.split("+"))


def _execute(spec: ModelSpec, ref: FactRef) -> Answer | None:
    """The fact as Keras computes it on a mutated spec; None if Keras cannot build it."""
    try:
        return read_fact(oracle.facts(spec), ref)
    except (ArchitectureError, QuestionError):
        return None


def run(task: Task) -> Answer | None:
    """The output matrix Keras computes for a (possibly mutated) task; None if it cannot run."""
    try:
        return oracle.run_task(task.spec, task.input, task.kernel, task.bias)
    except ArchitectureError:
        return None


def _pick(correct: Answer, singles: list[tuple[Callable[[], Answer | None], str]],
          compounds: Iterator[tuple[Answer | None, str]], rng: random.Random, count: int,
          what: str) -> list[tuple[Answer, str]]:
    """`count` distinct wrong answers: single mistakes in random order first, then compound
    mistakes only to fill up. Each single's answer is computed (executed) only when needed,
    so a question executes a few of its misconceptions, not all of them; an answer that
    several mistakes give carries the label of the first one drawn.

    Raises:
        QuestionError: fewer than `count` distinct wrong answers exist.
    """
    found: dict[Answer, str] = {}
    drawn = ((compute(), label) for compute, label in rng.sample(singles, len(singles)))
    for answer, label in itertools.chain(drawn, compounds):
        if len(found) == count:
            break
        if answer is not None and answer != correct:
            found.setdefault(answer, label)
    if len(found) < count:
        raise QuestionError(f"only {len(found)} distinct misconception(s) give a wrong {what}; "
                            f"need {count}")
    return list(found.items())


def choose(spec: ModelSpec, ref: FactRef, facts: ModelFacts, rng: random.Random,
           count: int = 3) -> list[tuple[Answer, str]]:
    """`count` distinct wrong answers to `ref` about `spec`, with their misconception labels.

    Raises:
        QuestionError: fewer than `count` misconceptions give distinct wrong answers.
    """
    singles, mutations = [], []
    for misconception in MISCONCEPTIONS:
        if misconception.misread is not None:
            singles.append((partial(misconception.misread, facts, ref), misconception.label))
        elif (mutated := misconception.mutate(spec, ref, facts)) is not None:
            mutations.append(misconception)
            singles.append((partial(_execute, *mutated), misconception.label))

    def compounds() -> Iterator[tuple[Answer | None, str]]:
        for first, second in itertools.combinations(mutations, 2):
            once = first.mutate(spec, ref, facts)
            twice = second.mutate(once[0], once[1], facts) if once else None
            if twice is not None:
                yield _execute(*twice), f"{first.label}+{second.label}"

    what = ref.fact + ("" if ref.layer is None else f" for layer {ref.layer}")
    return _pick(read_fact(facts, ref), singles, compounds(), rng, count, what)


def choose_for_task(task: Task, rng: random.Random, count: int = 3) -> list[tuple[Answer, str]]:
    """`count` distinct wrong output matrices of a by-hand task, with misconception labels.

    Raises:
        QuestionError: fewer than `count` misconceptions give distinct wrong matrices.
    """
    applied = [(m, mutated) for m in TASK_MISCONCEPTIONS if (mutated := m.mutate(task))]
    singles = [(partial(run, mutated), m.label) for m, mutated in applied]

    def compounds() -> Iterator[tuple[Answer | None, str]]:
        for (first, once), (second, _) in itertools.combinations(applied, 2):
            twice = second.mutate(once)
            if twice is not None:
                yield run(twice), f"{first.label}+{second.label}"

    return _pick(run(task), singles, compounds(), rng, count, "output matrix")


def choose_code(spec: ModelSpec, rng: random.Random, count: int = 3) -> list[tuple[ModelSpec, str]]:
    """`count` models that misread the description of `spec`, with their labels: each builds
    in Keras and differs from `spec` in some layer's configuration (as Keras reports it).
    Misreadings are tried in random order until `count` are found.

    Raises:
        QuestionError: fewer than `count` misreadings give distinct, buildable models.
    """
    target = oracle.layer_configs(spec)
    found: dict[tuple, tuple[ModelSpec, str]] = {}
    for misconception in rng.sample(CODE_MISCONCEPTIONS, len(CODE_MISCONCEPTIONS)):
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
        if configs != target:
            found.setdefault(configs, (mutated, misconception.label))
    if len(found) < count:
        raise QuestionError(f"only {len(found)} misreadings of the description build a "
                            f"different model; need {count}")
    return list(found.values())
