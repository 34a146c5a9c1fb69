"""Reading a class's responses: quizgen's own CSV, Moodle's quiz Responses report or Canvas'
quiz Student Analysis report, each row as one student's answers to the questions of one variant.

`read_responses` returns the rows it read (`ResponseRow`: the answers written as
`quizgen.grade` reads them, option numbers for choices) and the rows it skipped (`SkippedRow`:
the row's line number in the CSV file and why), which `quizgen.gradebook` grades. Every file is
UTF-8 text (a BOM is allowed); a line number counts every line of a quoted cell.

**quizgen's CSV** (`"csv"`): a header row with the columns `student_id`, `variant` and
`q1`…`qN` (N = the highest `position` in the key; the header's order and any further columns do
not matter, names are matched case-insensitively), then one row per student, each answer as
`quizgen.grade` reads it. A row is skipped when it has fewer or more fields than the header, no
`student_id`, an unknown variant, or an answer to a question its variant does not have.

**Moodle** (`"moodle"`): the Responses report of the quiz (Moodle docs, "Quiz responses
report"), downloaded as CSV with the question text shown: per question slot N a column
`Question N` (the question's text as plain text, which begins with the item tag
`quizgen:v3-q5:1a2b3c4d` that `quizgen.lms` writes into every exported question) and
`Response N` (the response as plain text: the chosen option's text, several joined by `; `; `-`
when unanswered). The student is named by the first of the columns `ID number`, `Username`,
`Email address` in the header, else by `First name` and `Last name` (`Surname`).

**Canvas** (`"canvas"`): the Student Analysis report of a classic quiz (Canvas guides, "How do I
view quiz statistics?"), a CSV with a column per question headed `<Canvas question id>: <question
text as plain text>` (beginning with the item tag) followed by its points column; an option is
answered by its text, several joined by `,` with a comma of a text written `\\,`; a blank cell
is no answer. The student is named by `sis_id` if a row has one, else `id`, else `name`. A
`;` or tab between fields (Canvas' regional CSV setting) is read as well as a `,`.

From an LMS, each response is mapped to its key entry by the item tag in its question's text,
and a choice to the option whose text it is, compared without case, white space, the
characters `_ * " ' & < > \\`` (what Moodle's and Canvas' HTML-to-text conversions add or drop)
and quizgen's own formatting; a formula is compared by its TeX (which Moodle's report keeps),
else left out (Canvas shows it as an image, which its report drops). A row with fewer or more
fields than the header is skipped. Nothing is guessed: a row with a response that cannot be mapped
(its question has no tag of this key, its text is no option's or that of several) is skipped,
and the reason names each such response by its column; so is a row whose questions come from
several variants.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from quizgen import grade, lms
from quizgen.errors import QuizgenError
from quizgen.key import KeyEntry

#: The readers' names (`quizgen grade --from`).
SOURCES = ("csv", "moodle", "canvas")

#: What may separate the fields of an LMS's CSV (Canvas' regional setting uses `;`).
LMS_DELIMITERS = (",", ";", "\t")

#: A response longer than this many characters, or cut into more than this many pieces by the
#: LMS's separator, is not compared with the options (unmappable).
LONGEST_RESPONSE = 10_000
MOST_PIECES = 64

_QUESTION_COLUMN = re.compile(r"q([1-9][0-9]*)")
_MOODLE_RESPONSE = re.compile(r"response (\S+)", re.IGNORECASE)
_CANVAS_QUESTION = re.compile(r"[0-9]+: ")
_MATH = re.compile(r"\\\(.*?\\\)|\\\[.*?\\\]", re.DOTALL)
_MATH_DELIMITER = re.compile(r"\\[()\[\]]")
_TAG = re.compile(r"<[^>]*>")
_IGNORED = re.compile(r"[\s_*\"'&<>`]+")

#: The identity columns of a Moodle report, in the order of preference.
MOODLE_IDENTITY = ("id number", "username", "email address")
#: The identity columns of a Canvas report, in the order of preference.
CANVAS_IDENTITY = ("sis_id", "id", "name")


class _Located:
    """A row of a responses file, at `line` of `file` ("" when only one file is graded)."""

    line: int
    file: str

    @property
    def where(self) -> str:
        """`line 12`, or `moodle-2.csv line 12` when the file is named."""
        return f"{self.file} line {self.line}" if self.file else f"line {self.line}"


@dataclass(frozen=True)
class ResponseRow(_Located):
    """One student's answers: `line` (the row's line number in the file), `student_id`, the key
    `variant` and `answers`, position → response as `quizgen.grade` reads it ("" if blank);
    `file` names the file when several are graded together ("" otherwise)."""

    line: int
    student_id: str
    variant: int
    answers: dict[int, str]
    file: str = ""


@dataclass(frozen=True)
class SkippedRow(_Located):
    """A row that cannot be graded: its line number in the responses CSV (header = line 1), why,
    and the file's name when several are graded together ("" otherwise)."""

    line: int
    reason: str
    file: str = ""


