"""Grading a class: its responses against key.json, with item analysis.

The responses are read by `quizgen.responses`: quizgen's own CSV (columns `student_id`,
`variant`, `q1`…`qN`), or the responses report of Moodle or Canvas, mapped to the key's entries
by the item tag each exported question carries. Each student's answers are graded by
`quizgen.grade` (option numbers, comma-separated for `multiple_choice`; numbers; shapes; JSON
matrices). Every question is worth its key entry's `points` (1 unless a blueprint says
otherwise), earned in full for a right answer (`multiple_choice`: partial credit, see
`quizgen.grade.multiple_choice_score`); a blank answer (or a question the student was not shown)
scores 0. The item analysis works on the share of each question's points earned.

A row that cannot be graded is skipped and reported with its **line number in the CSV file**
(the header is line 1; a quoted answer spanning several lines counts them all) and the reason
(quoting a long text by its first characters only, see `quizgen.grade.quoted`): what
`quizgen.responses` skips (a malformed row, an unknown variant, a response that cannot be mapped
to the key), an unparsable answer, or a student already graded on an earlier line (the first
row of a student counts). Blank lines and rows of empty cells are ignored.

Outputs (written as one set by `quizgen.files.write_outputs`, which replaces the outputs of an
earlier grading in the folder and refuses to replace a file it did not write):

- `grades.csv`: `student_id`, `variant`, `score`, `max_score`, then `q1`…`qN` (the points of
  the question at that position; empty where the variant has no such question, as when a key
  lacks one question of a variant), in the order of the responses file. A `student_id` that a
  spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab, a carriage
  return or a NUL) is written with a `'` before it (OWASP's advice against CSV injection), and
  so is one already starting with `'`, so that two students never look alike;
- `report.md` with the histogram beside it as `report-histogram.svg` (an SVG file, so that the
  Markdown stays small and readable and the image is text that `write_outputs` can write);
- `report.html`, self-contained: the same histogram inline as a `data:image/svg+xml` URI.

The reports show every text as text: report.html is escaped by Jinja2's autoescape,
report.md's table cells by the template's `cell` macro. They hold the class summary, the score
histogram (matplotlib, rendered headless without pyplot, so no global backend is selected) and
the item analysis: per question slot (variant and position) and per template (all slots of a
template pooled), the difficulty, the corrected point-biserial discrimination and Kelley's
upper–lower 27 % index, and for choice questions how often each option (and so each
distractor's misconception) was chosen.
"""

from __future__ import annotations

import base64
import csv
import io
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jinja2
import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from quizgen import grade
from quizgen.errors import QuizgenError
from quizgen.facts import CHOICE_KINDS
from quizgen.files import write_outputs
from quizgen.key import KeyEntry, read_entries
from quizgen.render import environment
from quizgen.responses import ResponseRow, SkippedRow, read_responses

#: The file name of the histogram written next to report.md.
HISTOGRAM = "report-histogram.svg"

#: Share of the class in each of the upper and lower groups of the discrimination index D.
GROUP_FRACTION = 0.27

#: Random relabellings of the students in the variant-fairness test (`_analyse_variants`); its
#: smallest p-value is 1 / (PERMUTATIONS + 1).
PERMUTATIONS = 2000

#: Family-wise significance level of the variant-fairness flags (Bonferroni over the tested
#: variants: on an exam whose variants are equally hard, any flag at all comes up at most this
#: often).
ALPHA = 0.05

#: The first characters that make a spreadsheet read a CSV cell as a formula (OWASP, "CSV
#: Injection": `=`, `+`, `-`, `@`, tab, carriage return; OWASP ASVS adds NUL), and the quote
#: itself: `_spreadsheet_text` puts a `'` before a cell starting with any of them, so that a
#: cell already starting with a quote stays distinct from a neutralised one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0", "'")


