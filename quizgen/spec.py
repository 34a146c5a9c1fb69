"""ModelSpec: a Keras architecture as plain, frozen, hashable data (no Keras import here).

A spec mirrors Keras' own serialization: an `input_shape` (without the batch axis) and a list of
layers, each `{class_name, config}` with Keras' argument names (`filters`, `kernel_size`,
`strides`, `padding`, `activation`, `units`, `rate`, `pool_size`, ...). It round-trips through
JSON, hashes by content, and renders to Python code in the two styles of the seed documents:
`keras.Sequential([...])` and `model.add(...)`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from quizgen.errors import TemplateError, quote

T = TypeVar("T")

#: Arguments passed positionally in the rendered code, as in the Keras examples.
POSITIONAL_ARGUMENTS = ("layer", "filters", "units", "rate")

#: The order in which arguments are rendered (Keras' signature order); others follow, sorted.
ARGUMENT_ORDER = (
    "layer", "filters", "units", "rate", "input_dim", "output_dim", "kernel_size", "pool_size",
    "strides", "padding", "activation", "use_bias", "num_heads", "key_dim", "value_dim",
)

CODE_STYLES = ("sequential", "add")

#: A tensor shape with the batch axis as `None`, e.g. `(None, 26, 26, 32)`.
Shape = tuple[int | None, ...]

#: The pooling layers with a window (`pool_size`, `strides`, `padding`).
POOLING = ("MaxPooling2D", "AveragePooling2D")


class FrozenDict(tuple):
    """A dict frozen as a tuple of `(key, value)` pairs (e.g. the `layer` of a Bidirectional)."""

    def to_dict(self) -> dict[str, Any]:
        """The mapping back, with its values thawed."""
        return {key: _thaw(value) for key, value in self}


#: Values `freeze` returns as they are (the usual ones: checked first, by exact type).
_SCALARS = frozenset({int, float, str, bool, type(None)})


def freeze(value: Any) -> Any:
    """Lists become tuples and dicts `FrozenDict`s (recursively), so that a config is hashable
    and compares by value."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, FrozenDict):
        return value
    if isinstance(value, Mapping):
        return FrozenDict((key, freeze(item)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return value


def _thaw(value: Any) -> Any:
    """The JSON form of a frozen value: tuples become lists, `FrozenDict`s dicts."""
    if isinstance(value, FrozenDict):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_thaw(item) for item in value]
    return value


@dataclass(frozen=True)
class LayerSpec:
    """One Keras layer: its `class_name` and its config as ordered `(argument, value)` pairs."""

    class_name: str
    config: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def make(cls, class_name: str, **config: Any) -> LayerSpec:
        """Build a layer spec from Keras keyword arguments, e.g. `make("Dense", units=10)`;
        arguments given as None are left out (Keras' default applies)."""
        return cls(class_name, tuple((key, freeze(value)) for key, value in config.items()
                                     if value is not None))

    def get(self, argument: str, default: Any = None) -> Any:
        """The value of `argument` in the config, or `default` if it is not set."""
        for key, value in self.config:
            if key == argument:
                return value
        return default

    def with_config(self, **changes: Any) -> LayerSpec:
        """A copy with some arguments changed (a value of `None` removes the argument)."""
        config = dict(self.config)
        for key, value in changes.items():
            if value is None:
                config.pop(key, None)
            else:
                config[key] = freeze(value)
        return replace(self, config=tuple(config.items()))

    def wrapped(self) -> LayerSpec:
        """The layer a wrapper such as Bidirectional holds in its `layer` argument."""
        inner = dict(self.get("layer"))
        return LayerSpec.make(inner["class_name"], **dict(inner.get("config", ())))

    def to_json(self) -> dict[str, Any]:
        """`{"module": "keras.layers", "class_name": ..., "config": {...}}`, loadable with
        `keras.layers.deserialize` (Keras 3 needs the module to find built-in classes)."""
        config = {key: _thaw(value) for key, value in self.config}
        return {"module": "keras.layers", "class_name": self.class_name, "config": config}

    def code(self) -> str:
        """The constructor call as written in Keras examples, e.g.
        `layers.Conv2D(32, kernel_size=(3, 3), activation="relu")`."""
        config = dict(self.config)
        ordered = [key for key in ARGUMENT_ORDER if key in config]
        ordered += sorted(key for key in config if key not in ARGUMENT_ORDER)
        arguments = []
        for position, key in enumerate(ordered):
            literal = python_literal(config[key])
            positional = position == 0 and key in POSITIONAL_ARGUMENTS
            arguments.append(literal if positional else f"{key}={literal}")
        return f"layers.{self.class_name}({', '.join(arguments)})"


#: Where a layer of a functional model takes a tensor from: the model's input (`INPUT`; its
#: further inputs are `INPUT - 1`, `INPUT - 2`, …), or the output of an earlier layer (its index).
INPUT = -1

#: Layers called with their inputs as separate arguments, `attention(query, value)` (a merge
#: layer such as `Add` takes one list of them).
POSITIONAL_INPUTS = frozenset({"MultiHeadAttention"})


def call_arguments(class_name: str, inputs: list[T]) -> list[T | list[T]]:
    """The positional arguments a layer of `class_name` is called with on `inputs` (tensors,
    their configs or their names): `[x]` for one input, `[query, value]` for a layer of
    `POSITIONAL_INPUTS`, else `[[a, b]]` (one list, as `Add` and `Concatenate` take)."""
    if len(inputs) == 1 or class_name in POSITIONAL_INPUTS:
        return list(inputs)
    return [list(inputs)]


@dataclass(frozen=True)
class ModelSpec:
    """A Keras model: `input_shape` (no batch axis) and its layers, in order. Without
    `inbound` it is a chain, as `keras.Sequential` builds it; with `inbound` a functional model
    (a graph of one output, the last layer's, and one input or, with `extra_inputs`, several):
    `inbound[i]` are the sources of layer `i`'s inputs, each `INPUT` (the input of
    `input_shape`), `INPUT - k` (the input of shape `extra_inputs[k - 1]`) or the index of an
    earlier layer (a residual `Add` takes two: `(INPUT, 0)`).

    Example: `ModelSpec((28, 28, 1), (LayerSpec.make("Conv2D", filters=32, kernel_size=(3, 3)),))`
    describes a model whose input has shape `(None, 28, 28, 1)`.
    """

    input_shape: tuple[int, ...]
    layers: tuple[LayerSpec, ...]
    inbound: tuple[tuple[int, ...], ...] | None = None
    extra_inputs: tuple[tuple[int, ...], ...] = ()

    def __iter__(self) -> Iterator[LayerSpec]:
        return iter(self.layers)

    @property
    def inputs(self) -> tuple[tuple[int, ...], ...]:
        """The shapes (no batch axis) of the model's inputs, in order: sources `INPUT`,
        `INPUT - 1`, …"""
        return (self.input_shape, *self.extra_inputs)

    def input_of(self, source: int) -> Shape:
        """The shape (batch axis `None`) of the model input `source` (`INPUT - k`)."""
        return (None, *self.inputs[INPUT - source])

    def received(self, index: int, outputs: Sequence[Shape]) -> Shape | tuple[Shape, ...]:
        """The input shape of layer `index` (batch axis `None`), given the output shapes of
        the layers before it: one shape, or a tuple of them for a layer that takes several."""
        shapes = tuple(self.input_of(source) if source < 0 else outputs[source]
                       for source in self.sources(index))
        return shapes[0] if len(shapes) == 1 else shapes

    def sources(self, index: int) -> tuple[int, ...]:
        """Where layer `index` takes its inputs from (`INPUT` or earlier layers' indices)."""
        return (index - 1 if index else INPUT,) if self.inbound is None else self.inbound[index]

    def to_json(self) -> dict[str, Any]:
        """`{"input_shape": [...], "layers": [{"module", "class_name", "config"}, ...]}`, and
        for a functional model `"inbound": [[source, ...], ...]` (see `functional_config` for
        the form Keras loads)."""
        data = {"input_shape": list(self.input_shape),
                "layers": [layer.to_json() for layer in self.layers]}
        if self.inbound is not None:
            data["inbound"] = [list(sources) for sources in self.inbound]
        if self.extra_inputs:
            data["extra_inputs"] = [list(shape) for shape in self.extra_inputs]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "model") -> ModelSpec:
        """Parse the JSON form (as written by `to_json`, or by hand in a template), or a
        functional model's Keras config (`functional_config`, `keras.Model.get_config()`).

        Raises:
            TemplateError: a field is missing or has the wrong type, or a layer takes a tensor
                from itself or a later layer; the message names `where`.
        """
        functional = isinstance(data, Mapping) and "input_layers" in data
        if functional:
            data = _from_functional(data, where)
        try:
            input_shape = tuple(int(size) for size in data["input_shape"])
            layers = tuple(
                LayerSpec.make(layer["class_name"], **dict(layer.get("config") or {}))
                for layer in data["layers"]
            )
            inbound = None if data.get("inbound") is None else tuple(
                tuple(int(source) for source in sources) for sources in data["inbound"])
            extra = tuple(tuple(int(size) for size in shape) for shape in data.get("extra_inputs") or ())
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise TemplateError(f"{where}: not a model spec ({error!r})") from error
        if any(size < 1 for shape in (input_shape, *extra) for size in shape):
            raise TemplateError(f"{where}.input_shape: sizes must be >= 1, got "
                                f"{quote((input_shape, *extra))}")
        first = INPUT - len(extra)
        if (inbound is None and extra) or inbound is not None and (len(inbound) != len(layers) or any(
                not sources or any(not first <= source < index for source in sources)
                for index, sources in enumerate(inbound))):
            inputs = f"the input ({INPUT})" if not extra else f"an input ({INPUT} to {first})"
            raise TemplateError(f"{where}.inbound: each layer takes tensors from {inputs} or "
                                f"earlier layers, got {quote(inbound)}")
        spec = cls(input_shape, layers, inbound, extra)
        return spec.default_names_left_out() if functional else spec

    def default_names_left_out(self) -> ModelSpec:
        """The spec without its layers' `name`s if they are all the ones `layer_names` gives
        anyway (a fresh Keras session's), else as it is: one form for a model however its
        names were written (a Keras config names every layer)."""
        unnamed = replace(self, layers=tuple(LayerSpec(layer.class_name, tuple(
            (key, value) for key, value in layer.config if key != "name")) for layer in self.layers))
        return unnamed if unnamed.layer_names() == self.layer_names() else self

    def functional_config(self, shapes: list[Shape] | None = None) -> dict[str, Any]:
        """A functional model's config as Keras writes it (`keras.Model.get_config()`), which
        `keras.Model.from_config` loads: an `InputLayer` per input, named `input_layer`,
        `input_layer_1`, … (Keras' default names), then each layer
        with its `inbound_nodes` naming the layers it takes tensors from. `shapes` are the
        layers' output shapes (batch axis `None`) recorded in the tensors' configs; Keras reads
        only their `keras_history` (the shape is a placeholder without them).
        See https://keras.io/api/models/model/#from_config."""
        names = self.layer_names()
        inputs = [INPUT_NAME if k == 0 else f"{INPUT_NAME}_{k}" for k in range(len(self.inputs))]

        def tensor(source: int) -> dict[str, Any]:
            shape = self.input_of(source) if source < 0 else (shapes[source] if shapes else (None,))
            return {"class_name": "__keras_tensor__", "config": {
                "shape": list(shape), "dtype": "float32",
                "keras_history": [inputs[INPUT - source] if source < 0 else names[source], 0, 0]}}

        layers = [{"module": "keras.layers", "class_name": "InputLayer",
                   "config": {"batch_shape": [None, *shape], "name": name},
                   "name": name, "inbound_nodes": []}
                  for name, shape in zip(inputs, self.inputs, strict=True)]
        for index, (layer, name) in enumerate(zip(self.layers, names, strict=True)):
            sources = [tensor(source) for source in self.sources(index)]
            serialized = layer.to_json()
            serialized["config"]["name"] = name
            layers.append(serialized | {"name": name, "inbound_nodes": [
                {"args": call_arguments(layer.class_name, sources), "kwargs": {}}]})
        return {"name": "model", "layers": layers, "input_layers": [[name, 0, 0] for name in inputs],
                "output_layers": [[names[-1], 0, 0]]}

    def canonical_json(self) -> str:
        """The spec as compact JSON with sorted keys: the basis of `digest`."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        """A SHA-256 hex digest of the content: equal specs give equal digests in every run."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def layer_names(self) -> list[str]:
        """Deterministic layer names: a layer's own `name` argument (an instructor's model
        keeps the names its `model.summary()` prints), else the name a fresh Keras session
        would give it: `conv2d`, `conv2d_1`, `max_pooling2d`, ... (numbered per class within
        this model, skipping the names the model's layers take)."""
        taken = {layer.get("name") for layer in self.layers} - {None}
        seen: dict[str, int] = {}
        names = []
        for layer in self.layers:
            name = layer.get("name")
            base = snake_case(layer.class_name)
            while name is None:
                count = seen.get(base, 0)
                seen[base] = count + 1
                name = base if count == 0 else f"{base}_{count}"
                name = None if name in taken else name
            names.append(name)
        return names

    def replace_layer(self, index: int, layer: LayerSpec) -> ModelSpec:
        """A copy with layer `index` replaced."""
        layers = list(self.layers)
        layers[index] = layer
        return replace(self, layers=tuple(layers))

    def with_layer_before(self, index: int, layer: LayerSpec, source: int) -> ModelSpec:
        """A functional copy with `layer`, fed by `source`, inserted just before layer `index`,
        which takes the new layer's output where it took `source`'s (a shortcut given a
        convolution of its own)."""
        def moved(old: int) -> int:
            return old + 1 if old >= index else old

        inbound = [tuple(moved(old) for old in self.sources(position))
                   for position in range(len(self.layers))]
        inbound[index] = tuple(index if old == moved(source) else old for old in inbound[index])
        inbound.insert(index, (source,))
        layers = self.layers[:index] + (layer,) + self.layers[index:]
        return replace(self, layers=layers, inbound=tuple(inbound))

    def _repointed(self, indices: set[int]) -> dict[int, tuple[int, ...]]:
        """The layers left when those at `indices` are removed, each with its sources, where a
        layer that took a removed layer's output takes what that layer took (its first input);
        in a functional model only the layers its output (the last layer left) still depends on."""
        def source(old: int) -> int:
            while old >= 0 and old in indices:
                old = self.sources(old)[0]
            return old

        left = {index: tuple(map(source, self.sources(index)))
                for index in range(len(self.layers)) if index not in indices}
        if self.inbound is None or not left:
            return left
        needed = {max(left)}
        for index in sorted(left, reverse=True):
            if index in needed:
                needed |= {old for old in left[index] if old >= 0}
        return {index: sources for index, sources in left.items() if index in needed}

    def kept(self, indices: set[int]) -> list[int]:
        """The indices (in this spec) of the layers `without_layers(indices)` keeps, in order."""
        return sorted(self._repointed(indices))

    def without_layers(self, indices: set[int]) -> ModelSpec:
        """A copy with the layers at `indices` removed (`_repointed`): in a functional model a
        layer that took a removed layer's output takes what that layer took (its first input),
        and a branch (or an input) the output no longer depends on goes too."""
        left = self._repointed(indices)
        layers = tuple(self.layers[index] for index in sorted(left))
        if self.inbound is None:
            return replace(self, layers=layers)
        used = sorted({old for sources in left.values() for old in sources if old < 0}, reverse=True)
        renumbered = {old: new for new, old in enumerate(sorted(left))} | {
            old: INPUT - position for position, old in enumerate(used)}
        shapes = [self.inputs[INPUT - old] for old in used]
        return ModelSpec(shapes[0], layers, tuple(
            tuple(renumbered[old] for old in left[index]) for index in sorted(left)),
            tuple(shapes[1:]))

    def code(self, style: str = "sequential") -> str:
        """Python code that builds this model, in one of `CODE_STYLES`:

        - `"sequential"`: `model = keras.Sequential([keras.Input(shape=...), layers...])`
        - `"add"`: `model = keras.Sequential()` then one `model.add(...)` per layer.

        (A family may add styles of its own: `quizgen.families.code`.)

        Raises:
            TemplateError: unknown style.
        """
        input_line = f"keras.Input(shape={python_literal(self.input_shape)})"
        if self.inbound is not None:
            return self._functional_code()
        if style == "sequential":
            lines = [f"    {input_line},"] + [f"    {layer.code()}," for layer in self.layers]
            return "model = keras.Sequential([\n" + "\n".join(lines) + "\n])"
        if style == "add":
            lines = [f"model.add({input_line})"] + [f"model.add({layer.code()})" for layer in self]
            return "model = keras.Sequential()\n" + "\n".join(lines)
        raise TemplateError(f"code style must be one of {CODE_STYLES}, got {style!r}")

    def _functional_code(self) -> str:
        """The functional-API code of a functional model (whatever the style): one variable
        per input (`inputs`, or `inputs_1`, `inputs_2`, … for several) and per layer output,
        named after the layer, e.g. `add = layers.Add()([inputs, conv2d])`,
        `multi_head_attention = layers.MultiHeadAttention(...)(inputs, inputs)`."""
        several = len(self.inputs) > 1
        inputs = [f"inputs_{k + 1}" if several else "inputs" for k in range(len(self.inputs))]
        names = {INPUT - k: name for k, name in enumerate(inputs)} | {
            index: name if name.isidentifier() else f"x{index}"
            for index, name in enumerate(self.layer_names())}
        lines = [f"{name} = keras.Input(shape={python_literal(shape)})"
                 for name, shape in zip(inputs, self.inputs, strict=True)]
        for index, layer in enumerate(self.layers):
            arguments = call_arguments(layer.class_name,
                                       [names[source] for source in self.sources(index)])
            written = ", ".join(f"[{', '.join(a)}]" if isinstance(a, list) else a for a in arguments)
            lines.append(f"{names[index]} = {layer.code()}({written})")
        given = f"[{', '.join(inputs)}]" if several else inputs[0]
        return "\n".join(lines + [f"model = keras.Model({given}, {names[len(self.layers) - 1]})"])


