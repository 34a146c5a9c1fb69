"""The Keras oracle: the one module that imports Keras. It builds and executes models.

`facts(spec)` builds the model a `ModelSpec` describes (deterministic layer names, no
`clear_session`), runs a forward pass on a batch of one input, and returns `ModelFacts`: per
layer its `class_name`, `output_shape` (batch axis `None`), parameter counts and weight shapes,
plus totals and the Keras version and backend. Facts are cached in memory by spec digest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Any

from quizgen.errors import ArchitectureError
from quizgen.spec import ModelSpec

Shape = tuple[int | None, ...]


@cache
def keras() -> Any:
    """Import Keras once (about 3 s with TensorFlow), quietly."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras as keras_module

    return keras_module


@dataclass(frozen=True)
class WeightFacts:
    """One weight tensor: `name` (`kernel`, `bias`, `gamma`, ...), `shape`, `trainable`."""

    name: str
    shape: tuple[int, ...]
    trainable: bool


@dataclass(frozen=True)
class LayerFacts:
    """What Keras says about one layer of a built and executed model.

    Shapes have the batch axis as `None`; `weights` are in `get_weights()` order; parameter
    counts are numbers of scalars.
    """

    name: str
    class_name: str
    input_shape: Shape
    output_shape: Shape
    params: int
    trainable_params: int
    non_trainable_params: int
    weights: tuple[WeightFacts, ...]

    def weight_shape(self, name: str) -> tuple[int, ...] | None:
        """Shape of the weight called `name`, or None if the layer has no such weight."""
        return next((weight.shape for weight in self.weights if weight.name == name), None)


@dataclass(frozen=True)
class ModelFacts:
    """Per-layer facts (index = position in `model.layers`) and model totals."""

    layers: tuple[LayerFacts, ...]
    total_params: int
    trainable_params: int
    non_trainable_params: int
    keras_version: str
    backend: str


def versions() -> tuple[str, str]:
    """`(keras_version, backend)` of the installed Keras, e.g. `("3.15.1", "tensorflow")`."""
    return keras().__version__, keras().backend.backend()


def build_model(spec: ModelSpec) -> Any:
    """Build `spec` as a `keras.Sequential` whose layer names are `spec.layer_names()`.

    Raises:
        ArchitectureError: Keras rejects the architecture (it raises `ValueError` at build time,
            e.g. "Computed output size would be zero or negative"), or an argument is unknown.
    """
    k = keras()
    layers: list[Any] = [k.Input(shape=spec.input_shape)]
    for index, (layer, name) in enumerate(zip(spec.layers, spec.layer_names(), strict=True)):
        serialized = layer.to_json()
        serialized["config"]["name"] = name
        try:
            layers.append(k.layers.deserialize(serialized))
        except (ValueError, TypeError) as error:
            raise ArchitectureError(f"layer {index} ({layer.class_name}): {error}") from error
    try:
        return k.Sequential(layers, name="model")
    except ValueError as error:
        raise ArchitectureError(f"Keras cannot build the model: {error}") from error


def _shape(shape: Any) -> Shape:
    return tuple(None if size is None else int(size) for size in shape)


def _count(weights: list[Any]) -> int:
    total = 0
    for weight in weights:
        size = 1
        for dimension in weight.shape:
            size *= int(dimension)
        total += size
    return total


def _executed_shapes(model: Any) -> list[Shape]:
    """Run a batch of one input through the model and return every layer's output shape,
    with the batch axis put back as `None`."""
    tensor = keras().ops.ones((1, *model.inputs[0].shape[1:]))
    shapes = []
    for layer in model.layers:
        tensor = layer(tensor, training=False)
        shapes.append((None, *_shape(tensor.shape)[1:]))
    return shapes


@cache
def _facts(spec: ModelSpec) -> ModelFacts:
    model = build_model(spec)
    executed = _executed_shapes(model)
    keras_version, backend = versions()
    layers = []
    previous: Shape = (None, *spec.input_shape)
    for layer, output_shape in zip(model.layers, executed, strict=True):
        symbolic = _shape(layer.output.shape)
        if symbolic != output_shape:
            raise ArchitectureError(
                f"layer {layer.name}: symbolic shape {symbolic} != executed shape {output_shape}"
            )
        weights = tuple(
            WeightFacts(weight.name, tuple(int(d) for d in weight.shape), bool(weight.trainable))
            for weight in layer.weights
        )
        layers.append(LayerFacts(
            name=layer.name,
            class_name=type(layer).__name__,
            input_shape=previous,
            output_shape=output_shape,
            params=int(layer.count_params()),
            trainable_params=_count(layer.trainable_weights),
            non_trainable_params=_count(layer.non_trainable_weights),
            weights=weights,
        ))
        previous = output_shape
    return ModelFacts(
        layers=tuple(layers),
        total_params=int(model.count_params()),
        trainable_params=_count(model.trainable_weights),
        non_trainable_params=_count(model.non_trainable_weights),
        keras_version=keras_version,
        backend=backend,
    )


def facts(spec: ModelSpec) -> ModelFacts:
    """Build and execute `spec` with Keras and return its facts (cached by spec content).

    Raises:
        ArchitectureError: Keras cannot build or run the model.
    """
    return _facts(spec)
