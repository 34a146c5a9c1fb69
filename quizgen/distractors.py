"""Distractors from executed misconceptions: the engine every family's table of mistakes runs on.

A `Misconception` is a way students get a fact wrong, made executable: either a *mutation* of
the spec (padding flipped, stride ignored, bias forgotten, ...) which the Keras oracle then
builds and executes, or a *misreading* of the facts Keras computed (the input shape given for
the output shape). The wrong answer is what Keras says about the mutated model, so every
distractor is a number a real (mistaken) computation produces. The tables of misconceptions
are the families' (`quizgen.families`); `pick` and `choose` run them.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

from quizgen.errors import ArchitectureError, QuestionError
from quizgen.facts import Answer, FactRef, read_fact
from quizgen.oracle import ModelFacts, Oracle
from quizgen.spec import ModelSpec

#: A mutated model and the fact to ask of it (the asked layer may have moved).
Mutated = tuple[ModelSpec, FactRef]


@dataclass(frozen=True)
class Misconception:
    """A labelled mistake. `mutate` rewrites the spec (then Keras executes it); `misread`
    derives the wrong answer from the correct model's facts. Either returns None when the
    mistake does not apply to the asked fact."""

    label: str
    description: str
    mutate: Callable[[ModelSpec, FactRef, ModelFacts], Mutated | None] | None = None
    misread: Callable[[ModelFacts, FactRef], Answer | None] | None = None


def execute(oracle: Oracle, spec: ModelSpec, ref: FactRef) -> Answer | None:
    """The fact as Keras computes it on a mutated spec; None if Keras cannot build it."""
    try:
        return read_fact(oracle.facts(spec), ref)
    except (ArchitectureError, QuestionError):
        return None


def pick(correct: Answer, singles: list[tuple[Callable[[], Answer | None], str]],
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


def choose(misconceptions: Sequence[Misconception], spec: ModelSpec, ref: FactRef,
           facts: ModelFacts, oracle: Oracle, rng: random.Random,
           count: int = 3) -> list[tuple[Answer, str]]:
    """`count` distinct wrong answers to `ref` about `spec`, with their misconception labels:
    the misconceptions that apply, executed by `oracle` (mutations) or read from `facts`
    (misreadings); pairs of mutations only to fill up.

    Raises:
        QuestionError: fewer than `count` misconceptions give distinct wrong answers.
    """
    singles, mutations = [], []
    for misconception in misconceptions:
        if misconception.misread is not None:
            singles.append((partial(misconception.misread, facts, ref), misconception.label))
        elif (mutated := misconception.mutate(spec, ref, facts)) is not None:
            mutations.append(misconception)
            singles.append((partial(execute, oracle, *mutated), misconception.label))

    def compounds() -> Iterator[tuple[Answer | None, str]]:
        for first, second in itertools.combinations(mutations, 2):
            once = first.mutate(spec, ref, facts)
            twice = second.mutate(once[0], once[1], facts) if once else None
            if twice is not None:
                yield execute(oracle, *twice), f"{first.label}+{second.label}"

    what = ref.fact + ("" if ref.layer is None else f" for layer {ref.layer}")
    return pick(read_fact(facts, ref), singles, compounds(), rng, count, what)
