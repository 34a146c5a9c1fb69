"""The question bank: load and validate the YAML question templates of a folder.

Each `*.yaml` file is one template (its id is the file name without `.yaml`), read with
`yaml.safe_load` and validated against `schemas/template.schema.json`. Errors name the file and
the field (`conv-params.yaml: asks[0].fact: 'paramz' is not one of [...]`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import jsonschema
import yaml

from quizgen import families
from quizgen.errors import BatchError, TemplateError
from quizgen.resources import data_dir
from quizgen.spec import CODE_STYLES, ModelSpec, Task, freeze
from quizgen.template import TEMPLATE_ENV, Ask, Template


def _filling_defaults(properties_rule):
    """The schema's `properties` rule, filling in each property's `default` first: the schema
    is the one place a template's defaults are written."""

    def rule(validator: Any, properties: dict[str, Any], instance: Any,
             schema: dict[str, Any]) -> Iterator[jsonschema.ValidationError]:
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(name, subschema["default"])
        yield from properties_rule(validator, properties, instance, schema)

    return rule


@cache
def _schema_validator() -> jsonschema.Draft202012Validator:
    """The validator of `schemas/template.schema.json`, which fills in the defaults."""
    schema = json.loads((data_dir("schemas") / "template.schema.json").read_text())
    base = jsonschema.Draft202012Validator
    validator = jsonschema.validators.extend(
        base, {"properties": _filling_defaults(base.VALIDATORS["properties"])})
    return validator(schema)


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
        layer = (tuple(layer["class_name"]), layer["pick"])
    statements = data.get("statements")
    if statements is not None:
        statements = tuple((s["kind"], freeze(s["claim"]) if "claim" in s else None)
                           for s in statements)
    return Ask(fact=data["fact"], text=data["text"], layer=layer, axis=data.get("axis"),
               weight=data.get("weight"), response=tuple(data["response"]), count=data["count"],
               quantity=data.get("quantity"), statements=statements)


def _check_names(name: str, data: dict[str, Any], subject: dict[str, Any]) -> None:
    """The sampler and the code style must be ones the pipeline and the families know.

    Raises:
        TemplateError: naming the file, the field and the known names.
    """
    field = "model" if "model" in data else "task"
    if "sampler" in subject and subject["sampler"] not in families.SAMPLERS:
        raise TemplateError(f"{name}: {field}.sampler: {subject['sampler']!r} is not one of "
                            f"{list(families.SAMPLERS)}")
    styles = [*CODE_STYLES, *families.CODE_STYLES]
    if data["code_style"] not in styles:
        raise TemplateError(f"{name}: code_style: {data['code_style']!r} is not one of {styles}")


def load_template(path: Path) -> Template:
    """Load and validate one template file: its schema (`schemas/template.schema.json`, whose
    defaults fill in what the file leaves out), its sampler and code style, and each ask
    against the family that makes its questions (`quizgen.families.check_ask`).

    Raises:
        TemplateError: unreadable file, invalid YAML, a schema violation, an ask no family
            accepts, or a Jinja2 syntax error; the message names the file and the field.
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
    subject = data.get("model") or data["task"]
    _check_names(name, data, subject)
    if "layers" in subject:
        fixed = ModelSpec.from_json(subject, f"{name}: model")
    elif "input" in subject:
        fixed = Task.from_json(subject, f"{name}: task")
    else:
        fixed = None
    _check_jinja(data["stem"], f"{name}: stem")
    for index, ask in enumerate(data["asks"]):
        _check_jinja(ask["text"], f"{name}: asks[{index}].text")
    template = Template(
        id=path.stem, path=path, title=data["title"], topic=data["topic"],
        difficulty=data["difficulty"], tags=tuple(data.get("tags", ())), stem=data["stem"],
        code_style=data["code_style"], sampler=subject.get("sampler"),
        options=subject.get("options"), fixed=fixed,
        asks=tuple(_ask(ask) for ask in data["asks"]),
        reading=tuple((item["title"], item["url"]) for item in data.get("reading", ())),
        content_hash=hashlib.sha256(raw).hexdigest(),
    )
    for index, ask in enumerate(template.asks):
        for field, message in families.check_ask(template, ask):
            raise TemplateError(f"{name}: asks[{index}]{field}: {message}")
    return template


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
