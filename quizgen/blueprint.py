"""Exam blueprints: an exam as an ordered list of slots, the same in every variant.

A blueprint file (`exam.yaml`, validated against `schemas/exam.schema.json`; see the README for
an example) gives the exam's `title`, `course`, `date`, `duration` and `instructions`, and its
`slots`. Each slot names a pool of templates (`templates`, `tags`, `topics`, `difficulty`), the
response form of its question (`single_choice`, `multiple_choice` or `free`), its points and
its difficulty band (`quizgen.difficulty`: by default the middle half of what its pool draws).
`quizgen.assemble` fills every slot of every variant, in order, with one question of that form
drawn from the pool, never asking in one variant a fact it already asks: every variant is a
parallel form of the others (same topics, forms and points at the same positions; only the
architectures and numbers differ).

A blueprint file is untrusted like a template (bounded size and YAML, `yaml.safe_load` through
`quizgen.bank.read_yaml_file`); every error names the file and the slot.
"""

from __future__ import annotations

import datetime
import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from quizgen import families
from quizgen.bank import check_schema, read_yaml_file, strict_validator
from quizgen.difficulty import BAND_SAMPLE, Band, default_band, sample_rng
from quizgen.errors import QuestionError, QuizgenError, TemplateError
from quizgen.family import selectable_layers
from quizgen.questions import draw
from quizgen.resources import data_dir
from quizgen.spec import ModelSpec
from quizgen.template import Ask, Template

#: The response forms a slot can ask for.
FORMS = ("single_choice", "multiple_choice", "free")

#: The points of a question of an implicit blueprint (the CLI's options make one).
DEFAULT_POINTS = 1

#: Candidates `assign` accepts at most, over all its backtracking, before giving up.
SEARCH_STEPS = 2000

#: The most layers of a fixed model whose asks are a candidate per layer (`_each_layer`);
#: a larger model's ask is one candidate that picks its layer at random (a DenseNet's 120
#: Conv2D layers as candidates made hundreds of items that failed: 145 s for 2 variants).
EACH_LAYER = 30

T = TypeVar("T")


@dataclass(frozen=True)
class Candidate:
    """One way to fill a slot: a template with only the ask that the slot's question asks (in
    the slot's response form), or all the asks of a template whose asks are made together (a
    summary table's blanks), and the identities of the facts it asks (`fact_ids`), which no
    other question of the variant may ask. On a fixed model, also the `layers` its questions
    may ask about and those its stem prints the facts of (`covers`: a summary table's rows),
    each as `(model, index)`: no question about a covered layer goes beside it (the table
    gives away its output shape and parameters, and what follows from them: a kernel's
    shape, the numbers a formula must give)."""

    template: Template
    facts: frozenset[tuple]
    layers: frozenset[tuple] = frozenset()
    covers: frozenset[tuple] = frozenset()

    def clashes(self, other: Candidate) -> bool:
        """Whether the two cannot be questions of one variant."""
        return bool(self.facts & other.facts or self.layers & other.covers
                    or self.covers & other.layers)


@dataclass(frozen=True)
class Slot:
    """One position of every variant: its `name` (in the key), the `candidates` of its pool
    that can ask a question of its `response` form, its `points`, and the difficulty `band`
    its subjects keep to (None: any)."""

    name: str
    response: str
    points: float
    candidates: tuple[Candidate, ...]
    band: Band | None = None

    @property
    def questions(self) -> int:
        """The questions of the slot's item: one, or all the asks of a template asked together
        (each worth the slot's points)."""
        return len(self.candidates[0].template.asks)


@dataclass(frozen=True)
class Blueprint:
    """A validated blueprint: what the exam documents print and its slots in order."""

    title: str
    slots: tuple[Slot, ...]
    course: str | None = None
    date: str | None = None
    duration: str | None = None
    instructions: str | None = None

    @property
    def total_points(self) -> float:
        """The points of one variant (every variant has the same)."""
        return sum(slot.points * slot.questions for slot in self.slots)


