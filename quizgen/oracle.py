"""The Keras oracle: the one module that imports Keras. It builds and executes models.

An `Oracle` answers what Keras says: `facts(spec)` returns the `ModelFacts` of the model a
`ModelSpec` describes (per layer its `class_name`, `output_shape` with the batch axis `None`,
parameter counts and weight shapes, plus totals and the Keras version and backend). Keras
builds each layer symbolically on its input shape, as `keras.Sequential` would
(`layer_facts`: `Layer.__call__` on a `KerasTensor`, Keras' own `compute_output_spec`, weights
with shapes but no values); a layer seen before on the same input shape (in another model, or a
distractor's mutated copy of the model) is not built again. A forward pass on data runs only
where a value is asked: by-hand tasks, behaviour probes, and `model_facts(spec)`, which builds
and executes the whole model at once, for `quizgen verify` (so every key is proven on data, on
a path independent of generation). It also
runs by-hand tasks, probes a model's behaviour on random inputs, and asks Keras which
arguments a layer accepts and which defaults it applies.

An oracle owns its memo tables and its persistent fact cache (`quizgen.cache.FactCache`), so a
fresh one (as `verify` and `stress` use) shares no result with the one that generated a key.
The Keras session is the process's: it is cleared every `SESSION_LAYERS` layers or
`SESSION_WEIGHTS` weights, whichever oracle created them.

Every model or layer an oracle builds is first built without weights (`_within_budget`: its
variables get their shapes, not their values) and refused with an `ArchitectureError` when it
exceeds the size budget (`MAX_PARAMS`, `MAX_ACTIVATION`): a key or a template asking for a
`Dense(100000)` on 100,000 inputs gets a message, not a 40 GB allocation.
"""

from __future__ import annotations

import gc
import itertools
import json
import logging
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache, wraps
from typing import Any, TypeVar

from quizgen.cache import FactCache, installed_keras
from quizgen.cache import key as cache_key
from quizgen.errors import ArchitectureError
from quizgen.spec import INPUT, POSITIONAL_INPUTS, LayerSpec, Matrix, ModelSpec, Shape, call_arguments

T = TypeVar("T")


