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
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from quizgen import families
from quizgen.bank import check_schema, read_yaml_file, strict_validator
from quizgen.difficulty import BAND_SAMPLE, Band, default_band, measure, sample_rng
from quizgen.errors import TemplateError
from quizgen.questions import draw
from quizgen.resources import data_dir
from quizgen.template import Ask, Template

#: The response forms a slot can ask for.
FORMS = ("single_choice", "multiple_choice", "free")


@dataclass(frozen=True)
class Candidate:
    """One way to fill a slot: a template with only the ask that the slot's question asks (in
    the slot's response form), and the identity of the fact it asks (`fact_id`), which no other
    question of the variant may ask."""

    template: Template
    fact_id: tuple


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
        return sum(slot.points for slot in self.slots)


@cache
def _validator():
    return strict_validator()(json.loads((data_dir("schemas") / "exam.schema.json").read_text()))


def fact_id(ask: Ask) -> tuple:
    """What makes two asks ask the same fact, whatever the model: the fact, its layer selector
    (an index or a class filter), axis, weight and quantity (two output shapes of Conv2D layers
    are one fact; the output shape of a Conv2D and of a Flatten are two)."""
    return (ask.fact, ask.layer, ask.axis, ask.weight, ask.quantity)


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


def _candidates(pool: list[Template], form: str, facts: list[str] | None) -> tuple[Candidate, ...]:
    """Every (template, ask) of the pool that asks one of `facts` (any if None) and can be
    asked in `form`, as a one-ask template; not the asks of a template whose asks are made
    together (`quizgen.families.asks_together`: a summary table with one blank shows the
    cells that give it away)."""
    return tuple(
        Candidate(replace(template, asks=(families.in_form(template, ask, form),)), fact_id(ask))
        for template in pool if not families.asks_together(template) for ask in template.asks
        if (facts is None or ask.fact in facts) and form in families.forms(template, ask))


def _slot(index: int, data: dict[str, Any], templates: list[Template], name: str) -> Slot:
    """Slot number `index` (0-based) of the file `name`.

    Raises:
        TemplateError: its pool is empty or cannot fill its response form.
    """
    where = f"{name}: slots[{index}]" + (f" ({data['name']})" if "name" in data else "")
    pool = data["pool"]
    candidates = _candidates(_pool(pool, templates, f"{where}.pool"), data["response"],
                             pool.get("facts"))
    if not candidates:
        facts = f" about {', '.join(pool['facts'])}" if "facts" in pool else ""
        raise TemplateError(f"{where}.response: no template of its pool can ask a "
                            f"{data['response'].replace('_', ' ')} question{facts}")
    return Slot(data.get("name", str(index + 1)), data["response"], data["points"], candidates,
                _band(data.get("band"), candidates, f"{where}.band"))


def _band(bounds: dict[str, list[int]] | None, candidates: tuple[Candidate, ...],
          where: str) -> Band | None:
    """A slot's difficulty band: the `bounds` its file gives (`{}`: none), else the middle half
    of what its pool's templates draw (`quizgen.difficulty.default_band`).

    Raises:
        TemplateError: a feature's low bound is above its high one.
    """
    if bounds is not None:
        for name, (low, high) in bounds.items():
            if low > high:
                raise TemplateError(f"{where}.{name}: its low bound {low} is above its high "
                                    f"bound {high}")
        return Band(tuple((name, low, high) for name, (low, high) in sorted(bounds.items()))) \
            if bounds else None
    templates = {candidate.template.id: candidate.template for candidate in candidates}
    return default_band(measure(draw(template, sample_rng(template.id, number)), template.features)
                        for template in templates.values()
                        for number in range(1 if template.fixed is not None else BAND_SAMPLE))


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
