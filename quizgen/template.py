"""A question template as data: `Template` (its subject, texts and asks) and `Ask` (one question
about the subject), and the Jinja2 environment their texts render in.

`quizgen.bank` reads and validates templates from YAML files; the families of
`quizgen.families` make questions from their asks. Question banks are shared, so a template's
texts are untrusted: they render in a Jinja2 sandbox (`TEMPLATE_ENV`), which refuses access to
Python internals, and `check_text` refuses at load time what can never render there.
"""

from __future__ import annotations

import re
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


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class TextEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox of template texts: Jinja2's immutable sandbox (no attribute starting with
    `_`, no internals of functions or frames, no mutation of lists and dicts, `range` bounded)
    whose `*` and `**` also refuse to build huge strings, lists or integers."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """`left operator right`, after checking the size of the result.

        Raises:
            SecurityError: the result would be a string or list of more than `MAX_REPEATED`
                items, or an integer of more than `MAX_INTEGER_BITS` bits.
        """
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and _integer(count) \
                        and len(sequence) * count > MAX_REPEATED:
                    raise SecurityError(f"repeating a sequence to more than {MAX_REPEATED} items "
                                        "is unsafe")
            if _integer(left) and _integer(right) \
                    and left.bit_length() + right.bit_length() > MAX_INTEGER_BITS:
                raise SecurityError(f"an integer of more than {MAX_INTEGER_BITS} bits is unsafe")
        if operator == "**" and _integer(left) and _integer(right) \
                and left.bit_length() * right > MAX_INTEGER_BITS:
            raise SecurityError(f"an integer of more than {MAX_INTEGER_BITS} bits is unsafe")
        return super().call_binop(context, operator, left, right)


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
    true_count: int | None = None
    quantity: str | None = None
    statements: tuple[tuple[str, FrozenDict | None], ...] | None = None
    kinds: tuple[str, ...] | None = None

    @property
    def true_statements(self) -> int:
        """How many of a statements question's `count` statements are true: `true_count`, by
        default half of `count` (rounded down), the same in every variant."""
        return self.true_count if self.true_count is not None else self.count // 2

    @property
    def picks_at_random(self) -> bool:
        """Whether the ask's layer is drawn at random among those its class filter matches."""
        return isinstance(self.layer, tuple) and self.layer[1] == "any"

    def ref(self, layer: int | None) -> FactRef:
        """The `FactRef` this ask makes about `layer`."""
        return FactRef(self.fact, layer, self.axis, self.weight, self.quantity)


@dataclass(frozen=True)
class Template:
    """A validated question template. Its subject is drawn by a sampler (`sampler`, `options`)
    or `fixed`: a `ModelSpec`, or a by-hand `Task`; `content_hash` is the SHA-256 of the file's
    bytes (and of its model file's); `features` are the difficulty features of its instances
    (`quizgen.difficulty`); `source` is the instructor's Python file its fixed model comes from
    (`model: {file: ...}`, or `quizgen generate --model`), shown verbatim as its code, and
    `source_file` that file's name."""

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
    features: tuple[str, ...] = ()
    source: str | None = None
    source_file: str | None = None

    def __hash__(self) -> int:
        return hash(self.content_hash + self.id)


@cache
def _compiled(text: str) -> jinja2.Template:
    """A template text compiled once (Jinja2's `from_string` compiles it on every call)."""
    return TEMPLATE_ENV.from_string(text)


def _clip(text: str, limit: int = MESSAGE_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


#: Tags that load other templates: there is no loader, so they can never render.
_LOADING = (jinja2.nodes.Extends, jinja2.nodes.Include, jinja2.nodes.Import,
            jinja2.nodes.FromImport)


def _unsafe(tree: jinja2.nodes.Template) -> str | None:
    """What in a parsed text can never render in the sandbox: an attribute starting with `_`
    (`x._y`, `x|attr("_y")`; no template variable has one) or a tag that loads a template."""
    for node in tree.find_all((jinja2.nodes.Getattr, jinja2.nodes.Filter, *_LOADING)):
        if isinstance(node, _LOADING):
            return f"{type(node).__name__.lower()} tags are not allowed (texts cannot load templates)"
        if isinstance(node, jinja2.nodes.Getattr):
            name = node.attr
        elif node.name == "attr" and node.args and isinstance(node.args[0], jinja2.nodes.Const):
            name = node.args[0].value
        else:
            continue
        if isinstance(name, str) and name.startswith("_"):
            return (f"access to attribute {_clip(repr(name), 40)} is unsafe (texts render in a "
                    "sandbox)")
    return None


def check_text(text: str, where: str) -> None:
    """Check a template text at load time in the environment it renders in (`TEMPLATE_ENV`):
    it parses and compiles, and uses nothing the sandbox refuses for certain.

    Raises:
        TemplateError: a Jinja2 syntax error, a text nested too deeply to compile, an unsafe
            attribute (`x.__class__`) or a tag that loads a template; the message starts with
            `where` (e.g. `conv-params.yaml: asks[0].text`).
    """
    try:
        tree = TEMPLATE_ENV.parse(text)
        unsafe = _unsafe(tree)
        if unsafe is None:
            _compiled(text)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(f"{where}: Jinja2 syntax error line {error.lineno}: "
                            f"{_clip(str(error.message))}") from None
    except (RecursionError, MemoryError):
        raise TemplateError(f"{where}: nested too deeply") from None
    if unsafe is not None:
        raise TemplateError(f"{where}: unsafe: {unsafe}")


def render_text(text: str, context: dict[str, Any], where: str) -> str:
    """A template text rendered with `context` in the sandbox (`TEMPLATE_ENV`), stripped.

    Raises:
        TemplateError: the text uses an undefined variable, does something the sandbox refuses
            ("unsafe": Python internals, huge repetitions), or fails in any other way (a syntax
            error, a division by zero); the message starts with `where` (e.g.
            `conv-params.yaml: asks[0].text`) and quotes at most `MESSAGE_LIMIT` characters of
            the error. Nothing of the text runs outside the sandbox.
    """
    try:
        return _compiled(text).render(**context).strip()
    except SecurityError as error:
        raise TemplateError(f"{where}: unsafe: {_clip(str(error.message))}") from None
    except jinja2.UndefinedError as error:
        raise TemplateError(f"{where}: {_clip(str(error.message))}") from error
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(f"{where}: Jinja2 syntax error line {error.lineno}: "
                            f"{_clip(str(error.message))}") from None
    except (RecursionError, MemoryError):
        raise TemplateError(f"{where}: nested too deeply") from None
    except Exception as error:  # whatever an untrusted text raises is the template's fault
        raise TemplateError(f"{where}: cannot render: {type(error).__name__}: "
                            f"{_clip(str(error))}") from None


@cache
def variables(text: str) -> frozenset[str]:
    """The variables a template text uses (e.g. `{"summary"}` for a stem with `{{ summary }}`);
    remembered per text (parsing took a millisecond, asked for every item drawn)."""
    return frozenset(jinja2.meta.find_undeclared_variables(TEMPLATE_ENV.parse(text)))


def fenced(code: str, language: str = "python") -> str:
    """`code` as a Markdown code block: a fence of backticks longer than any run of them in
    the code (an instructor's file may hold a docstring with ``` in it), at least three
    (https://spec.commonmark.org/0.31.2/#fenced-code-blocks)."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code}\n{fence}"