@dataclass(frozen=True)
class StudentGrade:
    """One graded row. `answers` and `credits` (the share of each question's points earned,
    0 to 1) follow the variant's questions in position order (the i-th is that of the
    variant's i-th key entry, whose `position` may be greater than i when the key lacks a
    question); `weights` are those questions' points; `line` is the row's line number in the
    responses CSV."""

    student_id: str
    variant: int
    answers: tuple[str, ...]
    credits: tuple[float, ...]
    weights: tuple[float, ...]
    line: int

    @property
    def points(self) -> tuple[float, ...]:
        """The points earned on each question."""
        return tuple(credit * weight for credit, weight in zip(self.credits, self.weights, strict=True))

    @property
    def score(self) -> float:
        """The total score, in points."""
        return sum(self.points)

    @property
    def max_score(self) -> float:
        """The variant's points."""
        return sum(self.weights)


@dataclass(frozen=True)
class ItemStats:
    """Classical item statistics of `n` responses; None where undefined (n < 2, or no spread
    in the item or rest scores for the correlation). See `_item_stats` for the formulas."""

    n: int
    difficulty: float | None
    discrimination: float | None
    upper_lower: float | None


@dataclass(frozen=True)
class OptionCount:
    """How many students chose option `number` (1-based) of a choice question."""

    number: int
    text: str
    correct: bool
    misconception: str | None
    chosen: int


@dataclass(frozen=True)
class SlotAnalysis:
    """Item analysis of one question slot: key entry `id` (variant, position). `options` and
    `blank` (unanswered count) only for choice kinds; `options` is empty otherwise."""

    id: str
    variant: int
    position: int
    template: str
    kind: str
    stats: ItemStats
    options: tuple[OptionCount, ...]
    blank: int


@dataclass(frozen=True)
class MisconceptionCount:
    """A distractor's misconception over all slots of a template: `offered` = responses to
    questions showing it, `chosen` = how many of those chose it."""

    label: str
    feedback: str
    offered: int
    chosen: int


@dataclass(frozen=True)
class TemplateAnalysis:
    """Item analysis of all responses to the `slots` question slots made from `template`."""

    template: str
    slots: int
    stats: ItemStats
    misconceptions: tuple[MisconceptionCount, ...]


@dataclass(frozen=True)
class VariantAnalysis:
    """The scores of one variant's `n` students: their `mean` score as a fraction of the
    maximum, and the two-sided permutation p-value of "this variant's students score like the
    others" (None when untestable: fewer than 2 students on either side); `flagged` when the
    p-value is below `ALPHA` divided by the number of tested variants."""

    variant: int
    n: int
    mean: float
    p_value: float | None
    flagged: bool


@dataclass(frozen=True)
class BlueprintSlotMeans:
    """The scores on one slot of an exam blueprint (the key's `slot`): its `points`, the mean
    share of them its `n` responses earned, and the lowest and highest mean of one variant's
    students (a slot harder in one variant than in the others shows as a wide range)."""

    slot: str
    points: float
    n: int
    mean: float
    lowest: float
    highest: float


@dataclass(frozen=True)
class GradeRun:
    """The result of `grade_responses`: graded students (in file order), skipped rows, the item
    analysis per slot (key order) and per template (by id), the fairness of each variant, the
    mean scores per blueprint slot (empty for a key without slots), the files written and the
    files of
    an earlier grading in that folder that are no longer written (removed)."""

    students: tuple[StudentGrade, ...]
    skipped: tuple[SkippedRow, ...]
    slots: tuple[SlotAnalysis, ...]
    templates: tuple[TemplateAnalysis, ...]
    variants: tuple[VariantAnalysis, ...]
    blueprint_slots: tuple[BlueprintSlotMeans, ...]
    files: tuple[Path, ...]
    removed: tuple[Path, ...]


