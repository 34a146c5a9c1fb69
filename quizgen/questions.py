"""Questions: a template, a drawn subject and Keras' facts become an item of questions.

`make_item(template, seed, oracle)` draws the template's subject (a model from a sampler, a
by-hand task, or the template's fixed one), has the oracle execute it, and asks each of the
template's `asks` about it through the family that handles the ask (`quizgen.families`): the
family makes the question (answer from Keras' facts, distractors from executed
misconceptions, worked explanation) and proves it valid for its instance. A sampled subject
that cannot carry the questions (no layer of the asked kind, too few distinct distractors, an
invalid item) is redrawn from a derived seed; a fixed (classic) one is an error instead.
`cached_item` keeps what `make_item` made in the fact cache, for the next run.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from functools import cache, lru_cache, partial
from pathlib import Path
from typing import Any

from quizgen import families
from quizgen.cache import key as cache_key
from quizgen.difficulty import Band, measure
from quizgen.errors import ArchitectureError, QuestionError, QuizgenError
from quizgen.facts import FactRef, from_json, to_json
from quizgen.family import Choice, Question, Subject, selectable_layers
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


# --- items made before: the fact cache's "item" entries -------------------------------------

#: The errors of `make_item` that a made item's entry records (a template whose subjects cannot
#: carry its questions for a seed, or whose fixed model Keras cannot build): made again, they
#: would be the same.
ITEM_ERRORS = {error.__name__: error for error in (QuestionError, ArchitectureError)}


@cache
def code_digest() -> str:
    """SHA-256 of quizgen's own files (its Python modules and data, the bank aside): an item
    made by other code is made again."""
    root = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=1024)
def template_digest(template: Template) -> str:
    """SHA-256 of everything a template holds (its file's and model file's hash, and what a
    blueprint's candidate changes in it: its asks), its folder aside."""
    return hashlib.sha256(repr(replace(template, path=Path(template.path.name))).encode()).hexdigest()


def cached_item(template: Template, seed: int, oracle: Oracle, band: Band | None = None) -> Item:
    """`make_item(template, seed, oracle, band)`, or the item it made before (or the error it
    raised) for the same template (`template_digest`), seed and band with the same quizgen
    (`code_digest`) and Keras, from the oracle's fact cache (entries of kind `item`): a warm
    run neither draws nor builds anything. Its facts come from the cache too
    (`Oracle.facts`).

    Raises:
        QuestionError, ArchitectureError: as `make_item` (made now or before).
        TemplateError: as `make_item` (never cached: the bank is checked on every run).
    """
    entry_key = cache_key("item", code_digest(), template_digest(template), seed, band)
    made = oracle.cache.cached("item", entry_key, partial(_made, template, seed, oracle, band),
                               _item_json, partial(_item_from_json, template, seed, oracle))
    if isinstance(made, QuizgenError):
        raise made
    return made


def _made(template: Template, seed: int, oracle: Oracle, band: Band | None) -> Item | QuizgenError:
    """`make_item`'s item, or its error as a value to cache (a fresh one, without the
    traceback)."""
    try:
        return make_item(template, seed, oracle, band)
    except tuple(ITEM_ERRORS.values()) as error:
        return type(error)(str(error))


def _choice_json(choice: Choice) -> dict[str, Any]:
    return {"text": choice.text, "value": to_json(choice.value), "correct": choice.correct,
            "misconception": choice.misconception, "statement": choice.statement}


def _item_json(made: Item | QuizgenError) -> dict[str, Any]:
    """An item (or its error) as the JSON of an `item` entry; the template and the facts are
    not in it (the template is the run's own, the facts have entries of their own)."""
    if isinstance(made, QuizgenError):
        return {"error": str(made), "type": type(made).__name__}
    return {"spec": made.spec.to_json(),
            "task": None if made.task is None else made.task.to_json(),
            "stem": made.stem, "code": made.code,
            "questions": [{"ref": [question.ref.fact, question.ref.layer, question.ref.axis,
                                   question.ref.weight, question.ref.quantity],
                           "kind": question.kind, "text": question.text,
                           "answer": to_json(question.answer),
                           "choices": [_choice_json(choice) for choice in question.choices],
                           "explanation": question.explanation,
                           "reading": [list(pair) for pair in question.reading]}
                          for question in made.questions]}


def _value(data: Any) -> Any:
    """A choice's value from JSON: a model (an object), an answer (lists become tuples), a
    formula or a text."""
    return ModelSpec.from_json(data, "item") if isinstance(data, dict) else from_json(data)


def _choice(data: dict[str, Any]) -> Choice:
    return Choice(data["text"], _value(data["value"]), data["correct"], data["misconception"],
                  data["statement"])


def _item_from_json(template: Template, seed: int, oracle: Oracle,
                    data: dict[str, Any]) -> Item | QuizgenError:
    """The item (or error) of an `item` entry, of `template` for `seed`, its facts from
    `oracle`.

    Raises:
        KeyError, TypeError, ValueError, IndexError: the entry is not one `_item_json` writes
            (it is then made again).
    """
    if "error" in data:
        return ITEM_ERRORS[data["type"]](data["error"])
    try:
        spec = ModelSpec.from_json(data["spec"], "item")
        task = None if data["task"] is None else Task.from_json(data["task"], "item")
        questions = tuple(
            Question(FactRef(*question["ref"]), question["kind"], question["text"],
                     from_json(question["answer"]),
                     tuple(_choice(choice) for choice in question["choices"]),
                     question["explanation"], tuple(tuple(pair) for pair in question["reading"]))
            for question in data["questions"])
        facts = oracle.facts(spec)
    except QuizgenError as error:
        raise ValueError(str(error)) from error
    return Item(template, seed, spec, facts, data["stem"], data["code"], questions, task)