@cache
def _validator():
    return strict_validator()(json.loads((data_dir("schemas") / "exam.schema.json").read_text()))


class Unfilled(QuizgenError):
    """No choice of candidates fills every slot: `slot` (an index into `assign`'s list) is
    the one that could not be filled, `reason` says why."""

    def __init__(self, slot: int, reason: str) -> None:
        super().__init__(reason)
        self.slot, self.reason = slot, reason


def assign(slots: Sequence[Sequence[Candidate]], make: Callable[[int, Candidate], T],
           order: Callable[[int, list[Candidate]], list[Candidate]] = lambda _, free: free,
           steps: int = SEARCH_STEPS) -> list[T]:
    """One made candidate per slot, no two clashing (`Candidate.clashes`: a fact in common).
    Slot `i` tries its candidates that clash with no earlier slot's choice, in the order `order(i, those)`
    gives, and takes the first that `make(i, candidate)` accepts (it raises `QuizgenError`
    to refuse). When a later slot has no candidate left, the search goes back to try an
    earlier slot's next candidate (depth first), so the result is the greedy one whenever
    that succeeds. `make` should remember what it made: the search may ask again.

    Raises:
        Unfilled: a slot none of whose candidates `make` accepts (whatever the other slots
            take), or no choice fills every slot within `steps` accepted candidates.
    """
    chosen: list[T] = []
    taken: list[Candidate] = []
    left = [steps]
    deepest = [Unfilled(0, "every template of its pool asks a fact that another slot of the "
                           "variant asks; widen the pool")]

    def fill(index: int) -> bool:
        if index == len(slots):
            return True
        free = [candidate for candidate in slots[index]
                if not any(candidate.clashes(other) for other in taken)]
        errors = []
        for candidate in order(index, free):
            try:
                made = make(index, candidate)
            except QuizgenError as error:
                errors.append(str(error))
                continue
            left[0] -= 1
            if left[0] < 0:
                return False
            taken.append(candidate)
            chosen.append(made)
            if fill(index + 1):
                return True
            chosen.pop()
            taken.pop()
        if len(errors) == len(slots[index]):
            raise Unfilled(index, f"no template of its pool made a question: {errors[0]}")
        if len(free) < len(slots[index]) and index >= deepest[0].slot:
            deepest[0] = Unfilled(index, deepest[0].reason)
        return False

    if not fill(0):
        raise deepest[0]
    return chosen


def fact_id(ask: Ask) -> tuple:
    """What makes two asks ask the same fact, whatever the model: the fact, its layer selector
    (an index or a class filter), axis, weight and quantity (two output shapes of Conv2D layers
    are one fact; the output shape of a Conv2D and of a Flatten are two)."""
    return (ask.fact, ask.layer, ask.axis, ask.weight, ask.quantity)


def _picks(template: Template, ask: Ask) -> tuple[int | None, ...]:
    """The layers an ask of a fixed model may pick (`quizgen.family.selectable_layers`; the
    selector itself where none matches: the ask fails, naming its template, when its item is
    made)."""
    try:
        return selectable_layers(ask, template.fixed)
    except QuestionError:
        return (ask.layer,)


#: On one model, any two of these give the third (total = trainable + non-trainable).
TOTALS = ("total_params", "trainable_params", "non_trainable_params")

#: What an ask about a layer of a fixed model gives away beside its own fact, by (fact,
#: quantity): a kernel's shape its parameter count (with the bias), a formula the number it
#: computes.
GIVES_AWAY = {("weight_shape", None): "params", ("formula", "params"): "params",
              ("formula", "output_size"): "output_shape"}