def grade_responses(key: dict, responses: Path | Sequence[Path], out_dir: Path,
                    source: str = "csv") -> GradeRun:
    """Grade a class's responses against a parsed key.json: quizgen's CSV, or with `source`
    `"moodle"` or `"canvas"` that LMS's responses report (see `quizgen.responses`), from one
    file or several (as one report per quiz of a variant), graded as one class whose rows are
    then named by file and line; write `grades.csv`, `report.md`, `report-histogram.svg` and
    `report.html` to `out_dir` as one set (`quizgen.files.write_outputs`). The responses files
    are only read.

    Raises:
        QuizgenError: the key has two questions at one position of a variant; a responses
            file is missing, unreadable, not UTF-8, not CSV, or not in the layout of `source`
            (the message names the file); an output would replace a responses file, or a
            file quizgen did not write; an output cannot be written (nothing is).
    """
    paths = [Path(responses)] if isinstance(responses, str | Path) else [Path(p) for p in responses]
    out_dir = Path(out_dir)
    variants = _variants(key)
    rows: list[ResponseRow] = []
    unread: list[SkippedRow] = []
    for path in paths:
        _refuse_overwrite(path, out_dir)
        file_rows, file_skipped = read_responses(path, variants, source)
        name = str(path) if len(paths) > 1 else ""
        rows += [replace(row, file=name) for row in file_rows]
        unread += [replace(row, file=name) for row in file_skipped]
    students, ungraded = _grade_rows(rows, variants)
    order = {str(path) if len(paths) > 1 else "": index for index, path in enumerate(paths)}
    skipped = tuple(sorted(unread + ungraded, key=lambda row: (order[row.file], row.line)))
    slots, observations = _analyse_slots(variants, students)
    templates = _analyse_templates(variants, slots, observations)
    fairness = _analyse_variants(students)
    means = _blueprint_slot_means(variants, students)
    files = _outputs(key, ", ".join(path.name for path in paths), variants, students, skipped,
                     slots, templates, fairness, means)
    written = write_outputs(out_dir, files, "grade")
    return GradeRun(students, skipped, slots, templates, fairness, means, written.written,
                    written.removed)


def _variants(key: dict) -> dict[int, tuple[KeyEntry, ...]]:
    """The key's entries per variant number, in position order (a position may be missing).

    Raises:
        QuizgenError: two entries have the same variant and position (names both ids).
    """
    variants: dict[int, list[KeyEntry]] = {}
    seen: dict[tuple[int, int], str] = {}
    for entry in read_entries(key):
        slot = (entry.variant, entry.position)
        if slot in seen:
            raise QuizgenError(f"key question {entry.id}: variant {entry.variant} already has a "
                               f"question at position {entry.position} ({seen[slot]})")
        seen[slot] = entry.id
        variants.setdefault(entry.variant, []).append(entry)
    return {number: tuple(sorted(group, key=lambda e: e.position))
            for number, group in sorted(variants.items())}


def _max_position(variants: dict[int, tuple[KeyEntry, ...]]) -> int:
    return max((entry.position for entries in variants.values() for entry in entries), default=0)


def _refuse_overwrite(responses_path: Path, out_dir: Path) -> None:
    """Raise QuizgenError if an output file would be the responses file."""
    names = ("grades.csv", "report.md", HISTOGRAM, "report.html")
    if any((out_dir / name).resolve() == responses_path.resolve() for name in names):
        raise QuizgenError(f"{responses_path}: would be overwritten by the outputs; "
                           "choose another output folder")


# --- grading -------------------------------------------------------------------------------


def _grade_rows(rows: list[ResponseRow], variants: dict[int, tuple[KeyEntry, ...]]
                ) -> tuple[tuple[StudentGrade, ...], list[SkippedRow]]:
    """Grade each row; a student_id counts once (its first graded row)."""
    students: list[StudentGrade] = []
    skipped: list[SkippedRow] = []
    first: dict[str, ResponseRow] = {}
    for row in rows:
        result = _grade_row(row, variants[row.variant])
        if isinstance(result, StudentGrade) and result.student_id in first:
            result = (f"duplicate student_id {grade.quoted(result.student_id)} "
                      f"(already graded from {first[result.student_id].where})")
        if isinstance(result, str):
            skipped.append(SkippedRow(row.line, result, row.file))
        else:
            first[result.student_id] = row
            students.append(result)
    return tuple(students), skipped


