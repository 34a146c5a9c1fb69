"""Difficulty features: what makes one instance of a template harder than another, and bands.

A template's instances differ in what a student has to work through: a 10-layer model takes
longer to trace than a 4-layer one, a stride other than the usual one or `same` padding adds a
step, a 5×5 output takes longer to fill in by hand than a 2×2. Each such *feature* is a count
measured on the drawn subject (`FEATURES`); a template declares the ones that make its
questions harder (`features:`, by default `DEFAULT_FEATURES` of its kind of subject).

An exam blueprint's slot keeps its variants comparable by drawing only subjects whose features
lie in a `Band`: the one the blueprint gives (`band:`), else the middle half of what the slot's
pool draws (`default_band`: each feature between its lower and upper quartile over
`BAND_SAMPLE` draws of each template). `quizgen stress --exam` prints each slot's spread.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from quizgen.formulas import pair, task_closed_form, task_window
from quizgen.spec import POOLING, LayerSpec, ModelSpec, Task

#: A drawn subject: a model, or a by-hand task.
Subject = ModelSpec | Task


def _layers(subject: Subject) -> tuple[LayerSpec, ...]:
    return (subject.layer,) if isinstance(subject, Task) else subject.layers


def _unusual_stride(layer: LayerSpec) -> bool:
    """Whether a layer's `strides` differ from Keras' default (1 for a convolution, the
    `pool_size` for a pooling layer)."""
    strides = layer.get("strides")
    if strides is None or not isinstance(strides, int | tuple | list):
        return False
    usual = pair(layer.get("pool_size"), 2) if layer.class_name in POOLING else (1, 1)
    return pair(strides, usual) != usual


def _window_cells(subject: Subject) -> int:
    (rows, columns), _, _, _ = task_window(_layers(subject)[0])
    return rows * columns


@dataclass(frozen=True)
class Feature:
    """A difficulty feature: what it counts (`description`), of which subjects (`of`: "model"
    or "task"), and how (`measure`)."""

    description: str
    of: tuple[str, ...]
    measure: Callable[[Subject], int]


#: Every difficulty feature, by the name a template's `features:` and a slot's `band:` use.
FEATURES: Mapping[str, Feature] = {
    "layers": Feature("layers of the model to trace (a by-hand task has one)", ("model",),
                      lambda subject: len(_layers(subject))),
    "strides": Feature("layers whose `strides` differ from Keras' default", ("model", "task"),
                       lambda subject: sum(map(_unusual_stride, _layers(subject)))),
    "padding": Feature('layers with `padding="same"`', ("model", "task"),
                       lambda subject: sum(layer.get("padding") == "same"
                                           for layer in _layers(subject))),
    "outputs": Feature("cells of a by-hand task's output matrix", ("task",),
                       lambda subject: sum(map(len, task_closed_form(subject)))),
    "window": Feature("cells of a by-hand task's kernel or pooling window", ("task",),
                      _window_cells),
}

#: The features a template declares when its file does not say, by kind of subject.
DEFAULT_FEATURES = {"model": ("layers", "strides", "padding"),
                    "task": ("outputs", "window", "strides", "padding")}

#: Draws of each template of a slot's pool that its default band is taken from.
BAND_SAMPLE = 64


def kind_of(subject: Subject) -> str:
    """`"task"` for a by-hand task, `"model"` for a model."""
    return "task" if isinstance(subject, Task) else "model"


def measure(subject: Subject, names: Iterable[str]) -> dict[str, int]:
    """The features `names` of a subject that has them (`Feature.of`), by name."""
    return {name: FEATURES[name].measure(subject) for name in names
            if kind_of(subject) in FEATURES[name].of}


@dataclass(frozen=True)
class Band:
    """Inclusive bounds `(kind, feature, low, high)` that a slot's subjects keep to: for the
    subjects of one kind (`"model"`, `"task"`; None: of any kind); a feature a template does
    not declare is not bounded for it."""

    bounds: tuple[tuple[str | None, str, int, int], ...]

    def admits(self, subject: Subject, features: Mapping[str, int]) -> bool:
        """Whether every bounded feature of `features` (measured on `subject`) lies within its
        bounds."""
        return all(low <= features[name] <= high for kind, name, low, high in self.bounds
                   if name in features and kind in (None, kind_of(subject)))

    def text(self) -> str:
        """`layers 4–6, outputs 4–9` (empty without bounds); a bound of one kind of subject
        says which (`task outputs 4–9`)."""
        return ", ".join(f"{kind + ' ' if kind else ''}{name} {low}" + ("" if low == high else f"–{high}")
                         for kind, name, low, high in self.bounds)


def quartiles(values: list[int]) -> tuple[int, int]:
    """The lower and upper quartile of `values` (nearest rank), the band's default bounds."""
    ordered = sorted(values)
    return ordered[len(ordered) // 4], ordered[(3 * len(ordered)) // 4]


def default_band(samples: Iterable[tuple[Subject, tuple[str, ...]]]) -> Band:
    """The middle half of each feature over `samples` (the draws of a slot's pool, with their
    templates' features), for each kind of subject apart: from its lower to its upper
    quartile."""
    values: dict[tuple[str, str], list[int]] = {}
    for subject, names in samples:
        for name, value in measure(subject, names).items():
            values.setdefault((kind_of(subject), name), []).append(value)
    return Band(tuple((kind, name, *quartiles(values[kind, name])) for kind, name in sorted(values)))


def sample_rng(template_id: str, draw: int) -> random.Random:
    """The random source of draw `draw` of a template when its default band is measured
    (fixed, so a blueprint's bands are the same on every run)."""
    return random.Random(f"band:{template_id}:{draw}")