def fact_ids(template: Template, ask: Ask) -> frozenset[tuple]:
    """What an ask of `template` asks, which no other question of a variant may ask: on a
    sampled model or a task, its `fact_id`; on a fixed model, the fact of each layer the ask
    may pick there, keyed by the model (two templates about one model, an instructor's file,
    asking the output shape of one layer ask one fact; about two models, two), and what it
    gives away there (`GIVES_AWAY`); the parameter totals of a fixed model are one fact
    (`TOTALS`), which also claims every layer's parameters (the other questions' counts add
    up to it, and its wrong options would be their answers). Statements and formulas are one
    fact whatever the model (and layer): they are general knowledge (a kernel and a pool size
    need not match; one rule gives every valid convolution's output size), so two such
    questions, about any models, could answer each other."""
    spec = template.fixed
    if not isinstance(spec, ModelSpec) or ask.fact == "statements":
        return frozenset({fact_id(ask)})
    if ask.fact in TOTALS:
        return frozenset({(spec, TOTALS[0], None, None, None, None)}
                         | {(spec, "params", layer, None, None, None) for layer in range(len(spec.layers))})
    layers = _picks(template, ask)
    given = GIVES_AWAY.get((ask.fact, ask.quantity))
    asked = {(ask.fact, None, None, None, ask.quantity)} if ask.fact == "formula" else {
        (spec, ask.fact, layer, ask.axis, ask.weight, ask.quantity) for layer in layers}
    return frozenset(asked | {(spec, given, layer, None, None, None) for layer in layers if given})


def candidate(template: Template, asks: tuple[Ask, ...]) -> Candidate:
    """The candidate that asks `asks` (of `template`, or in another response form): their
    facts, and on a fixed model the layers they may ask about and, for a stem that prints
    facts of every layer (`quizgen.families.shown`), every layer as covered."""
    spec = template.fixed
    facts = frozenset().union(*(fact_ids(template, ask) for ask in asks))
    if not isinstance(spec, ModelSpec):
        return Candidate(replace(template, asks=asks), facts)
    layers = frozenset((spec, layer) for ask in asks for layer in _picks(template, ask)
                       if isinstance(layer, int))
    covers = frozenset((spec, layer) for layer in range(len(spec.layers))) \
        if families.shown(template) else frozenset()
    return Candidate(replace(template, asks=asks), facts, layers, covers)


def _pool(data: dict[str, Any], templates: list[Template], where: str) -> list[Template]:
    """The templates of a slot's `pool` (see the schema's description of `pool`).

    Raises:
        TemplateError: an unknown template id, or a pool no template matches.
    """
    ids, tags = data.get("templates"), data.get("tags", [])
    by_id = {template.id: template for template in templates}
    unknown = [template_id for template_id in ids or () if template_id not in by_id]
    if unknown:
        raise TemplateError(f"{where}.templates: unknown template(s): {', '.join(unknown)}")
    chosen = [by_id[template_id] for template_id in ids] if ids else [
        template for template in templates if "classic" not in template.tags or "classic" in tags]
    chosen = [template for template in chosen
              if all(tag in template.tags for tag in tags)
              and template.topic in data.get("topics", [template.topic])
              and template.difficulty in data.get("difficulty", [template.difficulty])]
    if not chosen:
        raise TemplateError(f"{where}: no template of the bank matches this pool")
    return chosen


def _each_layer(template: Template, ask: Ask) -> tuple[Ask, ...]:
    """`ask` once per layer it may pick on a fixed model of at most `EACH_LAYER` layers (its
    class filter made an index: each layer is a candidate of its own, so that the questions
    of a variant about one model ask about layers whose facts do not clash), else `ask`."""
    if not isinstance(template.fixed, ModelSpec) or not isinstance(ask.layer, tuple) \
            or len(template.fixed.layers) > EACH_LAYER:
        return (ask,)
    return tuple(replace(ask, layer=layer) for layer in _picks(template, ask)
                 if isinstance(layer, int)) or (ask,)


def _candidates(pool: list[Template], form: str, facts: list[str] | None,
                weights: list[str] | None = None) -> tuple[Candidate, ...]:
    """Every (template, ask) of the pool that asks one of `facts` (any if None), about one
    of `weights` if it asks about a weight (any if None), and can be asked in `form`, as a
    one-ask template (on a fixed model, one per layer it may pick: `_each_layer`); not the
    asks of a template whose asks are made together (`quizgen.families.asks_together`: a
    summary table with one blank shows the cells that give it away)."""
    return tuple(
        candidate(template, (one,))
        for template in pool if not families.asks_together(template) for ask in template.asks
        if (facts is None or ask.fact in facts)
        and (weights is None or ask.weight is None or ask.weight in weights)
        and form in families.forms(template, ask)
        for one in _each_layer(template, families.in_form(template, ask, form)))