def _grade_row(row: ResponseRow, entries: tuple[KeyEntry, ...]) -> StudentGrade | str:
    """A graded row, or the reason it cannot be graded."""
    answers = tuple(row.answers.get(entry.position, "") for entry in entries)
    credits, problems = _score_answers(entries, answers)
    if problems:
        return f"student {grade.quoted(row.student_id)}: " + "; ".join(problems)
    return StudentGrade(row.student_id, row.variant, answers, credits,
                        tuple(float(entry.points) for entry in entries), row.line)


def _score_answers(entries: tuple[KeyEntry, ...], answers: tuple[str, ...]
                   ) -> tuple[tuple[float, ...], list[str]]:
    """The credit of each answer (0 to 1; blank: 0) and the problems of the unparsable ones."""
    points, problems = [], []
    for entry, answer in zip(entries, answers, strict=True):
        try:
            points.append(grade.score(entry, answer) if answer else 0.0)
        except grade.ResponseError as error:
            problems.append(f"q{entry.position}: {error}")
    return tuple(points), problems


# --- item analysis -------------------------------------------------------------------------

_Observations = tuple[np.ndarray, np.ndarray]  # item scores, total scores (one per response)


def _item_stats(items: np.ndarray, totals: np.ndarray) -> ItemStats:
    """Classical test theory statistics of one item (Crocker & Algina, *Introduction to
    Classical and Modern Test Theory*, 1986, ch. 14), from the item scores x_i ∈ [0, 1] and
    total scores T_i of n responses:

    - difficulty p = mean(x): the proportion correct (mean share of the point for partial
      credit);
    - discrimination r = corr(x, T − x): the Pearson correlation of the item score with the rest
      score, i.e. the corrected item–total (point-biserial, for 0/1 items) correlation, which
      keeps the item from correlating with itself (Henrysson, 1963, Psychometrika 28:211–218);
      None if x or T − x is constant;
    - upper–lower index D = p_U − p_L (Kelley, 1939, J. Educ. Psychol. 30:17–24): the
      difficulty in the top 27 % of responses by total score minus that in the bottom 27 %,
      each group g = ⌊0.27 n + ½⌋ (at least 1) responses, see `_group_difficulty`.
    """
    n = len(items)
    if n == 0:
        return ItemStats(0, None, None, None)
    difficulty = float(items.mean())
    if n < 2:
        return ItemStats(n, difficulty, None, None)
    rest = totals - items
    spread = items.std() > 0 and rest.std() > 0
    discrimination = float(np.corrcoef(items, rest)[0, 1]) if spread else None
    group = max(1, int(np.floor(GROUP_FRACTION * n + 0.5)))
    upper_lower = (_group_difficulty(items, totals, group, upper=True)
                   - _group_difficulty(items, totals, group, upper=False))
    return ItemStats(n, difficulty, discrimination, upper_lower)


def _group_difficulty(items: np.ndarray, totals: np.ndarray, group: int, upper: bool) -> float:
    """Mean item score of the `group` responses with the highest (`upper`) or lowest totals.

    Responses tied on the total at the group's boundary share the remaining places equally
    (each weighted places left / tied count), so the result does not depend on row order.
    """
    order = -totals if upper else totals
    cutoff = np.sort(order)[group - 1]
    inside, tied = order < cutoff, order == cutoff
    weights = inside + tied * (group - inside.sum()) / tied.sum()
    return float((weights * items).sum() / group)


def _analyse_slots(variants: dict[int, tuple[KeyEntry, ...]],
                   students: tuple[StudentGrade, ...]
                   ) -> tuple[tuple[SlotAnalysis, ...], dict[str, _Observations]]:
    """The analysis of every slot, and each slot's observations (for pooling by template)."""
    slots, observations = [], {}
    for number, entries in variants.items():
        group = [student for student in students if student.variant == number]
        points = np.array([student.credits for student in group]).reshape(len(group), len(entries))
        totals = points.sum(axis=1)
        for column, entry in enumerate(entries):
            observations[entry.id] = (points[:, column], totals)
            answers = [student.answers[column] for student in group]
            options, blank = _option_counts(entry, answers)
            slots.append(SlotAnalysis(entry.id, number, entry.position, entry.template,
                                      entry.kind, _item_stats(points[:, column], totals),
                                      options, blank))
    return tuple(slots), observations