Rows = tuple[list[ResponseRow], list[SkippedRow]]
Variants = dict[int, tuple[KeyEntry, ...]]
Record = tuple[int, list[str]]


def read_responses(path: Path, variants: Variants, source: str = "csv") -> Rows:
    """The rows of a responses file in the layout `source` (see the module docstring) against
    the key's entries per variant (in position order).

    Raises:
        QuizgenError: unknown source; the file is missing, unreadable, not UTF-8 or not CSV; it
            lacks a required header column, or (from an LMS) holds no question of this key (the
            message names the file).
    """
    if source not in _READERS:
        raise QuizgenError(f"unknown responses source {source!r}; known: {', '.join(SOURCES)}")
    delimiters = (",",) if source == "csv" else LMS_DELIMITERS
    records = read_records(path, delimiters) or [(1, [])]  # an empty file: an empty header
    return _READERS[source](records, path, variants)


def read_records(path: Path, delimiters: tuple[str, ...] = (",",)) -> list[Record]:
    """The CSV's records as (first line number, fields), blank lines left out; the fields are
    separated by whichever of `delimiters` splits the first record into the most fields.

    Raises:
        QuizgenError: the file cannot be read, is not UTF-8, or is not valid CSV.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise QuizgenError(f"{path}: cannot read: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise QuizgenError(f"{path}: not UTF-8 text: {error}") from error
    try:
        delimiter = max(delimiters, key=lambda d: len(next(csv.reader(io.StringIO(text), delimiter=d), [])))
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        return [(line, fields) for line, fields in _numbered(reader) if fields]
    except csv.Error as error:
        raise QuizgenError(f"{path}: not valid CSV: {error}") from error


def _numbered(reader: Any) -> Iterator[Record]:
    """Each record of a csv.reader with the line number it starts on."""
    start = 1
    for fields in reader:
        yield start, fields
        start = reader.line_num + 1


def _blank(fields: list[str]) -> bool:
    return not any(field.strip() for field in fields)


# --- quizgen's CSV ---------------------------------------------------------------------------


def _quizgen_rows(records: list[Record], path: Path, variants: Variants) -> Rows:
    """The rows of quizgen's own responses CSV."""
    header = records[0][1]
    positions = [entry.position for group in variants.values() for entry in group]
    columns = _columns(header, path, max(positions, default=0))
    rows, skipped = [], []
    for line, fields in records[1:]:
        if _blank(fields):
            continue
        result = _quizgen_row(line, fields, len(header), columns, variants)
        (skipped if isinstance(result, SkippedRow) else rows).append(result)
    return rows, skipped


