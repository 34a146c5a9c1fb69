"""Stress tests of templates (after R/exams' `stresstest_exercise`).

For each template and each of N seeds: make a one-template variant (sample, execute with Keras,
ask), render it to every format, write its key entries and verify them independently
(`quizgen.verify.check_entry` with an oracle of its own, which shares no result with the one
that generated them: Keras, closed forms, choices), self-test the grading
(`quizgen.grade.self_test`: the key's answer scores full marks, each distractor zero, an invalid
response is rejected), and check that nothing is degenerate (no size or count below 1). Across
the seeds it reports the pool size (distinct variants) and duplicates, the time per variant, and
how evenly the correct option's position is spread (Pearson's chi-square test against the
uniform distribution), and counts the invalid items among the failures: ambiguous (more than one
defensible option), label mismatches (a distractor not named by the mistake that gives it),
giveaways (an option that is the answer of another question of the item) and text defects
(an empty code block, a "(s)" hedge, "1 units", an internal misconception id).

With an exam blueprint (`quizgen stress --exam`), it makes the exam's variants instead and
reports, per slot, the spread of the items' difficulty features (`exam_spread`).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import sympy as sp

from quizgen.assemble import assemble, make_variant
from quizgen.blueprint import Blueprint
from quizgen.cache import FactCache, default_folder
from quizgen.difficulty import Band, kind_of, measure
from quizgen.errors import QuizgenError
from quizgen.family import CHOICES
from quizgen.grade import self_test
from quizgen.key import KeyEntry, question_entry
from quizgen.oracle import Oracle
from quizgen.questions import Item
from quizgen.render import FORMATS, render
from quizgen.template import Template
from quizgen.verify import check_entry, giveaways, validity

#: Below this chi-square p-value the correct positions count as unevenly spread (a failure).
MIN_POSITION_P = 0.001


def chi_square_p(counts: list[int]) -> float | None:
    """p-value of Pearson's chi-square test that `counts` come from a uniform distribution:
    the upper regularized gamma Q(k/2, x/2) with k = len(counts) - 1 degrees of freedom
    (sympy's `uppergamma`). None when there is nothing to test."""
    total = sum(counts)
    if total == 0:
        return None
    expected = total / len(counts)
    statistic = sum((count - expected) ** 2 for count in counts) / expected
    half_k = sp.Rational(len(counts) - 1, 2)
    return float((sp.uppergamma(half_k, sp.Float(statistic) / 2) / sp.gamma(half_k)).evalf())


def _degenerate(entry: KeyEntry, item: Item) -> bool:
    """A size or count below 1, a 0-sized feature map, or a constant output matrix."""
    if entry.task is not None:
        return len({value for row in entry.answer for value in row}) < 2
    answer = entry.answer
    sizes = answer if isinstance(answer, list) else [answer] if isinstance(answer, int) else []
    sizes += [size for layer in item.facts.layers for size in layer.output_shape]
    return any(size is not None and size < 1 for size in sizes)


@dataclass
class TemplateStress:
    """The stress-test outcome of one template over `seeds` seeds."""

    template: str
    seeds: int
    failures: list[str] = field(default_factory=list)
    signatures: Counter = field(default_factory=Counter)
    positions: Counter = field(default_factory=Counter)
    invalid: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def distinct(self) -> int:
        """Number of distinct variants (the pool size seen)."""
        return len(self.signatures)

    @property
    def duplicates(self) -> int:
        """Seeds that repeated a variant already seen."""
        return sum(self.signatures.values()) - self.distinct

    @property
    def position_p(self) -> float | None:
        """Chi-square p-value of the single-choice questions' correct positions (None without
        any)."""
        return chi_square_p([self.positions.get(i, 0) for i in range(CHOICES)])


#: Text a student should never read in a rendered question, and what it is.
TEXT_DEFECTS = (
    (re.compile(r"```python\n\s*```"), "an empty code block"),
    (re.compile(r"\w\(s\)"), "a '(s)' plural hedge"),
    (re.compile(r"(?<![\d.,])1 (units|filters|channels|rows|columns|outputs|values|steps|parameters)\b"),
     "a count that disagrees with its noun"),
)


def text_defects(document: str, labels: set[str]) -> list[str]:
    """What a student should not read in a rendered document (Markdown): the defects of
    `TEXT_DEFECTS`, and internal misconception ids (`labels`) instead of their descriptions."""
    found = [f"{what}: {match.group(0)!r}" for pattern, what in TEXT_DEFECTS
             for match in [pattern.search(document)] if match]
    return found + [f"the internal misconception id {label!r}" for label in sorted(labels)
                    if re.search(rf"\b{re.escape(label)}\b", document)]


def _one_seed(template: Template, seed: int, result: TemplateStress, generator: Oracle,
              verifier: Oracle) -> None:
    variant = make_variant([template], seed, 1, len(template.asks), generator)
    documents = {fmt: render(variant, fmt, template.title) for fmt in FORMATS}
    labels = {part for _, _, question in variant.numbered() for choice in question.choices
              for part in (choice.misconception or "").split("+") if part}
    for problem in text_defects(documents["md"], labels):
        result.invalid["text"] += 1
        result.failures.append(f"seed {seed}: text defect: {problem}")
    signature, entries = [], []
    for position, item, question in variant.numbered():
        entry = question_entry(1, position, item, question)
        entries.append(entry)
        signature.append((item.spec.digest(), str(entry.answer)))
        for problem in check_entry(entry, verifier) + self_test(entry):
            kind = validity(problem)
            if kind is not None:
                result.invalid[kind] += 1
            result.failures.append(f"seed {seed}, question {position}: {problem}")
        if _degenerate(entry, item):
            result.failures.append(f"seed {seed}, question {position}: degenerate value "
                                   f"{entry.answer_text}")
        if question.kind == "single_choice":
            result.positions[next(i for i, c in enumerate(question.choices) if c.correct)] += 1
    for entry, problem in giveaways(entries):  # one item: a one-template variant
        result.invalid["giveaway"] += 1
        result.failures.append(f"seed {seed}, question {entry.position}: {problem}")
    result.signatures[tuple(signature)] += 1


def stress_template(template: Template, seeds: int, generator: Oracle,
                    verifier: Oracle) -> TemplateStress:
    """Run `template` over seeds 0..seeds-1 and check every invariant: items made with
    `generator`, their key entries verified with `verifier`."""
    result = TemplateStress(template.id, seeds)
    start = time.perf_counter()
    for seed in range(seeds):
        try:
            _one_seed(template, seed, result, generator, verifier)
        except QuizgenError as error:
            result.failures.append(f"seed {seed}: {error}")
    result.seconds = time.perf_counter() - start
    p = result.position_p
    if p is not None and p < MIN_POSITION_P:
        counts = [result.positions.get(i, 0) for i in range(CHOICES)]
        result.failures.append(f"correct positions uneven: {counts} (chi-square p = {p:.2g})")
    return result


def stress(templates: list[Template], seeds: int,
           progress: Callable[[Iterable[Template]], Iterable[Template]] = iter,
           ) -> list[TemplateStress]:
    """Stress-test every template; `progress` wraps the template list. Items are made with
    the persistent fact cache, and verified by a fresh oracle without it."""
    generator, verifier = Oracle(FactCache(default_folder())), Oracle()
    results = []
    for template in progress(templates):
        results.append(stress_template(template, seeds, generator, verifier))
        generator.cache.flush()
    return results


@dataclass
class SlotSpread:
    """How the variants of an exam fill one blueprint slot: the templates drawn (with their
    counts), each difficulty feature's values over the variants by kind of subject and name
    (`("task", "outputs")`), and the slot's band."""

    slot: str
    band: Band | None
    templates: Counter = field(default_factory=Counter)
    features: dict[tuple[str, str], list[int]] = field(default_factory=dict)


def exam_spread(blueprint: Blueprint, variants: int,
                progress: Callable[[Iterable], Iterable] = iter) -> list[SlotSpread]:
    """Variants 1..`variants` of the exam `blueprint` (exam seed 0, made with the persistent
    fact cache) and, per slot, the spread of its items' difficulty features
    (`quizgen.difficulty`) over them.

    Raises:
        BatchError: items of some variants failed (as `quizgen generate` would report them).
    """
    spreads = [SlotSpread(slot.name, slot.band) for slot in blueprint.slots]
    oracle = Oracle(FactCache(default_folder()))
    for variant in assemble(blueprint, 0, variants, 1, oracle, progress):
        for spread, item in zip(spreads, variant.items, strict=True):
            spread.templates[item.template.id] += 1
            subject = item.task or item.spec
            for name, value in measure(subject, item.template.features).items():
                spread.features.setdefault((kind_of(subject), name), []).append(value)
    return spreads


def spread_table(spreads: list[SlotSpread]) -> str:
    """The spreads as a fixed-width text table, one row per slot and feature (of a model, or
    of a by-hand task: `task outputs`): the band, and the lowest, median and highest value over
    the variants."""
    header = ("slot", "templates", "feature", "band", "min", "median", "max")
    rows = [header]
    for spread in spreads:
        bounds = {(kind, name): (low, high)
                  for kind, name, low, high in (spread.band.bounds if spread.band else ())}
        for number, ((kind, name), values) in enumerate(sorted(spread.features.items())):
            ordered = sorted(values)
            low_high = bounds.get((kind, name), bounds.get((None, name)))
            band = "-" if low_high is None else "–".join(map(str, sorted(set(low_high))))
            rows.append((spread.slot if number == 0 else "",
                         str(len(spread.templates)) if number == 0 else "",
                         name if kind == "model" else f"{kind} {name}", band,
                         str(ordered[0]), str(ordered[len(ordered) // 2]), str(ordered[-1])))
    return _aligned(rows)


def _aligned(rows: list[tuple[str, ...]]) -> str:
    """Rows as a fixed-width text table: the first column left-aligned, the others right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
                     for row in rows)


def table(results: list[TemplateStress]) -> str:
    """The results as a fixed-width text table, one row per template."""
    header = ("template", "seeds", "failures", "ambiguous", "labels", "giveaways", "text",
              "distinct", "duplicates", "position p", "ms/variant")
    return _aligned([header] + [(
        r.template, str(r.seeds), str(len(r.failures)),
        *(str(r.invalid[kind]) for kind in ("ambiguous", "label", "giveaway", "text")),
        str(r.distinct), str(r.duplicates),
        "-" if r.position_p is None else f"{r.position_p:.3f}",
        f"{1000 * r.seconds / max(r.seeds, 1):.0f}",
    ) for r in results])