def _option_counts(entry: KeyEntry, answers: list[str]) -> tuple[tuple[OptionCount, ...], int]:
    """For a choice entry: how often each option was chosen, and the blank count."""
    if entry.kind not in CHOICE_KINDS:
        return (), 0
    choices = entry.choices
    chosen = [_chosen(entry, answer) for answer in answers if answer]
    options = tuple(OptionCount(i + 1, choice.text, choice.correct, choice.misconception,
                                sum(i in picks for picks in chosen))
                    for i, choice in enumerate(choices))
    return options, len(answers) - len(chosen)


def _chosen(entry: KeyEntry, answer: str) -> frozenset[int]:
    """The 0-based option indices of an (already graded, so valid) choice answer."""
    count = len(entry.choices)
    if entry.kind == "single_choice":
        return frozenset({grade.parse_option(answer, count)})
    return grade.parse_options(answer, count)


def _analyse_templates(variants: dict[int, tuple[KeyEntry, ...]],
                       slots: tuple[SlotAnalysis, ...], observations: dict[str, _Observations]
                       ) -> tuple[TemplateAnalysis, ...]:
    """Per template: the statistics of all its slots' responses pooled, and its misconceptions."""
    entries = {entry.id: entry for group in variants.values() for entry in group}
    analyses = []
    for template in sorted({slot.template for slot in slots}):
        mine = [slot for slot in slots if slot.template == template]
        items = np.concatenate([observations[slot.id][0] for slot in mine])
        totals = np.concatenate([observations[slot.id][1] for slot in mine])
        analyses.append(TemplateAnalysis(template, len(mine), _item_stats(items, totals),
                                         _misconceptions(mine, entries)))
    return tuple(analyses)


def _misconceptions(slots: list[SlotAnalysis], entries: dict[str, KeyEntry]
                    ) -> tuple[MisconceptionCount, ...]:
    """Each distractor misconception of the slots: responses offered it and how many chose it."""
    feedback: dict[str, str] = {}
    offered: Counter[str] = Counter()
    chosen: Counter[str] = Counter()
    for slot in slots:
        for option in slot.options:
            if option.misconception:
                choice = entries[slot.id].choices[option.number - 1]
                feedback.setdefault(option.misconception, choice.feedback or "")
                offered[option.misconception] += slot.stats.n
                chosen[option.misconception] += option.chosen
    return tuple(MisconceptionCount(label, feedback[label], offered[label], chosen[label])
                 for label in sorted(feedback))


def _analyse_variants(students: tuple[StudentGrade, ...]) -> tuple[VariantAnalysis, ...]:
    """Whether any variant was harder or easier than the others, by a permutation test per
    variant: the statistic is the absolute difference between the mean score fraction of the
    variant's students and that of everyone else; its p-value is the share of `PERMUTATIONS`
    random relabellings of the class (drawn from a fixed seed, so reports are reproducible)
    whose statistic is at least as large, counting the observed one: (1 + b) / (1 + B) (Phipson
    & Smyth 2010, "Permutation p-values should never be zero"). A variant is flagged when its
    p-value is below `ALPHA` / (number of tested variants), Bonferroni's correction, so that
    equally hard variants are flagged at most `ALPHA` of the time."""
    if not students:
        return ()
    scores = np.array([s.score / s.max_score if s.max_score else 0.0 for s in students])
    labels = np.array([student.variant for student in students])
    orders = np.tile(np.arange(len(scores)), (PERMUTATIONS, 1))
    permuted = scores[np.random.default_rng(0).permuted(orders, axis=1)]  # PERMUTATIONS × n
    p_values = {}
    for number in sorted(set(labels.tolist())):
        mine = labels == number
        if 2 <= mine.sum() <= len(scores) - 2:
            observed = abs(scores[mine].mean() - scores[~mine].mean())
            statistics_ = np.abs(permuted[:, mine].mean(axis=1) - permuted[:, ~mine].mean(axis=1))
            p_values[number] = (1 + int((statistics_ >= observed - 1e-12).sum())) / (1 + PERMUTATIONS)
        else:
            p_values[number] = None
    tested = sum(p is not None for p in p_values.values())
    return tuple(VariantAnalysis(number, int((labels == number).sum()),
                                 float(scores[labels == number].mean()), p,
                                 p is not None and p < ALPHA / tested)
                 for number, p in p_values.items())