def _columns(header: list[str], path: Path, questions: int) -> dict[str, int]:
    """Column name (lower case) → index, for `student_id`, `variant` and every `q<number>`.

    Raises:
        QuizgenError: a required column is missing or repeated (names the file).
    """
    names = [name.strip().lower() for name in header]
    required = ["student_id", "variant", *(f"q{p}" for p in range(1, questions + 1))]
    missing = [name for name in required if name not in names]
    if missing:
        raise QuizgenError(f"{path}: the header must have the columns {', '.join(required)}; "
                           f"missing: {', '.join(missing)}")
    wanted = [n for n in names if n in ("student_id", "variant") or _QUESTION_COLUMN.fullmatch(n)]
    repeated = sorted({name for name in wanted if names.count(name) > 1})
    if repeated:
        raise QuizgenError(f"{path}: repeated header column(s): {', '.join(repeated)}")
    return {name: names.index(name) for name in wanted}


def _quizgen_row(line: int, fields: list[str], width: int, columns: dict[str, int],
                 variants: Variants) -> ResponseRow | SkippedRow:
    """One row of quizgen's CSV, or why it is skipped."""
    if len(fields) != width:
        hint = " (an unquoted comma, as in 34,826?)" if len(fields) > width else ""
        return SkippedRow(line, f"has {len(fields)} fields, the header has {width}{hint}")
    cell = {name: fields[index].strip() for name, index in columns.items()}
    student_id, variant_text = cell["student_id"], cell["variant"]
    if not student_id:
        return SkippedRow(line, "no student_id")
    number = _variant_number(variant_text, variants)
    if number is None:
        return SkippedRow(line, f"student {grade.quoted(student_id)}: unknown variant "
                                f"{grade.quoted(variant_text)}")
    asked = {f"q{entry.position}" for entry in variants[number]}
    extra = [name for name in columns if _QUESTION_COLUMN.fullmatch(name) and cell[name]
             and name not in asked]
    if extra:
        return SkippedRow(line, f"student {grade.quoted(student_id)}: answers {', '.join(extra)}, "
                                f"not in variant {number}")
    return ResponseRow(line, student_id, number,
                       {entry.position: cell[f"q{entry.position}"] for entry in variants[number]})


def _variant_number(text: str, variants: Variants) -> int | None:
    """The key's variant number written as `text` (ASCII digits, leading zeros allowed), or None
    if there is no such variant. Never converts a long text to int (a 5,000-digit number is
    beyond Python's int-from-text limit)."""
    if not re.fullmatch(r"[0-9]+", text):
        return None
    return {str(number): number for number in variants}.get(text.lstrip("0"))


