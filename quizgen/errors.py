"""The exception family of quizgen: every error a user can cause is a `QuizgenError`.

The CLI prints a `QuizgenError` as one message, without a traceback, and exits non-zero.
"""

import reprlib
from typing import Any


class QuizgenError(Exception):
    """Root of quizgen's errors; the message names the file, template and field at fault."""


class TemplateError(QuizgenError):
    """A question template (or its bank folder) is malformed: YAML, schema or content."""


class ArchitectureError(QuizgenError):
    """Keras cannot build a model: an impossible architecture (for example a 0×0 feature map)."""


class QuestionError(QuizgenError):
    """A question cannot be made from a template and model (for example too few distractors)."""


class BatchError(QuizgenError):
    """Several items of a batch run failed; `failures` holds one message per item."""

    def __init__(self, what: str, failures: list[str]):
        self.failures = failures
        lines = "\n".join(f"  - {failure}" for failure in failures)
        super().__init__(f"{len(failures)} {what} failed:\n{lines}")


#: How many characters of a value an error message quotes.
QUOTE_LIMIT = 80

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxtuple, _REPR.maxlist, _REPR.maxdict = 3, 6, 6, 4
_REPR.maxset = _REPR.maxfrozenset = _REPR.maxdeque = _REPR.maxarray = 6
_REPR.maxstring, _REPR.maxlong, _REPR.maxother = QUOTE_LIMIT, 40, QUOTE_LIMIT


def quote(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """A short `repr` of `value` for an error message: at most `limit` characters, and bounded
    work however large or deeply nested the value is (a YAML alias bomb is never expanded)."""
    try:
        text = _REPR.repr(value)
    except ValueError:  # an integer too long to print
        text = f"<{type(value).__name__}>"
    return clip(text, limit)


def clip(text: str, limit: int = 2 * QUOTE_LIMIT) -> str:
    """`text` cut to at most `limit` characters (an ellipsis marks the cut)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"