def _slot(index: int, data: dict[str, Any], templates: list[Template], name: str) -> Slot:
    """Slot number `index` (0-based) of the file `name`.

    Raises:
        TemplateError: its pool is empty or cannot fill its response form.
    """
    where = f"{name}: slots[{index}]" + (f" ({data['name']})" if "name" in data else "")
    pool = data["pool"]
    candidates = _candidates(_pool(pool, templates, f"{where}.pool"), data["response"],
                             pool.get("facts"), pool.get("weights"))
    if not candidates:
        facts = f" about {', '.join(pool['facts'])}" if "facts" in pool else ""
        raise TemplateError(f"{where}.response: no template of its pool can ask a "
                            f"{data['response'].replace('_', ' ')} question{facts}")
    return Slot(data.get("name", str(index + 1)), data["response"], data["points"], candidates,
                _band(data.get("band"), candidates, f"{where}.band"))


def _band(bounds: dict[str, list[int]] | None, candidates: tuple[Candidate, ...],
          where: str) -> Band | None:
    """A slot's difficulty band: the `bounds` its file gives (`{}`: none), else the middle half
    of what its pool's templates draw (`quizgen.difficulty.default_band`); none by default for
    a pool of fixed subjects only (instructors' models: none can be redrawn into a band).

    Raises:
        TemplateError: a feature's low bound is above its high one.
    """
    if bounds is not None:
        for name, (low, high) in bounds.items():
            if low > high:
                raise TemplateError(f"{where}.{name}: its low bound {low} is above its high "
                                    f"bound {high}")
        return Band(tuple((None, name, low, high) for name, (low, high) in sorted(bounds.items()))) \
            if bounds else None
    templates = {candidate.template.id: candidate.template for candidate in candidates}
    if all(template.fixed is not None for template in templates.values()):
        return None
    return default_band((subject, template.features) for template in templates.values()
                        for subject in _draws(template))


#: The draws of each template (by id and content) its default bands are measured on.
_DRAWS: dict[tuple[str, str], tuple] = {}


def _draws(template: Template) -> tuple:
    """The subjects a template's default band is measured on: `BAND_SAMPLE` draws from fixed
    seeds (one for a fixed subject), made once per template whatever asks a slot keeps."""
    key = (template.id, template.content_hash)
    if key not in _DRAWS:
        _DRAWS[key] = tuple(draw(template, sample_rng(template.id, number))
                            for number in range(1 if template.fixed is not None else BAND_SAMPLE))
    return _DRAWS[key]


def load_blueprint(path: Path, templates: list[Template]) -> Blueprint:
    """Load and validate the blueprint file `path`, its pools drawn from `templates` (a
    loaded bank).

    Raises:
        TemplateError: the file is unreadable, too large or invalid YAML; a schema violation
            (unknown field, points ≤ 0, an unknown response form…); an unknown template, an
            empty pool, a pool that cannot fill its response form, or two slots of one name.
            The message names the file and the slot.
    """
    path = Path(path)
    _, data = read_yaml_file(path)
    if isinstance(data, dict) and isinstance(data.get("date"), datetime.date):
        data["date"] = data["date"].isoformat()  # YAML reads an unquoted 2027-01-15 as a date
    check_schema(path.name, data, _validator())
    slots = tuple(_slot(index, slot, templates, path.name) for index, slot in enumerate(data["slots"]))
    names = [slot.name for slot in slots]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise TemplateError(f"{path.name}: slots: two slots are named {repeated[0]!r}")
    return Blueprint(data["title"], slots, data.get("course"), data.get("date"),
                     data.get("duration"), data.get("instructions"))