# --- LMS reports -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """How an LMS report holds its responses: `cells(fields)` gives each question cell of a row
    as (column name, question text, response), `student(fields)` the student's name or id;
    `split(response)` cuts a multiple-choice response into its pieces, rejoined by `joiner`;
    `blank` are the responses that mean no answer."""

    cells: Callable[[list[str]], list[tuple[str, str, str]]]
    student: Callable[[list[str]], str]
    split: Callable[[str], list[str]]
    joiner: str
    blank: frozenset[str]


def _lms_rows(records: list[Record], path: Path, variants: Variants, layout: _Layout) -> Rows:
    """The rows of an LMS report, each response mapped to its key entry by its question's tag.

    Raises:
        QuizgenError: no question of the file carries a tag of this key.
    """
    entries = {lms.item_tag(entry): entry for group in variants.values() for entry in group}
    rows, skipped, mapped = [], [], False
    for line, fields in records[1:]:
        if _blank(fields):
            continue
        if len(fields) != len(records[0][1]):
            skipped.append(SkippedRow(line, f"has {len(fields)} fields, the header has "
                                            f"{len(records[0][1])} (a row cut short?)"))
            continue
        cells = layout.cells(fields)
        mapped = mapped or any(_tag(question) in entries for _, question, _ in cells)
        result = _lms_row(line, layout.student(fields), cells, entries, layout)
        (skipped if isinstance(result, SkippedRow) else rows).append(result)
    if (rows or skipped) and not mapped:
        raise QuizgenError(f"{path}: no question carries the tag (quizgen:v<n>-q<n>:<digest>) of a "
                           "question of this key: is it the key of the exported quiz, and does the "
                           "report show the question text?")
    return rows, skipped


def _tag(question: str) -> str | None:
    match = lms.TAG_PATTERN.search(question)
    return match[0] if match else None


def _lms_row(line: int, student_id: str, cells: list[tuple[str, str, str]],
             entries: dict[str, KeyEntry], layout: _Layout) -> ResponseRow | SkippedRow:
    """One row of an LMS report, or why it is skipped (naming each unmappable response)."""
    if not student_id:
        return SkippedRow(line, "no student id")
    who = f"student {grade.quoted(student_id)}"
    answers: dict[str, tuple[KeyEntry, str]] = {}  # by entry id
    problems = []
    for column, question, response in cells:
        if response.strip() in layout.blank:
            continue
        tag = _tag(question)
        entry = entries.get(tag)
        try:
            if entry is None:
                raise grade.ResponseError(f"its question is not one of this key ({tag} is not)" if tag
                                          else "its question is not a quizgen question (no tag)")
            answers[entry.id] = (entry, _answer(entry, response.strip(), layout))
        except grade.ResponseError as error:
            problems.append(f"column {grade.quoted(column)} ({grade.quoted(response)}): {error}")
    variant_numbers = sorted({entry.variant for entry, _ in answers.values()})
    if len(variant_numbers) > 1:
        problems.append(f"answers questions of variants {', '.join(map(str, variant_numbers))}")
    if problems:
        return SkippedRow(line, f"{who}: " + "; ".join(problems))
    if not answers:
        return SkippedRow(line, f"{who}: no answer to a question of this key")
    return ResponseRow(line, student_id, variant_numbers[0],
                       {entry.position: answer for entry, answer in answers.values()})


def _answer(entry: KeyEntry, response: str, layout: _Layout) -> str:
    """An LMS response as `quizgen.grade` reads it: a choice's text as its option number (or
    numbers, comma-separated), any other answer as it is.

    Raises:
        grade.ResponseError: the text is no option's, or could be several options'.
    """
    if entry.kind not in ("single_choice", "multiple_choice"):
        return response
    pieces = (response,) if entry.kind == "single_choice" else tuple(layout.split(response))
    if len(response) > LONGEST_RESPONSE or len(pieces) > MOST_PIECES:
        raise grade.ResponseError("it is too long to be the text of options")
    for with_math in (True, False):  # Moodle keeps a formula's TeX; Canvas drops its image
        options = tuple(_comparable_option(choice.text, with_math) for choice in entry.choices)
        readings = _readings(pieces, layout.joiner, options, with_math)
        if len(readings) == 1:
            break
    if not readings:
        raise grade.ResponseError("it is not the text of an option")
    if len(readings) > 1:
        raise grade.ResponseError("it could be the text of several options")
    (chosen,) = readings
    return ",".join(str(index + 1) for index in sorted(chosen))


def _readings(pieces: tuple[str, ...], joiner: str, options: tuple[str, ...],
              with_math: bool) -> set[frozenset[int]]:
    """Every set of options whose texts, in some order, are the pieces (consecutive pieces
    rejoined by `joiner` may be one option's text: a text that holds the separator)."""

    @cache
    def from_piece(start: int) -> frozenset[frozenset[int]]:
        if start == len(pieces):
            return frozenset({frozenset()})
        found = set()
        for end in range(start + 1, len(pieces) + 1):
            text = _comparable(joiner.join(pieces[start:end]), with_math)
            for index in (i for i, option in enumerate(options) if option == text):
                found.update(rest | {index} for rest in from_piece(end) if index not in rest)
        return frozenset(found)

    return set(from_piece(0))


def _comparable(text: str, with_math: bool) -> str:
    """A plain text as it is compared with an option's: white space, case, the characters LMS
    conversions add or drop, and the math delimiters left out (with `with_math` False, each
    formula left out)."""
    text = html.unescape(text)
    text = _MATH_DELIMITER.sub("", text) if with_math else _MATH.sub("", text)
    return _IGNORED.sub("", text).casefold()


@cache
def _comparable_option(markdown: str, with_math: bool) -> str:
    """An option's Markdown text as an LMS shows it in plain text (its exported HTML without
    tags), made `_comparable`."""
    return _comparable(_TAG.sub("", lms.lms_html(markdown)), with_math)


def _header_index(header: list[str], names: tuple[str, ...]) -> dict[str, int]:
    lowered = [name.strip().lower() for name in header]
    return {name: lowered.index(name) for name in names if name in lowered}


def _field(fields: list[str], index: int) -> str:
    return fields[index].strip() if index < len(fields) else ""


def _moodle_rows(records: list[Record], path: Path, variants: Variants) -> Rows:
    """The rows of Moodle's Responses report.

    Raises:
        QuizgenError: no `Response N` column, or one without its `Question N` column, or no
            column that names the student.
    """
    header = records[0][1]
    names = [name.strip().lower() for name in header]
    slots = [(match[1], index) for index, name in enumerate(names)
             if (match := _MOODLE_RESPONSE.fullmatch(name))]
    if not slots:
        raise QuizgenError(f"{path}: not a Moodle Responses report: no 'Response 1' column")
    missing = [f"Question {slot}" for slot, _ in slots if f"question {slot}" not in names]
    if missing:
        raise QuizgenError(f"{path}: the report lacks the question text ({', '.join(missing)}): "
                           "download it again with 'Question text' ticked in its options")
    questions = [(f"Response {slot}", names.index(f"question {slot}"), index) for slot, index in slots]
    student = _moodle_student(header, path)

    def cells(fields: list[str]) -> list[tuple[str, str, str]]:
        return [(column, _field(fields, question), _field(fields, response))
                for column, question, response in questions]

    layout = _Layout(cells, student, lambda response: response.split("; "), "; ",
                     frozenset({"", "-"}))
    return _lms_rows(records, path, variants, layout)


def _moodle_student(header: list[str], path: Path) -> Callable[[list[str]], str]:
    """The student of a Moodle row: the first identity column, else first and last name.

    Raises:
        QuizgenError: the header has none of these columns.
    """
    identity = _header_index(header, MOODLE_IDENTITY)
    if identity:
        index = identity[next(name for name in MOODLE_IDENTITY if name in identity)]
        return lambda fields: _field(fields, index)
    names = _header_index(header, ("first name", "last name", "surname"))
    if "first name" not in names or not {"last name", "surname"} & set(names):
        raise QuizgenError(f"{path}: no column names the student (one of ID number, Username, "
                           "Email address, or First name and Last name)")
    first, last = names["first name"], names.get("last name", names.get("surname"))
    return lambda fields: " ".join(filter(None, (_field(fields, first), _field(fields, last))))


def _canvas_rows(records: list[Record], path: Path, variants: Variants) -> Rows:
    """The rows of Canvas' Student Analysis report.

    Raises:
        QuizgenError: no question column, or no column that names the student.
    """
    header = records[0][1]
    questions = [(name.strip(), index) for index, name in enumerate(header)
                 if _CANVAS_QUESTION.match(name.strip()) or lms.TAG_PATTERN.search(name)]
    if not questions:
        raise QuizgenError(f"{path}: not a Canvas Student Analysis report: no column headed "
                           "'<question id>: <question text>'")
    identity = _header_index(header, CANVAS_IDENTITY)
    filled = [name for name in CANVAS_IDENTITY if name in identity
              and any(_field(fields, identity[name]) for _, fields in records[1:])]
    if not filled:
        raise QuizgenError(f"{path}: no column names the student (sis_id, id or name)")
    student = identity[filled[0]]

    def cells(fields: list[str]) -> list[tuple[str, str, str]]:
        return [(name, name, _field(fields, index)) for name, index in questions]

    def split(response: str) -> list[str]:
        return [piece.replace("\\,", ",") for piece in re.split(r"(?<!\\),", response)]

    layout = _Layout(cells, lambda fields: _field(fields, student), split, ",", frozenset({""}))
    return _lms_rows(records, path, variants, layout)


_READERS: dict[str, Callable[[list[Record], Path, Variants], Rows]] = {
    "csv": _quizgen_rows, "moodle": _moodle_rows, "canvas": _canvas_rows,
}
