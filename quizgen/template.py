"""A question template as data: `Template` (its subject, texts and asks) and `Ask` (one question
about the subject), and the Jinja2 environment their texts render in.

`quizgen.bank` reads and validates templates from YAML files; the families of
`quizgen.families` make questions from their asks. Question banks are shared, so a template's
texts are untrusted: they render in a Jinja2 sandbox (`TEMPLATE_ENV`), which refuses access to
Python internals, and `check_text` refuses at load time what can never render there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import jinja2.nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from quizgen.errors import TemplateError
from quizgen.facts import FactRef
from quizgen.spec import FrozenDict, ModelSpec, Task

#: Bounds of what a text may compute: characters of a repeated string or list, bits of an
#: integer made by `*` or `**`.
MAX_REPEATED = 100_000
MAX_INTEGER_BITS = 100_000
#: How many characters of a Jinja2 error an error message quotes.
MESSAGE_LIMIT = 200


def _bits(value: Any) -> int | None:
    return value.bit_length() if isinstance(value, int) else None


class TextEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox of template texts: Jinja2's immutable sandbox (no attribute starting with
    `_`, no internals of functions or frames, no mutation of lists and dicts, `range` bounded)
    whose `*` and `**` refuse to build huge strings, lists or integers."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """`left operator right`, after checking the size of the result.

        Raises:
            SecurityError: the result would be longer than `MAX_REPEATED` items or an
                integer of more than `MAX_INTEGER_BITS` bits.
        """
        lefts, rights = _bits(left), _bits(right)
        if operator == "*":
            for sequence, count in ((left, rights), (right, lefts)):
                if isinstance(sequence, str | list | tuple) and count is not None \
                        and len(sequence) * right_count(count) > MAX_REPEATED:
                    raise SecurityError(f"a repetition longer than {MAX_REPEATED} is unsafe")
            if lefts is not None and rights is not None and lefts + rights > MAX_INTEGER_BITS:
                raise SecurityError(f"an integer of more than {MAX_INTEGER_BITS} bits is unsafe")
        if operator == "**" and lefts is not None and rights is not None and right > 0 \
                and lefts * right > MAX_INTEGER_BITS:
            raise SecurityError(f"an integer of more than {MAX_INTEGER_BITS} bits is unsafe")
        return super().call_binop(context, operator, left, right)


def right_count(count: int) -> int:
    """How many times a sequence is repeated by `* count` (the bit length's bound)."""
    return 2 ** min(count, 64)


#: The environment of template texts: a sandbox (`TextEnvironment`) where a missing variable is
#: an error, never a blank.
TEMPLATE_ENV = TextEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)


@dataclass(frozen=True)
class Ask:
    """One question about a template's model: the fact, how to pick the layer, the allowed
    response forms, and the question text (a Jinja2 template)."""

    fact: str
    text: str
    layer: int | tuple[tuple[str, ...], str] | None = None
    axis: str | None = None
    weight: str | None = None
    response: tuple[str, ...] = ("single_choice", "free")
    count: int = 4
    quantity: str | None = None
    statements: tuple[tuple[str, FrozenDict | None], ...] | None = None

    def ref(self, layer: int | None) -> FactRef:
        """The `FactRef` this ask makes about `layer`."""
        return FactRef(self.fact, layer, self.axis, self.weight, self.quantity)


@dataclass(frozen=True)
class Template:
    """A validated question template. Its subject is drawn by a sampler (`sampler`, `options`)
    or `fixed`: a `ModelSpec`, or a by-hand `Task`; `content_hash` is the SHA-256 of the file's
    bytes."""

    id: str
    path: Path
    title: str
    topic: str
    difficulty: int
    tags: tuple[str, ...]
    stem: str
    code_style: str
    sampler: str | None
    options: dict[str, Any] | None
    fixed: ModelSpec | Task | None
    asks: tuple[Ask, ...]
    reading: tuple[tuple[str, str], ...]
    content_hash: str

    def __hash__(self) -> int:
        return hash(self.content_hash + self.id)


@cache
def _compiled(text: str) -> jinja2.Template:
    """A template text compiled once (Jinja2's `from_string` compiles it on every call)."""
    return TEMPLATE_ENV.from_string(text)


def render_text(text: str, context: dict[str, Any], where: str) -> str:
    """A template text rendered with `context`, stripped.

    Raises:
        TemplateError: the text uses an undefined variable; the message starts with `where`
            (e.g. `conv-params.yaml: asks[0].text`).
    """
    try:
        return _compiled(text).render(**context).strip()
    except jinja2.UndefinedError as error:
        raise TemplateError(f"{where}: {error.message}") from error


def variables(text: str) -> set[str]:
    """The variables a template text uses (e.g. `{"summary"}` for a stem with `{{ summary }}`)."""
    return jinja2.meta.find_undeclared_variables(TEMPLATE_ENV.parse(text))
