"""Questions: a template, a drawn subject and Keras' facts become an item of questions.

`make_item(template, seed, oracle)` draws the template's subject (a model from a sampler, a
by-hand task, or the template's fixed one), has the oracle execute it, and asks each of the
template's `asks` about it through the family that handles the ask (`quizgen.families`): the
family makes the question (answer from Keras' facts, distractors from executed
misconceptions, worked explanation) and proves it valid for its instance. A sampled subject
that cannot carry the questions (no layer of the asked kind, too few distinct distractors, an
invalid item) is redrawn from a derived seed; a fixed (classic) one is an error instead.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from quizgen import families
from quizgen.difficulty import Band, measure
from quizgen.errors import ArchitectureError, QuestionError
from quizgen.facts import FactRef
from quizgen.family import Question, Subject, selectable_layers
from quizgen.oracle import ModelFacts, Oracle
from quizgen.sample import sample
from quizgen.spec import ModelSpec, Task
from quizgen.template import Template, render_text

#: How many times a sampled template is redrawn before giving up.
MAX_DRAWS = 25
#: How many times the layers a fixed model's asks pick are redrawn before giving up, at least
#: (and 4 per layer of a larger model, so that each layer an ask may pick is likely tried): a
#: draw costs little (the model's facts are computed once), and few may fit (of a summary
#: table's blanks, those whose value no other cell prints: a mirrored autoencoder repeats
#: most; of a DenseNet's 120 Conv2D layers, the few whose output-size formulas differ).
FIXED_DRAWS = 100
#: How many draws may be tried for one whose difficulty features lie in a slot's band.
BAND_DRAWS = 200


def derive_seed(*parts: Any) -> int:
    """A child seed from a parent seed and labels (the exam → variant → question hierarchy);
    stable across runs and platforms (SHA-256, not Python's salted `hash`)."""
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).hexdigest()
    return int(digest[:15], 16)


@dataclass(frozen=True)
class Item:
    """One template instance: a model (or a by-hand `task` and its one-layer model), its code,
    and the questions asked about it."""

    template: Template
    seed: int
    spec: ModelSpec
    facts: ModelFacts
    stem: str
    code: str
    questions: tuple[Question, ...]
    task: Task | None = None


def make_question(template: Template, index: int, spec: ModelSpec, facts: ModelFacts,
                  oracle: Oracle, rng: random.Random, task: Task | None = None,
                  avoid: frozenset = frozenset()) -> Question:
    """Ask `template.asks[index]` about a built model (or its by-hand `task`), through the
    family that handles the ask, and prove the question valid; no distractor is in `avoid`.
    The correct choice comes first; the assembler moves it to its final position.

    Raises:
        QuestionError: the ask does not apply to this model (no matching layer, no such weight,
            too few distinct distractors), or the question is not a valid item (its proof
            found a problem).
        TemplateError: the ask's text uses an undefined variable.
    """
    family = families.for_ask(template, template.asks[index])
    subject = Subject(template, index, spec, facts, task, oracle, avoid=avoid)
    question = family.make(subject, rng)
    problems = family.prove(subject, question)
    if problems:
        raise QuestionError(f"asks[{index}] is not a valid item: {'; '.join(problems)}")
    return question


#: How many times an item's questions are made again to take a giveaway away.
GIVEAWAY_ROUNDS = 4


def _value_answers(questions: list[Question] | tuple[Question, ...], ref: FactRef) -> set:
    """The answers that are values (not option numbers or texts) of the questions that ask
    another fact than `ref`."""
    return {q.answer for q in questions if q.ref != ref and q.kind != "multiple_choice"
            and not isinstance(q.answer, str)}


def _giveaways(questions: tuple[Question, ...]) -> bool:
    """Whether some question offers, as a distractor, the answer of another question of the
    item (a student who answered one could rule it out of the other)."""
    return any(choice.value in _value_answers(questions, question.ref)
               for question in questions for choice in question.choices if not choice.correct)


def _without_giveaways(template: Template, spec: ModelSpec, facts: ModelFacts, oracle: Oracle,
                       task: Task | None, questions: tuple[Question, ...], seed: int,
                       ) -> tuple[Question, ...]:
    """The item's questions made again (with seeds of their own), each avoiding as distractors
    the answers of the others (those made before it, and those of the round before: a question
    that picks its layer at random may ask another one), until none gives another away.

    Raises:
        QuestionError: too few distractors are left for a question, or a giveaway remains
            after `GIVEAWAY_ROUNDS` rounds.
    """
    for attempt in range(GIVEAWAY_ROUNDS):
        rng = random.Random(derive_seed(seed, "no giveaways", attempt))
        made: list[Question] = []
        for index in range(len(questions)):
            ref = questions[index].ref
            avoid = frozenset(_value_answers(made, ref) | _value_answers(questions, ref))
            made.append(make_question(template, index, spec, facts, oracle, rng, task, avoid))
        questions = tuple(made)
        if not _giveaways(questions):
            return questions
    raise QuestionError("an option of one question is the answer of another")