#: The name of a functional model's input in its config (Keras' default for the first one).
INPUT_NAME = "input_layer"


def _from_functional(config: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The `to_json` form of a functional model's Keras config (its InputLayers first, in the
    order of its inputs; one output: the last layer's; each layer called once).

    Raises:
        TemplateError: the config is not of that form; the message names `where`.
    """
    try:
        entries = list(config["layers"])
        count = next(i for i, entry in enumerate(entries) if entry["class_name"] != "InputLayer")
        firsts, rest = entries[:count], entries[count:]
        if not firsts or [list(x) for x in _triples(config["input_layers"])] != [
                [first["name"], 0, 0] for first in firsts] or [
                list(x) for x in _triples(config["output_layers"])] != [[rest[-1]["name"], 0, 0]]:
            raise ValueError("the InputLayers first, in the order of the inputs, and the last "
                             "layer's output")
        index = {first["name"]: INPUT - k for k, first in enumerate(firsts)} | {
            entry["name"]: i for i, entry in enumerate(rest)}
        inbound = []
        for entry in rest:
            [node] = entry["inbound_nodes"]
            tensors = [tensor for argument in node["args"]
                       for tensor in (argument if isinstance(argument, list) else [argument])]
            inbound.append([index[tensor["config"]["keras_history"][0]] for tensor in tensors])
        layers = [{"class_name": entry["class_name"], "config": dict(entry["config"])}
                  for entry in rest]
        shapes = [list(first["config"]["batch_shape"])[1:] for first in firsts]
        return {"input_shape": shapes[0], "layers": layers, "inbound": inbound,
                "extra_inputs": shapes[1:]}
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        raise TemplateError(f"{where}: not a functional model config ({error!r})") from None


def _triples(value: Any) -> list[Any]:
    """Keras writes one input or output as `[name, 0, 0]` and several as a list of them."""
    return [value] if value and isinstance(value[0], str) else list(value)


def snake_case(class_name: str) -> str:
    """Keras' default layer-name base: `Conv2D` → `conv2d`, `MaxPooling2D` → `max_pooling2d`.

    Same rule as Keras' `naming.to_snake_case`."""
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", class_name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()


def python_literal(value: Any) -> str:
    """Python source for a config value: strings in double quotes, tuples in parentheses, a
    nested layer or object (`{"class_name", "config"}`) as its constructor call, of its Keras
    `module` (`keras.initializers.HeNormal()`; a layer's as `layers.LSTM(8)`)."""
    if isinstance(value, FrozenDict):
        nested = dict(value)
        if "class_name" in nested:
            call = LayerSpec.make(nested["class_name"], **dict(nested.get("config", ()))).code()
            module = nested.get("module", "keras.layers")
            return call if module == "keras.layers" else f"{module}.{call.removeprefix('layers.')}"
        return "{" + ", ".join(f"{json.dumps(k)}: {python_literal(v)}" for k, v in value) + "}"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple | list):
        items = [python_literal(item) for item in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    return repr(value)


Matrix = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Task:
    """A convolution, pooling or upsampling to work out by hand (seeds/004): one `layer`
    applied to a small single-channel integer `input` (H×W), with an integer `kernel`
    (k_h×k_w) and `bias` for a convolution (Conv2D, dilated or not, Conv2DTranspose). The
    Keras model is `keras.Input(shape=(H, W, 1))` followed by the layer; for a Conv1D the input
    and kernel are one row each, a sequence of W values: `keras.Input(shape=(W, 1))`."""

    layer: LayerSpec
    input: Matrix
    kernel: Matrix | None = None
    bias: int = 0

    @property
    def sequence(self) -> bool:
        """Whether the task is one-dimensional (a Conv1D over one row of values)."""
        return self.layer.class_name in SEQUENCE_TASKS

    @property
    def spec(self) -> ModelSpec:
        """The one-layer model the task runs: input `(None, H, W, 1)`, or `(None, W, 1)`."""
        shape = (len(self.input[0]), 1) if self.sequence else (len(self.input), len(self.input[0]), 1)
        return ModelSpec(shape, (self.layer,))

    def to_json(self) -> dict[str, Any]:
        """`{"layer": {class_name, config}, "input": [[...]], "kernel": [[...]] | null,
        "bias": int}` (the key's `task`)."""
        return {"layer": self.layer.to_json(), "input": _thaw(self.input),
                "kernel": _thaw(self.kernel), "bias": self.bias}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "task") -> Task:
        """Parse the JSON form.

        Raises:
            TemplateError: a field is missing or malformed; the message names `where`.
        """
        try:
            layer = LayerSpec.make(data["layer"]["class_name"],
                                   **dict(data["layer"].get("config") or {}))
            matrix = freeze(data["input"])
            kernel = freeze(data.get("kernel"))
            bias = int(data.get("bias") or 0)
        except (KeyError, TypeError, ValueError) as error:
            raise TemplateError(f"{where}: not a task ({error!r})") from error
        for name, value in (("input", matrix), ("kernel", kernel)):
            if value is not None and (not value or len({len(row) for row in value}) != 1):
                raise TemplateError(f"{where}.{name}: must be a non-empty rectangular matrix")
            if value is not None and layer.class_name in SEQUENCE_TASKS and len(value) != 1:
                raise TemplateError(f"{where}.{name}: a {layer.class_name} task takes one row "
                                    f"(a sequence), got {len(value)} rows")
        return cls(layer, matrix, kernel, bias)

    def code(self) -> str:
        """Python code that runs the task with Keras, in the style of seeds/004."""
        literal = vector_literal if self.sequence else matrix_literal
        lines = [literal("x", self.input)]
        if self.kernel is not None:
            lines.append(literal("kernel", self.kernel))
        if self.kernel is not None and self.layer.get("use_bias", True):
            lines.append(f"bias = {self.bias}")
        lines.append(f"layer = {self.layer.code()}")
        return "\n".join(lines)


#: By-hand layers whose input is a sequence (one row of values).
SEQUENCE_TASKS = ("Conv1D",)


def vector_literal(name: str, matrix: Matrix) -> str:
    """`name = [1, 0, 2]`: the one row of a matrix as a list."""
    [row] = matrix
    return f"{name} = [{', '.join(str(value) for value in row)}]"


def matrix_literal(name: str, matrix: Matrix) -> str:
    """`name = [[1, 0],\n        [0, 1]]`: a matrix as nested lists, one row per line."""
    indent = " " * (len(name) + 4)
    rows = ["[" + ", ".join(str(value) for value in row) + "]" for row in matrix]
    return f"{name} = [" + (",\n" + indent).join(rows) + "]"