def _blueprint_slot_means(variants: dict[int, tuple[KeyEntry, ...]],
                          students: tuple[StudentGrade, ...]) -> tuple[BlueprintSlotMeans, ...]:
    """The mean score share of each blueprint slot, over the class and per variant, in the
    order the slots first appear in the key."""
    credits: dict[str, dict[int, list[float]]] = {}
    points: dict[str, float] = {}
    for student in students:
        for entry, credit in zip(variants[student.variant], student.credits, strict=True):
            if entry.slot is not None:
                credits.setdefault(entry.slot, {}).setdefault(student.variant, []).append(credit)
                points[entry.slot] = entry.points
    means = []
    for slot, by_variant in credits.items():
        pooled = [credit for values in by_variant.values() for credit in values]
        per_variant = [statistics.fmean(values) for values in by_variant.values()]
        means.append(BlueprintSlotMeans(slot, points[slot], len(pooled), statistics.fmean(pooled),
                                        min(per_variant), max(per_variant)))
    return tuple(means)


# --- outputs -------------------------------------------------------------------------------


def _outputs(key: dict, source: str, variants: dict[int, tuple[KeyEntry, ...]],
             students: tuple[StudentGrade, ...], skipped: tuple[SkippedRow, ...],
             slots: tuple[SlotAnalysis, ...], templates: tuple[TemplateAnalysis, ...],
             fairness: tuple[VariantAnalysis, ...],
             means: tuple[BlueprintSlotMeans, ...]) -> dict[str, str]:
    """Every output file's text, by name."""
    positions = _max_position(variants)
    scores = [student.score for student in students]
    svg = _histogram_svg(scores, max((len(e) for e in variants.values()), default=0))
    context = _report_context(key, source, students, skipped, slots, templates) | {
        "variants": [_variant_context(analysis) for analysis in fairness],
        "blueprint_slots": [{"slot": m.slot, "points": _points(m.points), "n": m.n,
                             "mean": f"{m.mean:.0%}", "lowest": f"{m.lowest:.0%}",
                             "highest": f"{m.highest:.0%}"} for m in means],
        "alpha": f"{ALPHA:.0%}", "permutations": f"{PERMUTATIONS:,}"}
    return {
        "grades.csv": _grades_csv(students, variants, positions),
        "report.md": _render("report.md.j2", context | {"histogram": HISTOGRAM}),
        HISTOGRAM: svg,
        "report.html": _render("report.html.j2", context | {
            "histogram": "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()}),
    }


def _points(value: float) -> str:
    """Points as text: `3`, `2.5`, `0.3333` (at most 4 decimals)."""
    return f"{round(value, 4):g}"


def _spreadsheet_text(text: str) -> str:
    """`text` as a grades.csv cell that no spreadsheet runs as a formula: with a `'` before it
    if it starts with one of `_FORMULA_START` (`=1+1` → `'=1+1`), else as it is."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _grades_csv(students: tuple[StudentGrade, ...], variants: dict[int, tuple[KeyEntry, ...]],
                positions: int) -> str:
    """grades.csv: one row per graded student, in file order; column `q<p>` holds the points of
    the question at position p of the student's variant (empty if it has none)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student_id", "variant", "score", "max_score",
                     *(f"q{p}" for p in range(1, positions + 1))])
    for student in students:
        by_position = {entry.position: points
                       for entry, points in zip(variants[student.variant], student.points, strict=True)}
        writer.writerow([_spreadsheet_text(student.student_id), student.variant, _points(student.score),
                         _points(student.max_score),
                         *(_points(by_position[p]) if p in by_position else ""
                           for p in range(1, positions + 1))])
    return buffer.getvalue()