def _groups(templates: list[Template]) -> dict[str, list[Template]]:
    """The templates by topic; a template whose asks are made together is a group of its own
    (named by its id), since its slot holds all its questions."""
    groups: dict[str, list[Template]] = {}
    for template in templates:
        groups.setdefault(template.id if families.asks_together(template) else template.topic,
                          []).append(template)
    return groups


def _group_size(group: list[Template]) -> int:
    """The questions of one slot of a group: all the asks of a template asked together, else
    one."""
    return len(group[0].asks) if families.asks_together(group[0]) else 1


def _room(group: list[Template]) -> int:
    """How many slots a group can fill in one variant: one for a template asked together, else
    as many as it has distinct facts to ask."""
    if families.asks_together(group[0]):
        return 1
    return len({fact_ids(template, ask) for template in group for ask in template.asks})


def capacity(templates: list[Template]) -> int:
    """The most questions an implicit blueprint of `templates` can ask without asking a fact
    twice in a variant."""
    return _capacity(_groups(templates))


def _capacity(groups: dict[str, list[Template]]) -> int:
    """The most questions the groups' slots can ask (`capacity`)."""
    return sum(_room(group) * _group_size(group) for group in groups.values())


def _fillable(groups: dict[str, list[Template]], seats: dict[str, int]) -> bool:
    """Whether every seat can ask facts of its group that no other seat asks: a seat of a
    template asked together asks all its facts, any other seat one of its group's (whatever
    the response form drawn for it: `assign` on the facts alone). Groups share facts (the
    total parameter count of a summary table's blanks and of a parameters question)."""
    slots = []
    for name, count in seats.items():
        group = groups[name]
        if families.asks_together(group[0]):
            options = [candidate(group[0], group[0].asks)]
        else:
            made = (candidate(template, (one,)) for template in group for ask in template.asks
                    for one in _each_layer(template, ask))
            options = list({(option.facts, option.layers, option.covers): option
                            for option in made}.values())
        slots += [options] * count
    return _disjoint(slots)


def _seats(groups: dict[str, list[Template]], questions: int | None,
           rng: random.Random) -> list[str]:
    """The group of each slot: `questions` questions (None: as many as can be) shared among
    the groups in proportion to their numbers of templates (Sainte-Laguë: each next slot to
    the group with the highest templates / (2 · slots + 1), ties in an order drawn from `rng`;
    `_next_seat`), none above its quota while another can take the slot, nor above its
    `_room`, nor past the total, and only while every slot can ask a fact no other asks
    (`_fillable`); the slots in an order drawn from `rng`. As many as can be: in half the
    exams (as `rng` draws) the groups asked together are seated first (`_tables_first`: a
    summary table crowds out the questions about the layers it prints, which otherwise,
    more numerous, crowd it out).

    Raises:
        TemplateError: the groups cannot fill `questions` questions.
    """
    order = sorted(groups)
    rng.shuffle(order)
    seats = dict.fromkeys(order, 0)
    templates = sum(len(group) for group in groups.values())
    target = _capacity(groups) if questions is None else questions
    quota = {name: math.ceil(target * len(groups[name]) / templates) for name in order}
    count = _tables_first(groups, seats, order) if questions is None and rng.random() < 0.5 else 0
    while count < target:
        name = _next_seat(groups, seats, order, quota, target - count)
        if name is None and questions is None:
            break
        if name is None:
            raise TemplateError(f"--questions {questions}: the chosen templates can ask only "
                                f"{count} questions without asking a fact twice in a variant; "
                                "ask fewer or choose more templates")
        count += _group_size(groups[name])
    slots = [name for name in order for _ in range(seats[name])]
    rng.shuffle(slots)
    return slots


def _tables_first(groups: dict[str, list[Template]], seats: dict[str, int], order: list[str]) -> int:
    """Seat each group asked together (a summary table), in `order`, that fits beside those
    seated before it (`_fillable`); the number of questions seated."""
    count = 0
    for name in order:
        if families.asks_together(groups[name][0]):
            seats[name] += 1
            if _fillable(groups, seats):
                count += _group_size(groups[name])
            else:
                seats[name] -= 1
    return count


