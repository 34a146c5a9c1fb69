"""Grading one response against one key entry.

Responses are text, as a student writes them or a CSV holds them:

- `single_choice`: the option number as printed (`2`);
- `numeric`: a number, thousands separators allowed (`34,826`, `34826`), within `tolerance`;
- `shape`: a tuple in any usual spelling: `(None, 13, 13, 32)`, `[None, 13, 13, 32]`,
  `13x13x32`, `13 × 13 × 32`, `None,13,13,32`. For output shapes the batch axis may be left
  out (`13x13x32` is read as `(None, 13, 13, 32)`).

A correct response scores 1, any other valid response 0. An unparsable one raises
`ResponseError`: it is rejected, not graded.
"""

from __future__ import annotations

import re
from typing import Any

from quizgen.errors import QuizgenError


class ResponseError(QuizgenError):
    """A response that cannot be read as an answer of its question's kind."""


_SHAPE_SEPARATORS = re.compile(r"\s*(?:,|x|×|\*)\s*", re.IGNORECASE)


def parse_number(text: str) -> float:
    """`"34,826"` → 34826.0.

    Raises:
        ResponseError: not a number.
    """
    cleaned = text.strip().replace(",", "").replace("_", "").replace(" ", "")
    try:
        return float(cleaned)
    except ValueError:
        raise ResponseError(f"{text!r} is not a number") from None


def parse_shape(text: str) -> list[int | None]:
    """`"(None, 13, 13, 32)"`, `"13x13x32"`, `"[13, 13, 32]"` → a list (None for the batch axis).

    Raises:
        ResponseError: not a shape.
    """
    inner = text.strip().strip("()[]").strip().rstrip(",")
    if not inner:
        raise ResponseError(f"{text!r} is not a shape")
    shape: list[int | None] = []
    for part in _SHAPE_SEPARATORS.split(inner):
        if part.lower() in ("none", "null", "?", "batch"):
            shape.append(None)
        elif part.isdigit():
            shape.append(int(part))
        else:
            raise ResponseError(f"{text!r} is not a shape (cannot read {part!r})")
    return shape


def parse_option(text: str, count: int) -> int:
    """An option number 1..count → its 0-based index.

    Raises:
        ResponseError: not one of the option numbers.
    """
    cleaned = text.strip().rstrip(".)")
    if not cleaned.isdigit() or not 1 <= int(cleaned) <= count:
        raise ResponseError(f"{text!r} is not an option number from 1 to {count}")
    return int(cleaned) - 1


def score(entry: dict[str, Any], response: str) -> float:
    """The score (0 or 1) of `response` to the key entry `entry`.

    Raises:
        ResponseError: the response cannot be read as an answer of the entry's kind.
    """
    kind, answer = entry["kind"], entry["answer"]
    if kind == "single_choice":
        choice = entry["choices"][parse_option(response, len(entry["choices"]))]
        return 1.0 if choice["correct"] else 0.0
    if kind == "numeric":
        return 1.0 if abs(parse_number(response) - answer) <= entry.get("tolerance", 0) else 0.0
    if kind == "shape":
        shape = parse_shape(response)
        if answer and answer[0] is None and shape and shape[0] is not None:
            shape = [None, *shape]
        return 1.0 if shape == answer else 0.0
    raise ResponseError(f"cannot grade questions of kind {kind!r}")


def correct_response(entry: dict[str, Any]) -> str:
    """A response that must score full marks: the option number, or the answer as printed."""
    if entry["kind"] == "single_choice":
        return str(next(i for i, c in enumerate(entry["choices"], 1) if c["correct"]))
    return entry["answer_text"]


def self_test(entry: dict[str, Any]) -> list[str]:
    """PrairieLearn-style self-test of one entry: the key's answer scores full marks, each
    distractor scores zero, and an invalid response is rejected. Returns the problems."""
    problems = []
    try:
        if score(entry, correct_response(entry)) != 1.0:
            problems.append("the key's own answer does not score full marks")
    except ResponseError as error:
        problems.append(f"the key's own answer is rejected: {error}")
    for number, choice in enumerate(entry.get("choices") or [], 1):
        if not choice["correct"] and score(entry, str(number)) != 0.0:
            problems.append(f"distractor {number} ({choice['text']}) scores marks")
    try:
        score(entry, "not an answer")
        problems.append("an invalid response was graded instead of rejected")
    except ResponseError:
        pass
    return problems
