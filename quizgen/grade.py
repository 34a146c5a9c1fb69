"""Grading one response against one key entry.

Responses are text, as a student writes them or a CSV holds them:

- `single_choice`: the option number as printed (`2`);
- `multiple_choice`: the chosen option numbers, comma-separated (`1,3`; `none` when no option is
  chosen; repeating a number counts once);
- `numeric`: a number in ASCII digits, thousands separators allowed where they separate
  thousands (`34,826`, `1 234 567`, `34826`; not `2,4,0,0` or `1,23`), within `tolerance`;
- `shape`: a tuple in any usual spelling: `(None, 13, 13, 32)`, `[None, 13, 13, 32]`,
  `13x13x32`, `13 × 13 × 32`, `None,13,13,32`. For output shapes the batch axis may be left
  out (`13x13x32` is read as `(None, 13, 13, 32)`);
- `matrix`: a 2-D array as JSON (`[[2, 2, 3], [1, 2, 1]]`), matched element by element within
  `tolerance` (`MATRIX_TOLERANCE` if the entry has none).

A correct response scores 1, a wrong one 0; only `multiple_choice` gives partial credit (see
`multiple_choice_score`). An unparsable response raises `ResponseError`: it is rejected, not
graded. So is a number too large for a float (a 5,000-digit number, `1e400`: it would be read
as infinity), in every kind. Each parser takes time linear in the response's length, and the
error message quotes at most the first `QUOTED` characters of the response.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING

from quizgen.errors import QuizgenError

if TYPE_CHECKING:  # grading needs only the entry's fields, not the pipeline that made it
    from quizgen.key import KeyEntry


#: Accepted absolute error per element of a matrix answer whose entry gives no tolerance (the
#: by-hand averages are printed with 6 decimals).
MATRIX_TOLERANCE = 1e-6


class ResponseError(QuizgenError):
    """A response that cannot be read as an answer of its question's kind."""


#: Texts longer than this are quoted in error messages by their first characters only.
QUOTED = 60

#: What separates the axes of a shape (the spaces around a separator are stripped off the axes).
_SHAPE_SEPARATORS = re.compile(r"[,x×*]", re.IGNORECASE)

#: A number as a student writes it: ASCII digits, a sign, a point and an exponent (not `nan`,
#: `inf` or other digits Python's `float` would read). The digits before the point may be
#: grouped by thousands with one kind of separator, `,`, `_` or a space: a first group of 1 to
#: 3 digits not starting with 0, then groups of exactly 3 (`34,826`, `1_234_567`, `1 234.5`).
#: No part repeats a part it could also be, so matching takes time linear in the length.
_NUMBER = re.compile(r"""
    [+-]?
    (?: (?: [0-9]+ | [1-9][0-9]{0,2} (?P<separator>[,_\ ]) [0-9]{3} (?: (?P=separator) [0-9]{3} )* )
        (?: \.[0-9]* )?
      | \.[0-9]+ )
    (?: [eE][+-]?[0-9]+ )?
""", re.VERBOSE)

#: The thousands separators `_NUMBER` allows.
_THOUSANDS = re.compile(r"[,_ ]")


def quoted(text: str) -> str:
    """`text` as error messages (here and in `quizgen.gradebook`) quote it: its repr, cut to its
    first `QUOTED` characters (and its length) if it is longer."""
    if len(text) <= QUOTED:
        return repr(text)
    return f"{text[:QUOTED]!r}… ({len(text):,} characters)"


def parse_number(text: str) -> float:
    """`"34,826"` → 34826.0.

    Raises:
        ResponseError: not a number of ASCII digits (thousands separators `,`, `_` or spaces
            allowed between groups of three digits before the point, see `_NUMBER`), or a
            number too large for a float.
    """
    stripped = text.strip()
    if not _NUMBER.fullmatch(stripped):
        raise ResponseError(f"{quoted(text)} is not a number")
    value = float(_THOUSANDS.sub("", stripped))
    if not math.isfinite(value):
        raise ResponseError(f"{quoted(text)} is not a number (too large)")
    return value


def _whole(part: str) -> int | None:
    """The value of `part` if it is a whole number written in ASCII digits that a float can
    hold (at most about 1.8e308: no 5,000-digit number), else None."""
    if not (part.isascii() and part.isdigit()) or not math.isfinite(float(part)):
        return None
    return int(part.lstrip("0") or "0")  # without its leading zeros, under int's 4,300 digits


def parse_shape(text: str) -> list[int | None]:
    """`"(None, 13, 13, 32)"`, `"13x13x32"`, `"[13, 13, 32]"` → a list (None for the batch axis).

    Raises:
        ResponseError: not a shape (an axis is neither a batch word nor a whole number that a
            float can hold).
    """
    inner = text.strip().strip("()[]").strip().rstrip(",")
    if not inner:
        raise ResponseError(f"{quoted(text)} is not a shape")
    shape: list[int | None] = []
    for part in (part.strip() for part in _SHAPE_SEPARATORS.split(inner)):
        if part.lower() in ("none", "null", "?", "batch"):
            shape.append(None)
        elif (size := _whole(part)) is not None:
            shape.append(size)
        else:
            raise ResponseError(f"{quoted(text)} is not a shape (cannot read {quoted(part)})")
    return shape


def parse_option(text: str, count: int) -> int:
    """An option number 1..count → its 0-based index.

    Raises:
        ResponseError: not one of the option numbers.
    """
    number = _whole(text.strip().rstrip(".)"))
    if number is None or not 1 <= number <= count:
        raise ResponseError(f"{quoted(text)} is not an option number from 1 to {count}")
    return number - 1