def _next_seat(groups: dict[str, list[Template]], seats: dict[str, int], order: list[str],
               quota: dict[str, int], left: int) -> str | None:
    """The group that takes the next slot (its seat counted in `seats`), by Sainte-Laguë among
    the groups with room for it (`_room`, `left` questions, `_fillable`): first among those
    below their quota (⌈questions · templates of the group / templates⌉, which a divisor
    method alone may pass), else among all; None when no group can take it."""
    for within_quota in (True, False):
        open_groups = [name for name in order if seats[name] < _room(groups[name])
                       and _group_size(groups[name]) <= left
                       and (not within_quota or seats[name] < quota[name])]
        while open_groups:
            name = max(open_groups, key=lambda name: len(groups[name]) / (2 * seats[name] + 1))
            seats[name] += 1
            if _fillable(groups, seats):
                return name
            seats[name] -= 1
            open_groups.remove(name)
    return None


def _group_slot(name: str, group: list[Template], rng: random.Random,
                fits: Callable[[Slot], bool]) -> Slot:
    """A slot of an implicit blueprint that a group of templates fills, its response forms
    drawn once for the exam: one question of a form drawn from those the group's asks offer
    (each as likely as the asks offering it; if the slot would not `fit` beside the slots
    before it, the first other form with which it does), or all the questions of a template
    whose asks are made together, each in a form drawn for it."""
    if families.asks_together(group[0]):
        template = group[0]
        asks = tuple(families.in_form(template, ask, rng.choice(families.forms(template, ask)))
                     for ask in template.asks)
        candidates = (candidate(template, asks),)
        return Slot(name, "free", DEFAULT_POINTS, candidates, _band(None, candidates, name))
    forms = sorted(form for template in group for ask in template.asks
                   for form in families.forms(template, ask))
    drawn = rng.choice(forms)
    slots = [Slot(name, form, DEFAULT_POINTS, candidates, None)
             for form in [drawn, *sorted(set(forms) - {drawn})]
             for candidates in [_candidates(group, form, None)]]
    slot = next((slot for slot in slots if fits(slot)), slots[0])
    return replace(slot, band=_band(None, slot.candidates, name))


def _disjoint(slots: list[Sequence[Candidate]]) -> bool:
    """Whether one candidate of each slot can be chosen, no two clashing (`assign` on the
    facts alone, most constrained slot first)."""
    try:
        assign(sorted(slots, key=len), lambda _, chosen: chosen)
    except Unfilled:
        return False
    return True


def implicit_blueprint(templates: list[Template], questions: int | None, seed: int,
                       title: str) -> Blueprint:
    """The blueprint that the CLI's selection options make (`quizgen generate` without
    `--exam`): `questions` questions (None: as many as can be asked; the questions about
    instructors' own models) of `templates` in slots that are the same in every
    variant of the exam with this `seed`. Each topic (and each template whose asks are made
    together) has slots in proportion to its number of templates (`_seats`), never more than
    it has facts to ask; each slot's response form is drawn once; the difficulty bands are
    the pools' defaults; every question has `DEFAULT_POINTS`. Slots of one group are named
    `topic`, `topic-2`, ….

    Raises:
        TemplateError: the templates cannot ask `questions` questions without asking a fact
            twice in a variant.
    """
    rng = random.Random(f"implicit blueprint:{seed}")
    groups = _groups(templates)
    slots, named = [], dict.fromkeys(groups, 0)
    for name in _seats(groups, questions, rng):
        named[name] += 1
        slots.append(_group_slot(
            f"{name}-{named[name]}" if named[name] > 1 else name, groups[name], rng,
            lambda slot: _disjoint([other.candidates for other in (*slots, slot)])))
    if not _disjoint([slot.candidates for slot in slots]):
        asked = sum(slot.questions for slot in slots)
        raise TemplateError(f"{'' if questions is None else f'--questions {questions}: '}the "
                            f"chosen templates cannot ask {asked} questions in these response "
                            "forms without asking a fact twice in a variant; ask fewer or "
                            "choose more templates")
    return Blueprint(title, tuple(slots))