@cache
def keras() -> Any:
    """Import Keras once (about 3 s with TensorFlow), quietly: TensorFlow's C++ start-up notes
    (CUDA drivers not found) go to the null device; Python errors still propagate.
    Every object alive then is frozen out of the garbage collector's scans (`gc.freeze`)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # oneDNN keeps buffers of every large matrix product it ran (a distractor's mutated model
    # may multiply by a 300 MB kernel), so memory would only grow; TensorFlow's own kernels
    # are as fast on these one-input batches.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            import keras as keras_module
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    # TensorFlow's Python warnings about retracing (a grouped convolution's XLA kernel, traced
    # once per shape) say nothing about an answer
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    gc.freeze()  # the imports' objects: collections (see SESSION_LAYERS) need not scan them
    return keras_module


@dataclass(frozen=True)
class WeightFacts:
    """One weight tensor: `name` (`kernel`, `bias`, `gamma`, ...), `shape`, `trainable`."""

    name: str
    shape: tuple[int, ...]
    trainable: bool


@dataclass(frozen=True)
class LayerFacts:
    """What Keras says about one layer of a model as Keras builds it.

    Shapes have the batch axis as `None` (a layer of a functional model that takes several
    tensors, such as `Add`, has a tuple of input shapes); `weights` are in `get_weights()`
    order; parameter counts are numbers of scalars.
    """

    name: str
    class_name: str
    input_shape: Shape | tuple[Shape, ...]
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
    """`(keras_version, backend)` of the installed Keras, e.g. `("3.15.1", "tensorflow")`,
    without importing it (see `quizgen.cache.installed_keras`)."""
    return installed_keras()


#: Initializer arguments set to "zeros" when the spec leaves them out: initial values change no
#: shape or parameter count, and random initialization of large kernels dominates build time.
FAST_INITIALIZERS = ("kernel_initializer", "depthwise_initializer", "pointwise_initializer",
                     "recurrent_initializer")


@cache
def _initializer_arguments(class_name: str) -> tuple[str, ...]:
    import inspect

    cls = getattr(keras().layers, class_name, None)
    if cls is None:
        return ()
    parameters = inspect.signature(cls.__init__).parameters
    return tuple(name for name in FAST_INITIALIZERS if name in parameters)


#: Limits on what Keras creates between two `keras.backend.clear_session()` calls. A Keras
#: layer is a reference cycle, so its weights are freed only by a garbage collection, and
#: TensorFlow's eager kernel cache keeps an entry for every variable until the session is
#: cleared: without clearing, a long run's memory grows by gigabytes (a distractor's mutated
#: model may hold a 300 MB kernel). Clearing costs ~15 ms, as `keras()` freezes the objects of
#: the imports out of the garbage collector's way. Nothing computed depends on it.
SESSION_LAYERS = 500
SESSION_WEIGHTS = 20_000_000  # scalars (80 MB of float32)


@dataclass
class _Session:
    """Layers and weight scalars created since the Keras session was last cleared."""

    layers: int = 0
    weights: int = 0


_session = _Session()


def _before_creating(layers: int) -> None:
    """Call before `layers` layers are created (never while a Keras object is in use): clears
    the session first when the last ones took it over a limit."""
    if _session.layers + layers > SESSION_LAYERS or _session.weights > SESSION_WEIGHTS:
        keras().backend.clear_session()
        _session.layers = _session.weights = 0
    _session.layers += layers


def _created(weights: int) -> None:
    """Count `weights` scalars just created."""
    _session.weights += weights


#: The size budget of what an oracle builds, checked before Keras allocates a weight: at most
#: this many parameters (scalars; 600 MB of float32) in one model or layer. The largest
#: published models asked about fit (Keras Applications' VGG16: 138,357,544); the bank's stay far
#: below it: the largest layer generation builds (a distractor's mutated Dense) has about 35
#: million parameters, the largest model about 2.2 million.
MAX_PARAMS = 150_000_000
#: The size budget of one sample's largest tensor (the input or a layer's output), in values
#: (16 MB of float32; a behaviour probe holds `PROBE_VALUES` values in float64 at once). The
#: bank's largest is about 1.6 million values.
MAX_ACTIVATION = 4_000_000

#: Keras' list of the variables created in a stateless scope and not yet initialized (a global
#: attribute of `keras.src.backend.common.global_state`).
_PENDING = "uninitialized_variables"


def _values(shape: Any) -> int:
    """Values of one sample of a tensor of `shape` (batch axis first, left out)."""
    return math.prod(int(size) for size in shape[1:] if size is not None)


def budget_problem(input_shape: Shape, layers: list[tuple[str, int, Shape]]) -> str | None:
    """Why a model on an input of `input_shape` whose `layers` are `(class_name, parameters,
    output_shape)` (shapes with the batch axis first) exceeds the size budget (`MAX_PARAMS`
    parameters in all, `MAX_ACTIVATION` values in one sample's tensor), or None. The message
    gives the size, the layer (when there are several) and the budget. Needs no Keras: the
    closed forms' shapes and counts (`quizgen.formulas.layer_closed_form`) can be checked too."""
    def named(index: int) -> str:
        return f"layer {index} ({layers[index][0]})"

    params = [count for _, count, _ in layers]
    if sum(params) > MAX_PARAMS:
        most = params.index(max(params))
        detail = f", {params[most]:,} in {named(most)}" if len(layers) > 1 else ""
        return (f"{sum(params):,} parameters{detail}: more than quizgen builds "
                f"(MAX_PARAMS = {MAX_PARAMS:,})")
    sizes = [_values(input_shape)] + [_values(shape) for _, _, shape in layers]
    largest = sizes.index(max(sizes))
    if sizes[largest] <= MAX_ACTIVATION:
        return None
    where = ("the input" if largest == 0 else "the output" if len(layers) == 1
             else f"the output of {named(largest - 1)}")
    return (f"{where} has {sizes[largest]:,} values per sample: more than quizgen builds "
            f"(MAX_ACTIVATION = {MAX_ACTIVATION:,})")


def _check_built(layers: list[Any], input_shape: Shape) -> None:
    """Refuse Keras `layers` (built, each called once, in order, on an input of `input_shape`,
    batch axis `None`) with a layer of several outputs (quizgen's models are chains of
    single-output layers), or that exceed the size budget (`budget_problem`).

    Raises:
        ArchitectureError: saying which.
    """
    for layer in layers:
        if not hasattr(layer.output, "shape"):
            raise ArchitectureError(f"a {type(layer).__name__} with several outputs: quizgen "
                                    "builds chains of single-output layers")
    problem = budget_problem(input_shape, [(type(layer).__name__, _count(layer.weights),
                                          layer.output.shape) for layer in layers])
    if problem is not None:
        raise ArchitectureError(problem)


@contextmanager
def _within_budget(input_shape: Shape, initialize: bool = True) -> Iterator[list[Any]]:
    """Build Keras layers inside this block without allocating their weights, then check them
    against the size budget (`_check_built`) and only then (with `initialize`) give their
    variables values; without it, the variables keep their shapes and never get values.

    Yields a list to which the block appends the layers it built (each called once, on an
    input of `input_shape`, batch axis `None`). Inside, a `keras.StatelessScope` that does not
    initialize on exit is active, so each variable created gets its shape and initializer but
    no value (Keras defers it: `KerasVariable.__init__` under `in_stateless_scope()`); after
    the check, each is initialized (`_deferred_initialize`, what Keras itself calls). Refused
    variables are dropped from Keras' pending list, so no later stateless scope allocates them.

    Raises:
        ArchitectureError: the layers exceed the size budget, or one has several outputs (and
            what the block raises).
    """
    from keras.src.backend.common import global_state

    saved = global_state.get_global_attribute(_PENDING, [])
    pending: list[Any] = []
    built: list[Any] = []
    global_state.set_global_attribute(_PENDING, pending)
    try:
        with keras().StatelessScope(initialize_variables=False):
            yield built
    finally:
        global_state.set_global_attribute(_PENDING, saved)
    _check_built(built, input_shape)
    for variable in pending if initialize else ():
        variable._deferred_initialize()


def _layer(spec: LayerSpec, name: str | None = None, fast_initializers: bool = True) -> Any:
    """A new, unbuilt Keras layer from `spec` (named `name`, else Keras' default name).

    Raises:
        ArchitectureError: Keras rejects an argument (unknown, missing, or of the wrong type or
            value: a layer's `from_config` may raise `KeyError` as well as `ValueError`).
    """
    serialized = spec.to_json()
    if name is not None:
        serialized["config"]["name"] = name
    for argument in _initializer_arguments(spec.class_name) if fast_initializers else ():
        serialized["config"].setdefault(argument, "zeros")
    try:
        return keras().layers.deserialize(serialized)
    except (ValueError, TypeError, KeyError) as error:
        raise ArchitectureError(str(error)) from error


def build_model(spec: ModelSpec, fast_initializers: bool = True) -> Any:
    """Build `spec` as a `keras.Sequential` whose layer names are `spec.layer_names()`.
    With `fast_initializers`, kernels the spec does not initialize explicitly start at zero
    (see `FAST_INITIALIZERS`); otherwise Keras' default initializers apply.

    Raises:
        ArchitectureError: Keras rejects the architecture (it raises `ValueError` at build time,
            e.g. "Computed output size would be zero or negative"), an argument is unknown, or
            the model exceeds the size budget (`MAX_PARAMS`, `MAX_ACTIVATION`), checked before
            any weight is allocated.
    """
    _before_creating(len(spec.layers))
    k = keras()
    if spec.inbound is not None:
        return _functional_model(spec, fast_initializers)
    layers: list[Any] = [k.Input(shape=spec.input_shape)]
    for index, (layer, name) in enumerate(zip(spec.layers, spec.layer_names(), strict=True)):
        try:
            layers.append(_layer(layer, name, fast_initializers))
        except ArchitectureError as error:
            raise ArchitectureError(f"layer {index} ({layer.class_name}): {error}") from error
    with _within_budget((None, *spec.input_shape)) as built:
        try:
            model = k.Sequential(layers, name="model")
        except ValueError as error:
            raise ArchitectureError(f"Keras cannot build the model: {error}") from error
        built += model.layers
    _created(model.count_params())
    return model


def _functional_model(spec: ModelSpec, fast_initializers: bool) -> Any:
    """A functional model loaded the way the key tells anyone to: `keras.Model.from_config`
    of `spec.functional_config()` (with `fast_initializers`, kernels not initialized explicitly
    start at zero), within the size budget.

    Raises:
        ArchitectureError: Keras cannot load or build the model, or it exceeds the budget.
    """
    config = spec.functional_config()
    for layer in config["layers"][1:] if fast_initializers else ():
        for argument in _initializer_arguments(layer["class_name"]):
            layer["config"].setdefault(argument, "zeros")
    with _within_budget((None, *spec.input_shape)) as built:
        try:
            model = keras().Model.from_config(config)
        except (ValueError, TypeError, KeyError) as error:
            raise ArchitectureError(f"Keras cannot build the model: {error}") from error
        built += model.layers
    _created(model.count_params())
    return model


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


#: The form of the cache's layer entries, part of their keys: raised when what an entry holds
#: changes (2: weights named by `weight_names`), so that no entry of an older form is read.
LAYER_ENTRIES = 2


def weight_names(layer: Any) -> list[str]:
    """The names of a built layer's weights, in `layer.weights` order: each weight's own name
    (`kernel`, `bias`), prefixed by the sublayer that holds it where the layer has several of
    that name (the part after the layer's name in the path Keras gives it, `…/layer/sublayer/…/name`,
    or its first part where Keras leaves the layer out):
    `query/kernel` … `attention_output/kernel` in a `MultiHeadAttention`; `forward/kernel` and
    `backward/kernel` in a `Bidirectional` (whose copies Keras names `forward_<inner name>`,
    the inner name numbered by the session's counter: only the direction is kept)."""
    names = [weight.name for weight in layer.weights]

    def sublayer(weight: Any) -> str:
        parts = weight.path.split("/")  # Keras leaves the layer out of it in some builds
        part = parts[parts.index(layer.name) + 1] if layer.name in parts[:-2] else parts[0]
        return next((d for d in ("forward", "backward") if part.startswith(f"{d}_")), part) \
            if isinstance(layer, keras().layers.Bidirectional) else part

    return [f"{sublayer(weight)}/{name}" if names.count(name) > 1 else name
            for weight, name in zip(layer.weights, names, strict=True)]


def _read_layer(layer: Any, name: str, input_shape: Shape, output_shape: Shape) -> LayerFacts:
    """The facts of a built Keras layer: class, shapes, parameter counts and weight shapes."""
    return LayerFacts(
        name=name,
        class_name=type(layer).__name__,
        input_shape=input_shape,
        output_shape=output_shape,
        params=int(layer.count_params()),
        trainable_params=_count(layer.trainable_weights),
        non_trainable_params=_count(layer.non_trainable_weights),
        weights=tuple(WeightFacts(weight_name, tuple(int(d) for d in weight.shape),
                                  bool(weight.trainable))
                      for weight_name, weight in zip(weight_names(layer), layer.weights, strict=True)),
    )


def _checked(layer: Any, symbolic: Shape, executed: Shape) -> Shape:
    if symbolic != executed:
        raise ArchitectureError(
            f"layer {layer.name}: symbolic shape {symbolic} != executed shape {executed}")
    return executed


def _build_layer(spec: LayerSpec, input_shape: Shape | tuple[Shape, ...]) -> LayerFacts:
    """Create the layer `spec` describes and call it on a symbolic input of `input_shape`
    (batch axis `None`; a tuple of shapes: a list of inputs, as a functional model gives an
    `Add`): Keras builds it and runs its own `compute_output_spec`, as `keras.Sequential`
    does. Its weights get shapes, never values (shapes and parameter counts do not depend on
    them), and nothing is executed on data: `quizgen verify` does
    that, for whole models (`Oracle.model_facts`). The facts carry an empty `name`.

    Raises:
        ArchitectureError: Keras rejects the layer or its input (a `ValueError` at build time,
            e.g. "Computed output size would be zero or negative"), or the layer exceeds the
            size budget.
    """
    _before_creating(1)
    layer = _layer(spec)
    several = bool(input_shape) and isinstance(input_shape[0], tuple)
    inputs = [keras().KerasTensor(shape) for shape in (input_shape if several else [input_shape])]
    try:
        with _within_budget(inputs[0].shape, initialize=False) as built:
            output = layer(*call_arguments(spec.class_name, inputs))
            built.append(layer)
    except (ValueError, IndexError) as error:  # IndexError: e.g. an axis the input lacks
        raise ArchitectureError(f"Keras cannot build it on input {input_shape}: {error}") from error
    return _read_layer(layer, "", input_shape, _shape(output.shape))


def _compute_layer(spec: LayerSpec, input_shape: Shape) -> LayerFacts | ArchitectureError:
    """`_build_layer`'s facts, or its error as a value to cache: a fresh one, without the
    traceback that would keep the failed Keras layer alive."""
    try:
        return _build_layer(spec, input_shape)
    except ArchitectureError as error:
        return ArchitectureError(str(error))


def _layer_json(layer: LayerFacts) -> dict[str, Any]:
    return vars(layer) | {"weights": [vars(weight) for weight in layer.weights]}


def _encode(result: ModelFacts | LayerFacts | ArchitectureError) -> Any:
    """A result as JSON (`dataclasses.asdict`'s fields, without its deep copies)."""
    if isinstance(result, ArchitectureError):
        return {"error": str(result)}
    if isinstance(result, LayerFacts):
        return _layer_json(result)
    return vars(result) | {"layers": [_layer_json(layer) for layer in result.layers]}


def _decode_shape(data: list[Any]) -> Shape | tuple[Shape, ...]:
    """A shape, or a tuple of shapes (the inputs of a layer that takes several), from JSON."""
    return tuple(tuple(item) if isinstance(item, list) else item for item in data)


def _decode_layer(data: Any) -> LayerFacts:
    return LayerFacts(
        name=data["name"], class_name=data["class_name"], input_shape=_decode_shape(data["input_shape"]),
        output_shape=tuple(data["output_shape"]), params=data["params"],
        trainable_params=data["trainable_params"],
        non_trainable_params=data["non_trainable_params"],
        weights=tuple(WeightFacts(w["name"], tuple(w["shape"]), w["trainable"])
                      for w in data["weights"]),
    )


def _decode_layer_result(data: Any) -> LayerFacts | ArchitectureError:
    return ArchitectureError(data["error"]) if "error" in data else _decode_layer(data)


def _decode_facts(data: Any) -> ModelFacts | ArchitectureError:
    if "error" in data:
        return ArchitectureError(data["error"])
    return ModelFacts(tuple(_decode_layer(layer) for layer in data["layers"]),
                      data["total_params"], data["trainable_params"],
                      data["non_trainable_params"], data["keras_version"], data["backend"])


def _totals(layers: tuple[LayerFacts, ...]) -> ModelFacts:
    keras_version, backend = versions()
    return ModelFacts(layers, sum(layer.params for layer in layers),
                      sum(layer.trainable_params for layer in layers),
                      sum(layer.non_trainable_params for layer in layers), keras_version, backend)


def _number(value: float) -> int | float:
    """An output value as printed: an int when integral, else rounded to 6 decimals."""
    return int(round(value)) if abs(value - round(value)) < 1e-6 else round(float(value), 6)


def _run_task(spec: ModelSpec, input: Matrix, kernel: Matrix | None, bias: int) -> Matrix:
    """Execute a by-hand task: `spec` (input `(None, H, W, 1)`, or `(None, W, 1)` for a
    sequence; its layers may include a convolution with one filter, which gets `kernel`
    (k_h×k_w, one row for a sequence) and `bias` via `set_weights`) on the integer matrix
    `input`. Returns the output's single channel as a matrix of numbers (one row for a
    sequence).

    Raises:
        ArchitectureError: Keras cannot build the model, the kernel does not fit the layer, or
            the output is not one channel of an image `(1, H', W', 1)` or sequence `(1, W', 1)`.
    """
    import numpy as np

    model = build_model(spec)
    for layer in model.layers:
        if layer.weights and kernel is not None:
            try:
                weights = [np.array(kernel, dtype="float32").reshape(layer.weights[0].shape)]
                if len(layer.weights) > 1:
                    weights.append(np.full(layer.weights[1].shape, bias, dtype="float32"))
                layer.set_weights(weights)
            except ValueError as error:
                raise ArchitectureError(f"{layer.name}: {error}") from error
    batch = np.array(input, dtype="float32").reshape((1, *spec.input_shape))
    output = keras().ops.convert_to_numpy(model(batch, training=False))
    if output.ndim != len(spec.input_shape) + 1 or output.shape[-1] != 1:
        raise ArchitectureError(f"the output has shape {output.shape}, not one channel of an "
                                f"input of shape {(1, *spec.input_shape)}")
    return tuple(tuple(_number(value) for value in row) for row in np.atleast_2d(output[0, ..., 0]))


def load_user_model(path: str) -> Any:
    """Run an instructor's Python file and return the Keras model it binds to `model`: a
    `keras.Sequential` or functional model, built (its layer graph is what `summary` reads),
    its layers named as in a fresh Python process (the Keras session is cleared first).

    Raises:
        ArchitectureError: the file cannot be read or run, exits (`sys.exit`), defines no
            `model`, defines a subclassed model (no layer graph), or an unbuilt one; the
            message names the file, says why and what to do, without a traceback.
    """
    import runpy

    keras().backend.clear_session()  # layers get the names a fresh Python gives them
    try:
        namespace = runpy.run_path(path, run_name="__quizgen_inspect__")
    except FileNotFoundError as error:
        raise ArchitectureError(f"{path}: no such file") from error
    except SystemExit as error:
        raise ArchitectureError(f"{path}: the file exits (sys.exit({error.code!r})) before "
                                "its `model` can be read; define `model` without exiting") from None
    except (ValueError, TypeError) as error:
        raise ArchitectureError(f"{path}: Keras cannot build the model: {error}") from error
    except Exception as error:  # the instructor's code may raise anything
        raise ArchitectureError(f"{path}: running the file failed: "
                                f"{type(error).__name__}: {error}") from error
    model = namespace.get("model")
    if not isinstance(model, keras().Model):
        raise ArchitectureError(f"{path}: the file must define a Keras model named `model`")
    if not _has_graph(model):
        raise ArchitectureError(
            f"{path}: `model` is a subclassed model ({type(model).__name__}): subclassed models "
            "have no layer graph to inspect; define it with keras.Sequential or the functional "
            "API (keras.Model(inputs, outputs))")
    if not model.built or not all(layer.built for layer in model.layers):
        raise ArchitectureError(f"{path}: `model` is not built; give it an input, "
                                "e.g. keras.Input(shape=(28, 28, 1)) as its first layer, or build "
                                "it by calling it on an input")
    return model


def _graph(model: Any, path: str) -> tuple[list[Any], tuple[tuple[int, ...], ...] | None]:
    """The layers of a model that `load_user_model` accepts, in order, and where each takes its
    tensors from (`ModelSpec.inbound`, its inputs `INPUT`, `INPUT - 1`, … in the order of
    `model.inputs`; None for a chain, each layer on the output of the one before: a
    `keras.Sequential`, or a functional model such as VGG16).

    Raises:
        ArchitectureError: the model has several outputs, an output that is not its last
            layer's, a layer called more than once (shared) or on several arguments (not one
            tensor or one list of them), a nested model, or a layer class that is not Keras'
            own; the message names the file and the layer.
    """
    k = keras()
    if len(model.outputs) != 1:
        raise ArchitectureError(f"{path}: `model` has {len(model.outputs)} outputs; quizgen asks "
                                "about models with one output")
    layers = [layer for layer in model.layers if not isinstance(layer, k.layers.InputLayer)]
    index = {id(tensor._keras_history.operation): INPUT - position
             for position, tensor in enumerate(model.inputs)}
    index |= {id(layer): position for position, layer in enumerate(layers)}
    inbound = []
    for layer in layers:
        where = f"{path}: layer {layer.name!r} ({type(layer).__name__})"
        if isinstance(layer, k.Model) or getattr(k.layers, type(layer).__name__, None) is not type(layer):
            raise ArchitectureError(f"{where} is not one of Keras' own layer classes (a nested "
                                    "model or a custom layer); quizgen builds keras.layers only")
        nodes = layer._inbound_nodes
        if len(nodes) != 1:
            raise ArchitectureError(f"{where} is called {len(nodes)} times (a shared layer); "
                                    "quizgen asks about layers called once")
        arguments = nodes[0].arguments
        positional = type(layer).__name__ in POSITIONAL_INPUTS
        if not (len(arguments.args) == 1 or positional) or any(
                isinstance(value, k.KerasTensor) for value in k.tree.flatten(arguments.kwargs)):
            raise ArchitectureError(f"{where} is called on several arguments or on tensors "
                                    "passed by keyword; quizgen builds layers called on one "
                                    "tensor or one list of tensors (attention: query, value)")
        inbound.append(tuple(index[id(tensor._keras_history.operation)]
                             for tensor in k.tree.flatten(list(arguments.args))))
    if model.outputs[0]._keras_history.operation is not layers[-1]:
        raise ArchitectureError(f"{path}: the model's output is not its last layer's")
    chain = len(model.inputs) == 1 and all(sources == (position - 1 if position else INPUT,)
                                           for position, sources in enumerate(inbound))
    return layers, None if chain else tuple(inbound)


def _given_config(layer: Any) -> dict[str, Any]:
    """The required arguments of a built Keras layer, those that differ from its class's
    defaults, and its `name`: `Conv2D(32, 3, activation="relu")` gives `{name, filters, kernel_size,
    activation}`. The defaults are the config of a layer made from the required arguments
    alone (all of the config where that fails); an argument whose default depends on another
    (`MaxPooling2D(3, strides=2)`: `strides` defaults to `pool_size`) is kept when leaving it
    out would change the layer."""
    import inspect

    config = layer.get_config()
    required = {name: config[name] for name, parameter in
                inspect.signature(type(layer).__init__).parameters.items()
                if parameter.default is parameter.empty and name in config}
    missing = object()

    def differing(given: dict[str, Any]) -> dict[str, Any]:
        try:
            reference = type(layer).from_config(given).get_config()
        except (TypeError, ValueError, KeyError):
            reference = {}
        return {key: value for key, value in config.items()
                if key in given or reference.get(key, missing) != value}

    return differing(differing(required | {"name": config["name"]}))


def model_spec(model: Any, path: str) -> ModelSpec:
    """The `ModelSpec` of an instructor's model (`load_user_model`): its input shape and, per
    layer, its class and the arguments given (`_given_config`, with the layer's `name`, so
    facts and keys name layers as `model.summary()` does; left out where every layer has the
    name a fresh session gives it: `ModelSpec.default_names_left_out`), and for a functional model that
    branches, where each layer takes its tensors from (`_graph`). Checked against the model itself:
    the spec's facts (`Oracle.facts`) give every layer the output shape and parameter count
    Keras reports for the file's model.

    Raises:
        ArchitectureError: the model is not one quizgen can describe (`_graph`), its input shape
            has an unknown size, or the spec would not rebuild it (a layer whose config Keras
            cannot load back); the message names the file and the layer.
    """
    layers, inbound = _graph(model, path)
    shapes = [_shape(tensor.shape)[1:] for tensor in model.inputs]
    for shape in shapes:
        if None in shape:
            raise ArchitectureError(f"{path}: the input shape {(None, *shape)} has an "
                                    "unknown size; give keras.Input a complete shape")
    spec = ModelSpec(shapes[0], tuple(LayerSpec.make(type(layer).__name__, **_given_config(layer))
                                      for layer in layers), inbound, tuple(shapes[1:]))
    try:
        facts = Oracle().facts(spec)
    except ArchitectureError as error:
        raise ArchitectureError(f"{path}: quizgen cannot rebuild the model: {error}") from error
    for layer, known in zip(layers, facts.layers, strict=True):
        if (_output_shape(layer), int(layer.count_params())) != (list(known.output_shape), known.params):
            raise ArchitectureError(f"{path}: layer {layer.name!r} rebuilt from its config "
                                    "differs from the file's; quizgen cannot ask about it")
    return spec.default_names_left_out()


def _has_graph(model: Any) -> bool:
    """Whether a Keras model has a layer graph: a `keras.Sequential`, or a functional model
    (its `_operations`, which `summary` lists); a subclassed model has neither."""
    return isinstance(model, keras().Sequential) or hasattr(model, "_operations")


def _output_shape(operation: Any) -> Any:
    """Output shape of a layer or operation as `model.summary()` shows it: a list with `None`
    for the batch axis, a list of such lists for several outputs, None if never called."""
    if not operation._inbound_nodes:
        return None
    tensors = operation._inbound_nodes[-1].output_tensors
    shapes = [list(_shape(tensor.shape)) for tensor in keras().tree.flatten(tensors)]
    return shapes[0] if len(shapes) == 1 else shapes


def summary(model: Any) -> dict[str, Any]:
    """The rows `model.summary()` prints and the totals under them, as data, for a model that
    `load_user_model` accepts (Sequential or functional, built).

    Rows come from `model.layers` for a Sequential model and from `model._operations` for a
    functional one (so InputLayer and operation rows appear, as in Keras' summary). Each row:
    `name`, `class_name`, `output_shape`, `params`.
    """
    operations = model.layers if isinstance(model, keras().Sequential) else model._operations
    rows = [{
        "name": operation.name,
        "class_name": type(operation).__name__,
        "output_shape": _output_shape(operation),
        "params": int(operation.count_params()) if hasattr(operation, "count_params") else 0,
    } for operation in operations]
    keras_version, backend = versions()
    return {
        "layers": rows,
        "total_params": _count(model.weights),
        "trainable_params": _count(model.trainable_weights),
        "non_trainable_params": _count(model.non_trainable_weights),
        "keras_version": keras_version,
        "backend": backend,
    }


def _layer_config(spec: LayerSpec) -> str:
    """The class and `get_config()` (name left out) of the Keras layer `spec` creates, as JSON
    with sorted keys; every default Keras fills in is there.

    Raises:
        ArchitectureError: Keras rejects an argument of the layer.
    """
    layer = _layer(spec, fast_initializers=False)
    config = {key: value for key, value in layer.get_config().items() if key != "name"}
    return json.dumps([type(layer).__name__, config], sort_keys=True, default=str)


#: Seed of the random weights and inputs of behaviour probes (outputs are reproducible).
PROBE_SEED = 1234
PROBE_SAMPLES = 64
#: The probes' input scales: small inputs, and large ones that drive every activation to its
#: limits (a claim about a layer's outputs must hold for every input, not only small ones).
PROBE_SCALES = (0.5, 50.0)
#: Values (float64) of one tensor of a probe batch: samples run through the layers at once are
#: as many as fit (the activations of large images take memory), all of them for most models.
PROBE_VALUES = 8_000_000

def _with_seeds(config: Any, seed: int) -> Any:
    """`config` with every seedable initializer in it (a `{"class_name", "config": {"seed"}}`
    entry, nested layers included) given its own seed, counting up from `seed`."""
    seeds = itertools.count(seed)

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            inner = value.get("config")
            if "class_name" in value and isinstance(inner, dict) and "seed" in inner:
                return value | {"config": walk(inner) | {"seed": next(seeds)}}
            return {key: walk(item) for key, item in value.items()}
        return [walk(item) for item in value] if isinstance(value, list) else value

    return walk(config)


def _seeded_layer(spec: LayerSpec, seed: int) -> Any:
    """The layer `spec` describes with Keras' default initializers, each given an explicit
    seed: its random weights do not depend on Keras' global seed generator (which draws from
    Python's shared `random` module, so another thread could change them). It computes in
    float64, so that the printed digits of its outputs do not depend on how many threads
    share a sum."""
    layer = _layer(spec, fast_initializers=False)
    return type(layer).from_config(_with_seeds(layer.get_config(), seed) | {"dtype": "float64"})


def _call_layers(layers: list[Any], tensor: Any) -> Any:
    """`tensor` (a batch, or a symbolic `KerasTensor`) through `layers` in order (inference
    mode).

    Raises:
        ArchitectureError: a layer rejects its input (Keras raises `ValueError`).
    """
    for index, layer in enumerate(layers):
        try:
            tensor = layer(tensor, training=False)
        except ValueError as error:
            raise ArchitectureError(f"layer {index} ({type(layer).__name__}): {error}") from error
    return tensor


def _probe_outputs(spec: ModelSpec) -> tuple[tuple[float, float, float], ...]:
    """Execute the layers of `spec` with randomly initialised weights (Keras' default
    initializers, explicitly seeded from `PROBE_SEED`) on `PROBE_SAMPLES` random inputs at each
    of the `PROBE_SCALES` (standard normal × scale) and return, for the output of each layer:
    `(min, max, largest |row sum - 1|)`, the row sum taken over the last axis. One run answers
    every claim about the model; samples go through in batches of at most `PROBE_VALUES`
    values per tensor.

    Raises:
        ArchitectureError: Keras cannot build the layers, or they exceed the size budget
            (checked before their weights are allocated).
    """
    import numpy as np

    _before_creating(len(spec.layers))
    layers = []
    for index, current in enumerate(spec.layers):
        try:
            layers.append(_seeded_layer(current, PROBE_SEED + 100 * index))
        except ArchitectureError as error:
            raise ArchitectureError(f"layer {index} ({current.class_name}): {error}") from error
    input_shape = (None, *spec.input_shape)
    with _within_budget(input_shape) as built:
        _call_layers(layers, keras().KerasTensor(input_shape))
        built += layers
    _created(sum(created.count_params() for created in layers))
    rng = np.random.default_rng(PROBE_SEED)
    inputs = np.concatenate([rng.standard_normal((PROBE_SAMPLES, *spec.input_shape)) * scale
                             for scale in PROBE_SCALES])
    largest = max([_values(input_shape)] + [_values(layer.output.shape) for layer in layers])
    batch = max(1, PROBE_VALUES // largest)
    stats = np.array([[np.inf, -np.inf, 0.0]] * len(layers))
    for start in range(0, len(inputs), batch):
        tensor = inputs[start:start + batch]
        for index, layer in enumerate(layers):
            tensor = _call_layers([layer], tensor)
            values = keras().ops.convert_to_numpy(tensor)
            stats[index] = (min(stats[index][0], values.min()), max(stats[index][1], values.max()),
                            max(stats[index][2], np.abs(values.sum(axis=-1) - 1.0).max()))
    return tuple((float(low), float(high), float(deviation)) for low, high, deviation in stats)


#: Samples on which two models must agree to compute the same function.
SAME_FUNCTION_SAMPLES = 8


def _weights_like(weights: list[Any], rng: Any) -> list[Any]:
    """Random values for `weights`: uniform in [-1, 1], and in [0.5, 1.5] for variances (so a
    BatchNormalization stays defined)."""
    return [rng.uniform(0.5, 1.5, tuple(w.shape)) if "variance" in w.name
            else rng.uniform(-1.0, 1.0, tuple(w.shape)) for w in weights]


def _same_function(first: ModelSpec, second: ModelSpec) -> bool:
    """Whether two models compute the same function: the same layer classes, weight shapes and
    Dropout rates (a rate changes training, not inference), and, with random weights given to
    the first and copied into the second, the same outputs on random inputs (so an argument
    that changes nothing, such as `padding="same"` on a 1×1 window, makes no difference).

    Raises:
        ArchitectureError: Keras cannot build one of the models.
    """
    import numpy as np

    if first.input_shape != second.input_shape or len(first.layers) != len(second.layers):
        return False
    models = build_model(first), build_model(second)
    for a, b in zip(*(model.layers for model in models), strict=True):
        shapes = [[tuple(weight.shape) for weight in layer.weights] for layer in (a, b)]
        rates = [getattr(layer, "rate", None) for layer in (a, b)]
        if type(a) is not type(b) or shapes[0] != shapes[1] or rates[0] != rates[1]:
            return False
    rng = np.random.default_rng(PROBE_SEED)
    weights = _weights_like(models[0].weights, rng)
    for model in models:
        model.set_weights(weights)
    if first.layers and first.layers[0].class_name == "Embedding":
        inputs = rng.integers(0, first.layers[0].get("input_dim"),
                              (SAME_FUNCTION_SAMPLES, *first.input_shape))
    else:
        inputs = rng.standard_normal((SAME_FUNCTION_SAMPLES, *first.input_shape))
    outputs = [keras().ops.convert_to_numpy(model(inputs.astype("float32"), training=False))
               for model in models]
    return outputs[0].shape == outputs[1].shape and bool(np.allclose(*outputs, rtol=1e-5, atol=1e-6))


def _accepts(class_name: str, argument: str, value: Any) -> bool:
    try:
        getattr(keras().layers, class_name)(**{argument: value}, **_REQUIRED.get(class_name, {}))
    except (TypeError, ValueError):
        return False
    return True


#: Arguments a layer cannot be created without, for probing its defaults.
_REQUIRED = {"Dense": {"units": 1}, "Conv2D": {"filters": 1, "kernel_size": 1},
             "Dropout": {"rate": 0.5}}


def _default(class_name: str, argument: str) -> Any:
    return getattr(keras().layers, class_name)(**_REQUIRED.get(class_name, {})).get_config()[argument]


def _memoized(method: Callable[..., T]) -> Callable[..., T]:
    """A method whose results the oracle keeps in its memo table, by method and arguments."""

    @wraps(method)
    def memo(self: Oracle, *args: Any) -> T:
        key = (method.__name__, *args)
        if key not in self.memo:
            self.memo[key] = method(self, *args)
        return self.memo[key]

    return memo


def _raised(result: T | ArchitectureError) -> T:
    if isinstance(result, ArchitectureError):
        raise result
    return result


def _layer_rows(rows: list[list[float]], layers: int) -> tuple[tuple[float, float, float], ...]:
    """Probe statistics read from the cache: one row per layer.

    Raises:
        ValueError: not one row per layer (the entry is corrupt).
    """
    if len(rows) != layers:
        raise ValueError(f"{len(rows)} rows of probe statistics for {layers} layers")
    return tuple((low, high, deviation) for low, high, deviation in rows)


class Oracle:
    """What Keras says about models, layers and tasks, remembered in this object's memo
    tables and in its persistent fact cache `cache` (default: off)."""

    def __init__(self, cache: FactCache | None = None) -> None:
        self.cache = cache or FactCache(None)
        self.memo: dict[tuple, Any] = {}

    def facts(self, spec: ModelSpec) -> ModelFacts:
        """The facts of `spec` as Keras builds it, layer by layer (`layer_facts`: each distinct
        layer on each distinct input shape is built symbolically once), cached by
        spec digest and Keras version. `model_facts` builds the whole model instead; the two
        agree (tested, and checked by `quizgen verify`).

        Raises:
            ArchitectureError: Keras cannot build or run the model.
        """
        return _raised(self._facts(spec))

    @_memoized
    def _facts(self, spec: ModelSpec) -> ModelFacts | ArchitectureError:
        return self.cache.cached("facts", spec.digest(), lambda: self._compose_facts(spec),
                                 lambda result: _encode(result) | {"spec": spec.to_json()},
                                 _decode_facts)

    def _compose_facts(self, spec: ModelSpec) -> ModelFacts | ArchitectureError:
        """The model's facts layer by layer, as `keras.Sequential` (or, for a functional
        model, `keras.Model`) builds it: each layer on the output shape of the one before (of
        the layers it takes tensors from; `layer_facts`, each within the size budget), totals
        summed over the layers; the whole model must be within the size budget too, as when
        `model_facts` builds it at once."""
        layers: list[LayerFacts] = []
        outputs: list[Shape] = []
        for index, (layer, name) in enumerate(zip(spec.layers, spec.layer_names(), strict=True)):
            try:
                built = self.layer_facts(layer, spec.received(index, outputs))
            except ArchitectureError as error:
                return ArchitectureError(f"layer {index} ({layer.class_name}): {error}")
            layers.append(replace(built, name=name))
            outputs.append(built.output_shape)
        problem = budget_problem((None, *spec.input_shape), [
            (layer.class_name, layer.params, layer.output_shape) for layer in layers])
        return _totals(tuple(layers)) if problem is None else ArchitectureError(problem)

    def layer_facts(self, spec: LayerSpec, input_shape: Shape) -> LayerFacts:
        """Facts of the layer `spec` built by Keras on a symbolic input of `input_shape` (batch
        axis `None`; see `_build_layer`), with an empty `name`; cached by layer config, input
        shape and Keras version.

        Raises:
            ArchitectureError: Keras cannot build the layer on that input.
        """
        return _raised(self._layer_facts(spec, input_shape))

    @_memoized
    def _layer_facts(self, spec: LayerSpec, input_shape: Shape) -> LayerFacts | ArchitectureError:
        return self.cache.cached(
            "layer", cache_key(LAYER_ENTRIES, json.dumps(spec.to_json(), sort_keys=True), input_shape),
            lambda: _compute_layer(spec, input_shape), _encode, _decode_layer_result)

    def model_facts(self, spec: ModelSpec) -> ModelFacts:
        """The facts of `spec` from one `keras.Sequential` (a functional model: `keras.Model.
        from_config`) built and executed on a batch of one input, layer by layer along the
        graph (every layer's symbolic output shape checked against the executed one); never
        cached.

        Raises:
            ArchitectureError: Keras cannot build or run the model.
        """
        model = build_model(spec)
        by_name = {layer.name: layer for layer in model.layers}
        layers: list[LayerFacts] = []
        outputs: list[Shape] = []
        tensors = {INPUT - k: keras().ops.ones((1, *shape)) for k, shape in enumerate(spec.inputs)}
        for index, name in enumerate(spec.layer_names()):
            layer, sources = by_name[name], spec.sources(index)
            inputs = [tensors[source] for source in sources]
            tensors[index] = layer(*call_arguments(spec.layers[index].class_name, inputs),
                                   training=False)
            executed = _checked(layer, _shape(layer.output.shape),
                                (None, *_shape(tensors[index].shape)[1:]))
            layers.append(_read_layer(layer, name, spec.received(index, outputs), executed))
            outputs.append(executed)
        return replace(_totals(tuple(layers)), total_params=int(model.count_params()),
                       trainable_params=_count(model.trainable_weights),
                       non_trainable_params=_count(model.non_trainable_weights))

    @_memoized
    def run_task(self, spec: ModelSpec, input: Matrix, kernel: Matrix | None, bias: int) -> Matrix:
        """The output matrix of a by-hand task as Keras computes it (see `_run_task`), cached.

        Raises:
            ArchitectureError: Keras cannot build the model, or the kernel does not fit it.
        """
        return self.cache.cached("task", cache_key(spec.digest(), input, kernel, bias),
                                 lambda: _run_task(spec, input, kernel, bias), list,
                                 lambda rows: tuple(tuple(row) for row in rows))

    def layer_configs(self, spec: ModelSpec) -> tuple[str, ...]:
        """Each layer's class and `get_config()` as Keras reports it (name left out), as JSON:
        two specs build the same model exactly when these are equal."""
        return tuple(self.layer_config(layer) for layer in spec.layers)

    @_memoized
    def layer_config(self, spec: LayerSpec) -> str:
        """`_layer_config` of one layer, cached.

        Raises:
            ArchitectureError: Keras rejects an argument of the layer.
        """
        return self.cache.cached("config", cache_key(json.dumps(spec.to_json(), sort_keys=True)),
                                 lambda: _layer_config(spec), lambda text: text, str)

    def probe_outputs(self, spec: ModelSpec, layer: int) -> tuple[float, float, float]:
        """`(min, max, largest |row sum - 1|)` of layer `layer`'s outputs on random inputs
        (see `_probe_outputs`: one run per model, cached, answers every layer).

        Raises:
            ArchitectureError: Keras cannot build the layers.
        """
        return self._probes(spec)[layer]

    @_memoized
    def _probes(self, spec: ModelSpec) -> tuple[tuple[float, float, float], ...]:
        return self.cache.cached(
            "probe", cache_key(spec.digest(), PROBE_SEED, PROBE_SAMPLES, PROBE_SCALES,
                               "seeded initializers, float64, every layer"),
            lambda: _probe_outputs(spec), lambda stats: [list(row) for row in stats],
            lambda rows: _layer_rows(rows, len(spec.layers)))

    @_memoized
    def same_function(self, first: ModelSpec, second: ModelSpec) -> bool:
        """Whether the two models compute the same function (see `_same_function`); cached.

        Raises:
            ArchitectureError: Keras cannot build one of the models.
        """
        return self.cache.cached(
            "same", cache_key(first.digest(), second.digest(), PROBE_SEED, SAME_FUNCTION_SAMPLES),
            lambda: _same_function(first, second), bool, bool)

    @_memoized
    def accepts_argument(self, class_name: str, argument: str, value: Any) -> bool:
        """Whether Keras accepts `argument=value` when creating a `class_name` layer (pooling
        layers, for example, reject `activation`); cached."""
        return self.cache.cached("accepts", cache_key(class_name, argument, value),
                                 lambda: _accepts(class_name, argument, value), bool, bool)

    @_memoized
    def default_argument(self, class_name: str, argument: str) -> Any:
        """The value Keras gives `argument` when a `class_name` layer is created without it, as
        `get_config()` reports it (e.g. Dense's `activation` is `"linear"`); cached."""
        return self.cache.cached("default", cache_key(class_name, argument),
                                 lambda: _default(class_name, argument), lambda v: v, lambda v: v)