def _histogram_svg(scores: list[float], max_score: int) -> str:
    """The score histogram as SVG text: one bar per whole score 0…max_score (bars 1 point wide,
    centred on whole numbers). Deterministic: no date, fixed hash salt for element ids."""
    figure = Figure(figsize=(6, 3))
    axes = figure.subplots()
    top = max([max_score, *scores])
    axes.hist(scores, bins=np.arange(-0.5, np.ceil(top) + 1), color="#4c72b0", edgecolor="white")
    axes.set_xlabel("Score (points)")
    axes.set_ylabel("Students")
    axes.set_title(f"Score distribution (n = {len(scores)})")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "quizgen", "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return buffer.getvalue()


def _number(value: float | None, digits: int = 2) -> str:
    """A statistic as text (never `-0.00`); `—` where undefined."""
    return "—" if value is None else f"{round(value, digits) + 0.0:.{digits}f}"


def _stats_context(stats: ItemStats) -> dict[str, Any]:
    return {"n": stats.n, "difficulty": _number(stats.difficulty),
            "discrimination": _number(stats.discrimination),
            "upper_lower": _number(stats.upper_lower)}


def _summary(students: tuple[StudentGrade, ...]) -> dict[str, Any]:
    """Class summary: n, mean, median, min, max of the scores, and the maximum possible."""
    scores = [student.score for student in students]
    if not scores:
        return {"n": 0, "mean": "—", "median": "—", "min": "—", "max": "—", "out_of": "—"}
    out_of = sorted({_points(student.max_score) for student in students}, key=float)
    return {"n": len(scores), "mean": _number(statistics.fmean(scores)),
            "median": _points(statistics.median(scores)), "min": _points(min(scores)),
            "max": _points(max(scores)), "out_of": " / ".join(out_of)}


def _variant_context(analysis: VariantAnalysis) -> dict[str, Any]:
    p_value = "—" if analysis.p_value is None else f"{analysis.p_value:.4f}"
    return {"variant": analysis.variant, "n": analysis.n, "mean": f"{analysis.mean:.0%}",
            "p_value": p_value, "flag": "differs" if analysis.flagged else ""}


def _slot_context(slot: SlotAnalysis) -> dict[str, Any]:
    options = [{"number": option.number, "text": option.text, "correct": option.correct,
                "misconception": option.misconception or "", "chosen": option.chosen}
               for option in slot.options]
    return {"id": slot.id, "template": slot.template, "kind": slot.kind,
            "stats": _stats_context(slot.stats), "options": options, "blank": slot.blank}


def _template_context(template: TemplateAnalysis) -> dict[str, Any]:
    misconceptions = [{"label": m.label, "feedback": m.feedback, "offered": m.offered,
                       "chosen": m.chosen,
                       "rate": f"{m.chosen / m.offered:.0%}" if m.offered else "—"}
                      for m in template.misconceptions]
    return {"template": template.template, "slots": template.slots,
            "stats": _stats_context(template.stats), "misconceptions": misconceptions}


def _report_context(key: dict, source: str, students: tuple[StudentGrade, ...],
                    skipped: tuple[SkippedRow, ...], slots: tuple[SlotAnalysis, ...],
                    templates: tuple[TemplateAnalysis, ...]) -> dict[str, Any]:
    """The variables of report.md.j2 and report.html.j2 (all numbers already formatted)."""
    return {
        "source": source,
        "key": {"seed": key["seed"], "keras_version": key["keras_version"],
                "backend": key["backend"], "quizgen_version": key["quizgen_version"]},
        "summary": _summary(students),
        "skipped": [{"line": row.where.removeprefix("line "), "reason": row.reason}
                    for row in skipped],
        "slots": [_slot_context(slot) for slot in slots],
        "templates": [_template_context(template) for template in templates],
        "group_percent": round(GROUP_FRACTION * 100),
    }


def _render(name: str, context: dict[str, Any]) -> str:
    """Render the bundled template `name`.

    Raises:
        QuizgenError: a template error (names the template file).
    """
    try:
        return environment().get_template(name).render(**context).strip() + "\n"
    except jinja2.TemplateError as error:
        raise QuizgenError(f"templates/{name}: {error}") from error
