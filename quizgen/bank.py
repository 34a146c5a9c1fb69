"""The question bank: load and validate the YAML question templates of a folder.

Each `*.yaml` file is one template (its id is the file name without `.yaml`), read with
`yaml.safe_load` and validated against `schemas/template.schema.json`. Errors name the file and
the field (`conv-params.yaml: asks[0].fact: 'paramz' is not one of [...]`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import jsonschema
import yaml

from quizgen.errors import BatchError, TemplateError
from quizgen.facts import FactRef
from quizgen.resources import data_dir
from quizgen.spec import FrozenDict, ModelSpec, Task, freeze
from quizgen.statements import KINDS

TEMPLATE_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)


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
def _schema_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((data_dir("schemas") / "template.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def _field(path: Any) -> str:
    """`['asks', 0, 'fact']` → `asks[0].fact`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _check_jinja(text: str, where: str) -> None:
    try:
        TEMPLATE_ENV.parse(text)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(
            f"{where}: Jinja2 syntax error line {error.lineno}: {error.message}") from error


def _ask(data: dict[str, Any]) -> Ask:
    layer = data.get("layer")
    if isinstance(layer, dict):
        layer = (tuple(layer["class_name"]), layer.get("pick", "any"))
    statements = data.get("statements")
    if statements is not None:
        statements = tuple((s["kind"], freeze(s["claim"]) if "claim" in s else None)
                           for s in statements)
    return Ask(fact=data["fact"], text=data["text"], layer=layer, axis=data.get("axis"),
               weight=data.get("weight"),
               response=tuple(data.get("response", ("single_choice", "free"))),
               count=data.get("count", 4), quantity=data.get("quantity"), statements=statements)


def load_template(path: Path) -> Template:
    """Load and validate one template file.

    Raises:
        TemplateError: unreadable file, invalid YAML, a schema violation or a Jinja2 syntax
            error; the message names the file and the field.
    """
    name = path.name
    try:
        raw = path.read_bytes()
        data = yaml.safe_load(raw)
    except OSError as error:
        raise TemplateError(f"{name}: cannot read: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise TemplateError(f"{name}: invalid YAML: {error}") from error
    errors = sorted(_schema_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        details = "; ".join(f"{_field(e.absolute_path)}: {e.message}" for e in errors[:5])
        raise TemplateError(f"{name}: {details}")
    model = data.get("model") or data["task"]
    if "layers" in model:
        fixed = ModelSpec.from_json(model, f"{name}: model")
    elif "input" in model:
        fixed = Task.from_json(model, f"{name}: task")
    else:
        fixed = None
    for index, ask in enumerate(data["asks"]):
        _check_jinja(ask["text"], f"{name}: asks[{index}].text")
        for number, statement in enumerate(ask.get("statements") or ()):
            if statement["kind"] not in KINDS:
                raise TemplateError(f"{name}: asks[{index}].statements[{number}].kind: unknown "
                                    f"kind {statement['kind']!r}; known: {', '.join(KINDS)}")
    _check_jinja(data.get("stem", ""), f"{name}: stem")
    return Template(
        id=path.stem, path=path, title=data["title"], topic=data["topic"],
        difficulty=data["difficulty"], tags=tuple(data.get("tags", ())),
        stem=data.get("stem", "Consider the following Keras model:"),
        code_style=data.get("code_style", "sequential"),
        sampler=model.get("sampler"), options=model.get("options"), fixed=fixed,
        asks=tuple(_ask(ask) for ask in data["asks"]),
        reading=tuple((item["title"], item["url"]) for item in data.get("reading", ())),
        content_hash=hashlib.sha256(raw).hexdigest(),
    )


def load_bank(folder: Path | None = None) -> list[Template]:
    """Load every `*.yaml` template of `folder` (default: the bundled `question_bank/`),
    sorted by id. All files are checked; their errors are reported together.

    Raises:
        TemplateError: the folder does not exist or holds no template.
        BatchError: one or more templates are invalid (one message per file).
    """
    folder = data_dir("question_bank") if folder is None else Path(folder)
    if not folder.is_dir():
        raise TemplateError(f"{folder}: no such question bank folder")
    templates, failures = [], []
    for path in sorted(folder.glob("*.yaml")):
        try:
            templates.append(load_template(path))
        except TemplateError as error:
            failures.append(str(error))
    if failures:
        raise BatchError("template(s)", failures)
    if not templates:
        raise TemplateError(f"{folder}: no *.yaml question templates")
    return templates


def select(templates: list[Template], tags: list[str] | None = None,
           ids: list[str] | None = None, topics: list[str] | None = None,
           difficulties: list[int] | None = None) -> list[Template]:
    """Templates carrying all `tags` (or named in `ids`), of one of `topics` and
    `difficulties` when given. Without tags or ids, every template except the `classic` ones
    (fixed seed questions, the same in every variant).

    Raises:
        TemplateError: nothing matches, or an id is unknown.
    """
    templates = [t for t in templates if (not topics or t.topic in topics)
                 and (not difficulties or t.difficulty in difficulties)]
    if ids:
        by_id = {template.id: template for template in templates}
        unknown = [template_id for template_id in ids if template_id not in by_id]
        if unknown:
            raise TemplateError(f"unknown template(s): {', '.join(unknown)}")
        return [by_id[template_id] for template_id in ids]
    if tags:
        chosen = [t for t in templates if all(tag in t.tags for tag in tags)]
    else:
        chosen = [t for t in templates if "classic" not in t.tags]
    if not chosen:
        wanted = [f"{name} {', '.join(map(str, values))}" for name, values in (
            ("tag(s)", tags), ("topic(s)", topics), ("difficulty", difficulties)) if values]
        raise TemplateError(f"no template matches {' and '.join(wanted) or 'the selection'}")
    return chosen