def draw(template: Template, rng: random.Random) -> ModelSpec | Task:
    """The subject of one instance of `template`: its fixed one, or one its sampler draws
    from `rng` (pure Python: no Keras)."""
    if template.fixed is not None:
        return template.fixed
    return sample(template.sampler or "", rng, template.options, families.SAMPLERS)


def _draw(template: Template, seed: int, band: Band | None) -> tuple[ModelSpec | Task, random.Random]:
    """The subject drawn from `seed`, or with a `band`, the first of the draws from `seed` and
    seeds derived from it (at most `BAND_DRAWS`) whose difficulty features it admits.

    Raises:
        QuestionError: no draw lies within the band.
    """
    for attempt in range(1 if band is None or template.fixed is not None else BAND_DRAWS):
        rng = random.Random(seed if attempt == 0 else derive_seed(seed, "band", attempt))
        subject = draw(template, rng)
        if band is None or band.admits(subject, measure(subject, template.features)):
            return subject, rng
    raise QuestionError(f"{template.path.name}: no draw lies within the slot's difficulty band "
                        f"({band.text()})")


def _code(template: Template, spec: ModelSpec, task: Task | None) -> str:
    if template.source is not None:
        return template.source
    if task is not None:
        return task.code()
    if template.code_style in families.CODE_STYLES:
        return families.CODE_STYLES[template.code_style](spec)
    return spec.code(template.code_style)


def _draws(template: Template) -> int:
    """How many draws `make_item` tries: `MAX_DRAWS` of a sampled subject, `FIXED_DRAWS` (or
    4 per layer of a larger model) of a fixed model's random layer picks, one where nothing
    is drawn at random (a fixed task, asks about given layers: a blueprint's candidate)."""
    if template.fixed is None:
        return MAX_DRAWS
    if not isinstance(template.fixed, ModelSpec) or not any(ask.picks_at_random for ask in template.asks):
        return 1
    return max(FIXED_DRAWS, 4 * len(template.fixed.layers))


def make_item(template: Template, seed: int, oracle: Oracle, band: Band | None = None) -> Item:
    """One instance of `template` from `seed`: model, code and every ask's question; with a
    `band`, of a subject whose difficulty features (`template.features`) the band admits.

    Raises:
        QuestionError: no draw (of a sampled model, or of the layers a fixed model's asks
            pick) could carry the questions in `MAX_DRAWS` (`FIXED_DRAWS`) tries, or no draw
            lies within the band; the message names the template file.
        ArchitectureError: Keras cannot build the template's fixed model.
        TemplateError: the template's texts or sampler options are wrong.
    """
    last_error: Exception | None = None
    draws = _draws(template)
    for attempt in range(draws):
        subject, rng = _draw(template, seed if attempt == 0 else
                             derive_seed(seed, "redraw", attempt), band)
        task = subject if isinstance(subject, Task) else None
        spec = subject.spec if isinstance(subject, Task) else subject
        try:
            for ask in template.asks:  # a draw without a layer an ask is about: no Keras build
                selectable_layers(ask, spec)
            facts = oracle.facts(spec)
            questions = tuple(make_question(template, i, spec, facts, oracle, rng, task)
                              for i in range(len(template.asks)))
            if _giveaways(questions):
                questions = _without_giveaways(template, spec, facts, oracle, task, questions, seed)
            variables = families.stem_variables(Subject(template, 0, spec, facts, task, oracle),
                                                questions)
        except (QuestionError, ArchitectureError) as error:
            last_error = error
            if isinstance(error, ArchitectureError) and template.fixed is not None:
                break
            continue
        stem = render_text(template.stem, variables, f"{template.path.name}: stem")
        code = _code(template, spec, task)
        if template.code_style in families.CODE_STYLES:
            stem, code = f"{stem}\n\n{code}", ""
        return Item(template, seed, spec, facts, stem, code, questions, task)
    kind = "its fixed model" if template.fixed is not None else f"{MAX_DRAWS} sampled models"
    error_type = ArchitectureError if isinstance(last_error, ArchitectureError) else QuestionError
    redrawn = template.fixed is not None and draws > 1 and error_type is QuestionError
    tries = f" in {draws} draws" if redrawn else ""
    raise error_type(f"{template.path.name}: {kind} cannot carry its questions{tries}: {last_error}")