def parse_options(text: str, count: int) -> frozenset[int]:
    """`"1, 3"` → the 0-based indices {0, 2} of the chosen options; `"none"` → no option.

    Raises:
        ResponseError: a part is not an option number from 1 to `count`.
    """
    if text.strip().lower() == "none":
        return frozenset()
    return frozenset(parse_option(part, count) for part in text.split(","))


def parse_matrix(text: str) -> list[list[float]]:
    """`"[[2, 2, 3], [1, 2, 1]]"` (JSON) → the rows, as lists of floats.

    Raises:
        ResponseError: not JSON (or nested too deeply for the JSON reader, as 50,000 `[`), or
            not a non-empty list of equally long, non-empty lists of numbers that a float can
            hold (no NaN, no 1e400 or 5,000-digit number).
    """
    try:  # integers read as floats: a 5,000-digit one is infinite (rejected below), not an error
        rows = json.loads(text, parse_int=float)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        raise ResponseError(f"{quoted(text)} is not a matrix (JSON like [[1, 2], [3, 4]])") from None
    if (not isinstance(rows, list) or not rows or not all(isinstance(row, list) and row for row in rows)
            or len({len(row) for row in rows}) != 1):
        raise ResponseError(f"{quoted(text)} is not a matrix: rows must be non-empty and equally long")
    if not all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
               for row in rows for x in row):
        raise ResponseError(f"{quoted(text)} is not a matrix of (finite) numbers")
    return rows


def multiple_choice_score(correct: frozenset[int], chosen: frozenset[int], count: int) -> float:
    """Partial credit of a multiple-choice response, in [0, 1].

    Per option, as Moodle's "multiple answers" grading with the usual option weights: each
    correct option chosen earns 1/k, each wrong option chosen costs 1/(n − k), floored at 0
    (k = correct options, n = `count` options). All correct and no wrong options chosen scores 1;
    choosing every option scores 0. If no option is correct (k = 0), only choosing none scores
    (1), anything else 0.
    """
    if not correct:
        return 0.0 if chosen else 1.0
    wrong = count - len(correct)
    earned = len(chosen & correct) / len(correct)
    penalty = len(chosen - correct) / wrong if wrong else 0.0
    return max(0.0, earned - penalty)


def _matrix_score(answer: list[list[float]], rows: list[list[float]], tolerance: float) -> float:
    """1 if `rows` has the answer's dimensions and every element is within `tolerance`, else 0."""
    if [len(row) for row in rows] != [len(want) for want in answer]:
        return 0.0
    close = all(abs(x - y) <= tolerance for row, want in zip(rows, answer, strict=True)
                for x, y in zip(row, want, strict=True))
    return 1.0 if close else 0.0


def score(entry: KeyEntry, response: str) -> float:
    """The score of `response` to the key entry `entry`: 0 or 1, or a fraction of 1 for
    `multiple_choice` (see `multiple_choice_score`).

    Raises:
        ResponseError: the response cannot be read as an answer of the entry's kind.
    """
    kind, answer, tolerance = entry.kind, entry.answer, entry.tolerance or 0
    if kind == "single_choice":
        choice = entry.choices[parse_option(response, len(entry.choices))]
        return 1.0 if choice.correct else 0.0
    if kind == "multiple_choice":
        count = len(entry.choices)
        correct = frozenset(i for i, choice in enumerate(entry.choices) if choice.correct)
        return multiple_choice_score(correct, parse_options(response, count), count)
    if kind == "matrix":
        return _matrix_score(answer, parse_matrix(response),
                             MATRIX_TOLERANCE if entry.tolerance is None else tolerance)
    if kind == "numeric":
        return 1.0 if abs(parse_number(response) - answer) <= tolerance else 0.0
    if kind == "shape":
        shape = parse_shape(response)
        if answer and answer[0] is None and shape and shape[0] is not None:
            shape = [None, *shape]
        return 1.0 if shape == answer else 0.0
    raise ResponseError(f"cannot grade questions of kind {kind!r}")


def correct_response(entry: KeyEntry) -> str:
    """A response that must score full marks: the option number(s) (`none` for a multiple-choice
    question without a correct option), the matrix as JSON, or the answer as printed."""
    if entry.kind == "single_choice":
        return str(next(i for i, c in enumerate(entry.choices, 1) if c.correct))
    if entry.kind == "multiple_choice":
        return ",".join(str(i) for i, c in enumerate(entry.choices, 1) if c.correct) or "none"
    if entry.kind == "matrix":
        return json.dumps(entry.answer)
    return entry.answer_text


def self_test(entry: KeyEntry) -> list[str]:
    """PrairieLearn-style self-test of one entry: the key's answer scores full marks, each
    distractor scores zero, and an invalid response is rejected. Returns the problems."""
    problems = []
    try:
        if score(entry, correct_response(entry)) != 1.0:
            problems.append("the key's own answer does not score full marks")
    except ResponseError as error:
        problems.append(f"the key's own answer is rejected: {error}")
    for number, choice in enumerate(entry.choices, 1):
        if not choice.correct and score(entry, str(number)) != 0.0:
            problems.append(f"distractor {number} ({choice.text}) scores marks")
    try:
        score(entry, "not an answer")
        problems.append("an invalid response was graded instead of rejected")
    except ResponseError:
        pass
    return problems
