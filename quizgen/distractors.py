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
from quizgen.facts import Answer, FactRef, read_fact, same_response
from quizgen.oracle import ModelFacts, Oracle
from quizgen.spec import ModelSpec

#: A mutated model and the fact to ask of it (the asked layer may have moved).
Mutated = tuple[ModelSpec, FactRef]


@dataclass(frozen=True)
class Misconception:
    """A labelled mistake, made about the `facts` it names (a student who counts a kernel as k
    weights gets parameter counts wrong, not output shapes). `mutate` rewrites the spec (then
    Keras executes it); `misread` derives the wrong answer from the correct model's facts.
    Either returns None when the mistake does not apply to the asked fact."""

    label: str
    description: str
    facts: tuple[str, ...]
    mutate: Callable[[ModelSpec, FactRef, ModelFacts], Mutated | None] | None = None
    misread: Callable[[ModelSpec, ModelFacts, FactRef], Answer | None] | None = None

    def answer(self, oracle: Oracle, spec: ModelSpec, ref: FactRef, facts: ModelFacts) -> Answer | None:
        """What this mistake gives for `ref` about `spec` (None where it does not apply)."""
        if ref.fact not in self.facts:
            return None
        if self.misread is not None:
            return self.misread(spec, facts, ref)
        mutated = self.mutate(spec, ref, facts)
        return None if mutated is None else execute(oracle, *mutated)


def execute(oracle: Oracle, spec: ModelSpec, ref: FactRef) -> Answer | None:
    """The fact as Keras computes it on a mutated spec; None if Keras cannot build it."""
    try:
        return read_fact(oracle.facts(spec), ref)
    except (ArchitectureError, QuestionError):
        return None


def pick(correct: Answer, singles: list[tuple[Callable[[], Answer | None], str]],
         compounds: Iterator[tuple[Answer | None, str]], rng: random.Random, count: int,
         what: str, avoid: frozenset = frozenset(),
         acceptable: Callable[[Answer], bool] = lambda answer: True) -> list[tuple[Answer, str]]:
    """`count` distinct wrong answers: single mistakes drawn in random order first, then
    compound mistakes only to fill up. `singles` are in priority order (the most common mistake
    first): an answer that several mistakes give carries the label of the first of them in
    that order (a compound's only when no single mistake gives it), whatever the draw. Each
    single's answer is computed (executed) only when needed, so a question executes a few of
    its misconceptions, not all of them. No answer in `avoid` is offered (the answers of the
    item's other questions: an option must not give one of them away), and only answers that
    are `acceptable`.

    Raises:
        QuestionError: fewer than `count` distinct wrong answers exist.
    """
    computed: dict[int, Answer | None] = {}

    def result(index: int) -> Answer | None:
        if index not in computed:
            computed[index] = singles[index][0]()
        return computed[index]

    found: dict[Answer, str] = {}
    drawn = ((result(i), singles[i][1]) for i in rng.sample(range(len(singles)), len(singles)))
    for answer, label in itertools.chain(drawn, compounds):
        if len(found) == count:
            break
        if (answer is not None and not same_response(answer, correct) and answer not in avoid
                and acceptable(answer)):
            found.setdefault(answer, label)
    if len(found) < count:
        raise QuestionError(f"only {len(found)} distinct misconception(s) give a wrong {what}; "
                            f"need {count}")
    return [(answer, next((label for i, (_, label) in enumerate(singles) if result(i) == answer),
                          label)) for answer, label in found.items()]


def choose(misconceptions: Sequence[Misconception], spec: ModelSpec, ref: FactRef,
           facts: ModelFacts, oracle: Oracle, rng: random.Random, count: int = 3,
           avoid: frozenset = frozenset()) -> list[tuple[Answer, str]]:
    """`count` distinct wrong answers to `ref` about `spec`, with their misconception labels:
    the misconceptions made about the asked fact (in their priority order), executed by
    `oracle` (mutations) or read from `facts` (misreadings); pairs of mutations only to fill up;
    none of the answers in `avoid`.

    Raises:
        QuestionError: fewer than `count` misconceptions give distinct wrong answers.
    """
    singles, mutations = [], []
    for misconception in misconceptions:
        if ref.fact not in misconception.facts:
            continue
        if misconception.misread is not None:
            singles.append((partial(misconception.misread, spec, facts, ref), misconception.label))
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
    return pick(read_fact(facts, ref), singles, compounds(), rng, count, what, avoid)


def compound_answer(misconceptions: Sequence[Misconception], label: str, spec: ModelSpec,
                    ref: FactRef, facts: ModelFacts, oracle: Oracle) -> Answer | None:
    """What the mistake `label` gives for `ref` about `spec`: a single misconception's answer,
    or for a compound label `a+b` both mutations applied in turn, as `choose` does (None where
    a part is unknown or does not apply)."""
    by_label = {m.label: m for m in misconceptions}
    parts = [by_label.get(part) for part in label.split("+")]
    if len(parts) == 1:
        return None if parts[0] is None else parts[0].answer(oracle, spec, ref, facts)
    mutated: Mutated | None = (spec, ref)
    for misconception in parts:
        if (mutated is None or misconception is None or misconception.mutate is None
                or ref.fact not in misconception.facts):
            return None
        mutated = misconception.mutate(mutated[0], mutated[1], facts)
    return None if mutated is None else execute(oracle, *mutated)


def check_label(label: str, value: Answer, answer_of: Callable[[str], Answer | None],
                priority: Sequence[str]) -> str | None:
    """Why the distractor `value` is not what its label's mistake gives (None when it is): the
    mistake, executed again by `answer_of`, gives something else, or a single mistake earlier
    in `priority` (the labels, most common first) gives the same value and should name it."""
    got = answer_of(label)
    if got != value:
        return f"its misconception {label!r} gives {got!r}, not {value!r}"
    earlier = priority[:priority.index(label)] if label in priority else priority
    first = next((other for other in earlier if answer_of(other) == value), None)
    if first is not None:
        return f"{first!r}, a more common mistake, gives it too: it should name {first!r}, not {label!r}"
    return None
