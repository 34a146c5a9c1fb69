"""The fact vocabulary: what a question asks about a model, and how to read it from Keras' facts.

A `FactRef` names one fact (`output_shape`, `params`, `total_params`, `trainable_params`,
`non_trainable_params`, `weight_shape`) and, where it applies, the `layer` (index into
`model.layers`), the `axis` of an output shape (`height`, `width`, `channels`) or the `weight`
(`kernel`, `bias`, `gamma`, `beta`, `moving_mean`, `moving_variance`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from quizgen.errors import QuestionError
from quizgen.oracle import ModelFacts

#: Facts about the whole model (no `layer`).
MODEL_FACTS = ("total_params", "trainable_params", "non_trainable_params")
#: Facts about one layer (need `layer`).
LAYER_FACTS = ("output_shape", "params", "weight_shape")
#: Facts of a by-hand task (`quizgen.spec.Task`): the output matrix of its layer.
TASK_FACTS = ("conv_output", "pool_output", "upsampling_output")

#: The key entry kinds answered by choosing options (the others are free responses).
CHOICE_KINDS = ("single_choice", "multiple_choice")

#: Axis names of an image tensor `(None, height, width, channels)` and their index.
AXES = {"height": 1, "width": 2, "channels": -1}

Answer = int | tuple[int | None, ...] | tuple[tuple[int | float, ...], ...]


@dataclass(frozen=True)
class FactRef:
    """One asked fact. `layer` indexes `model.layers` (0-based) for layer facts."""

    fact: str
    layer: int | None = None
    axis: str | None = None
    weight: str | None = None
    quantity: str | None = None

    def at(self, layer: int | None) -> FactRef:
        """The same fact about another layer (after layers were removed by a mutation)."""
        return replace(self, layer=layer)

    @property
    def free_kind(self) -> str:
        """The key `kind` of this fact asked as free response: `matrix`, `shape` or `numeric`."""
        if self.fact in TASK_FACTS:
            return "matrix"
        if self.fact == "weight_shape" or (self.fact == "output_shape" and self.axis is None):
            return "shape"
        return "numeric"


def read_fact(facts: ModelFacts, ref: FactRef) -> Answer:
    """The value of `ref` in `facts`: an int (counts, one axis) or a shape tuple (`None` for
    the batch axis of output shapes).

    Raises:
        QuestionError: the fact does not exist (unknown fact, layer out of range, no such
            weight, an axis asked of a non-image output).
    """
    if ref.fact in MODEL_FACTS:
        return int(getattr(facts, ref.fact))
    if ref.fact not in LAYER_FACTS or ref.layer is None:
        raise QuestionError(f"unknown fact {ref.fact!r} (or no layer given)")
    if not -len(facts.layers) <= ref.layer < len(facts.layers):
        raise QuestionError(f"layer {ref.layer} out of range: the model has {len(facts.layers)}")
    layer = facts.layers[ref.layer]
    if ref.fact == "params":
        return layer.params
    if ref.fact == "weight_shape":
        shape = layer.weight_shape(ref.weight or "")
        if shape is None:
            raise QuestionError(f"layer {layer.name} has no weight {ref.weight!r}")
        return shape
    if ref.axis is None:
        return layer.output_shape
    if len(layer.output_shape) != 4 or ref.axis not in AXES:
        raise QuestionError(f"axis {ref.axis!r} of {layer.name}'s output {layer.output_shape}")
    return int(layer.output_shape[AXES[ref.axis]])


def same_response(value: Any, answer: Any) -> bool:
    """Whether a student writing `value` gives `answer`, in a spelling the graders accept: the
    same value, or an output shape without its batch axis (`(13, 13, 32)` for
    `(None, 13, 13, 32)`, see `quizgen.grade.parse_shape`)."""
    if value == answer:
        return True
    return (isinstance(value, tuple) and isinstance(answer, tuple) and bool(answer)
            and answer[0] is None and value == answer[1:])


def to_json(answer: Any) -> Any:
    """JSON form of an answer: shapes and matrices become lists (batch axis `null`); a model
    (the value of a `code` choice) its `{input_shape, layers}` form."""
    if hasattr(answer, "to_json"):
        return answer.to_json()
    return [to_json(item) for item in answer] if isinstance(answer, tuple) else answer


def from_json(value: Any) -> Answer:
    """Inverse of `to_json`."""
    return tuple(from_json(item) for item in value) if isinstance(value, list) else value


def format_answer(answer: Answer) -> str:
    """How an answer is printed: `(None, 26, 26, 32)`, `(32,)`, `34,826`, and a matrix as
    `[[2, 2, 3], [1, 2, 1]]`; text (the answer to a `code` question) as it is."""
    if isinstance(answer, str):
        return answer
    if isinstance(answer, tuple) and answer and isinstance(answer[0], tuple):
        return "[" + ", ".join("[" + ", ".join(str(v) for v in row) + "]" for row in answer) + "]"
    if isinstance(answer, tuple):
        items = ["None" if size is None else str(size) for size in answer]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    return f"{answer:,}"
