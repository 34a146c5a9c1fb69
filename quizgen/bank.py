"""The question bank: load and validate the YAML question templates of a folder.

Each `*.yaml` file is one template (its id is the file name without `.yaml`), read with
PyYAML's safe loader and validated against `schemas/template.schema.json`. Errors name the file
and the field (`conv-params.yaml: asks[0].fact: 'paramz' is not one of [...]`).

Banks are shared between instructors, so a template file is untrusted input: its size, its YAML
(aliases expanded, nesting) and the values its error messages quote are bounded, a sampler's
options are validated against that sampler's schema (`$defs.sampler_options` of the template
schema) and drawn once, its texts are checked in the sandbox they render in
(`quizgen.template.check_text`), and a fixed model that the closed forms prove impossible is
reported at load time (`quizgen.formulas.unbuildable`), without importing Keras.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema.exceptions
import jsonschema.protocols
import yaml

from quizgen import families
from quizgen.difficulty import DEFAULT_FEATURES, FEATURES
from quizgen.errors import ArchitectureError, BatchError, QuestionError, TemplateError, clip, quote
from quizgen.family import resolve_layer
from quizgen.formulas import unbuildable
from quizgen.resources import data_dir
from quizgen.sample import sample
from quizgen.spec import CODE_STYLES, ModelSpec, Task, freeze
from quizgen.template import Ask, Template, check_text

#: The largest template file read, in bytes (the bundled ones are below 3 KB; PyYAML's pure
#: Python reader takes about 0.3 s for 32 KB).
MAX_TEMPLATE_BYTES = 32 * 1024
#: The largest a template's YAML may grow when its aliases are expanded: nodes plus the
#: characters of its scalars (a file without aliases stays below it). It bounds what
#: validation and messages may build from a file, whatever its aliases.
MAX_EXPANDED = 4 * MAX_TEMPLATE_BYTES
#: How deeply a template's YAML may nest.
MAX_NESTING = 32
#: How many characters of one problem a message keeps.
MESSAGE_LIMIT = 300


class ImpossibleModelError(TemplateError, ArchitectureError):
    """A template's fixed model (or task) that the closed forms prove Keras cannot build: a
    template error found at load time, and the architecture error building it would raise."""


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


def _unique_strings(unique_rule):
    """The `uniqueItems` rule on arrays of strings only (the schema's unique arrays are all of
    strings; an array of anything else fails its `items` rule), so that it takes linear time
    rather than comparing every pair of items of a hostile array."""

    def rule(validator: Any, unique: bool, instance: Any,
             schema: dict[str, Any]) -> Iterator[jsonschema.ValidationError]:
        if isinstance(instance, list) and all(isinstance(item, str) for item in instance):
            yield from unique_rule(validator, unique, instance, schema)

    return rule


def strict_validator(rules: dict[str, Any] | None = None):
    """Draft 2020-12 where an `integer` is an int (not `1.0`), with `rules` overridden."""
    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool))
    return jsonschema.validators.extend(base, rules or {}, type_checker=checker)


@cache
def _schema() -> dict[str, Any]:
    return json.loads((data_dir("schemas") / "template.schema.json").read_text())


@cache
def _schema_validator() -> jsonschema.Draft202012Validator:
    """The validator of `schemas/template.schema.json`, which fills in the defaults."""
    base = jsonschema.Draft202012Validator
    validator = strict_validator({"properties": _filling_defaults(base.VALIDATORS["properties"]),
                                   "uniqueItems": _unique_strings(base.VALIDATORS["uniqueItems"])})
    return validator(_schema())


@cache
def _options_validator(sampler: str) -> jsonschema.Draft202012Validator | None:
    """The validator of the options of `sampler` (`$defs.sampler_options` of the template
    schema; no defaults are filled in), or None for a sampler the schema does not describe."""
    schema = _schema()
    if sampler not in schema["$defs"]["sampler_options"]:
        return None
    return strict_validator()({"$defs": schema["$defs"],
                                "$ref": f"#/$defs/sampler_options/{sampler}"})


def _field(path: Any) -> str:
    """`['asks', 0, 'fact']` → `asks[0].fact`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _path_key(error: jsonschema.ValidationError) -> list[tuple[int, int, str]]:
    """A sort key of an error's path (ints numerically, then keys of any type)."""
    return [(0, part, "") if isinstance(part, int) else (1, 0, str(part))
            for part in error.absolute_path]


def _message(error: jsonschema.ValidationError) -> str:
    """jsonschema's message with the value it starts with (`repr` of the whole instance) quoted
    briefly, cut to `MESSAGE_LIMIT` characters; for a value that matches no alternative of a
    `oneOf` with a description, the description."""
    if error.validator == "oneOf" and error.context and "description" in error.schema:
        return clip(f"{quote(error.instance)}: expected {error.schema['description']}", MESSAGE_LIMIT)
    message = error.message
    if len(message) > MESSAGE_LIMIT:
        shown = repr(error.instance)  # bounded: the YAML's expansion is (`MAX_EXPANDED`)
        if message.startswith(shown):
            message = quote(error.instance) + message[len(shown):]
    return clip(message, MESSAGE_LIMIT)


def _explained(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For an error of `oneOf` (a sampled or a fixed model; an index or a filter), the error of
    the alternative the value was closest to (e.g. `model.layers[0].class_name: ...`)."""
    if error.validator != "oneOf" or not error.context:
        return error
    return jsonschema.exceptions.best_match([error]) or error


def _yaml_problem(root: yaml.Node) -> str | None:
    """Why a composed YAML document is refused before it is constructed: it expands (aliases
    followed) to more than `MAX_EXPANDED` nodes and characters, nests deeper than
    `MAX_NESTING`, or is recursive. Walks the node graph once, without recursion."""
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, height)
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        key = id(node)
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = (1 + len(node.value), 1)
            continue
        children = [item for pair in node.value for item in pair] \
            if isinstance(node, yaml.MappingNode) else list(node.value)
        if closing:
            open_nodes.discard(key)
            size = 1 + sum(sizes[id(child)][0] for child in children)
            height = 1 + max((sizes[id(child)][1] for child in children), default=0)
            if size > MAX_EXPANDED:
                return f"its aliases expand it to more than {MAX_EXPANDED:,} values and characters"
            if height > MAX_NESTING:
                return f"nested more than {MAX_NESTING} levels deep"
            sizes[key] = (size, height)
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            return "a recursive alias (a node that contains itself)"
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return None


def _read_yaml(name: str, raw: bytes) -> Any:
    """The YAML document of a template file, with PyYAML's safe loader, after `_yaml_problem`.

    Raises:
        TemplateError: invalid YAML, a refused document, or a value PyYAML cannot construct
            (an integer of more than 4,300 digits, a date such as 2024-13-45, an empty
            `!!float`).
    """
    loader = None
    try:
        loader = yaml.SafeLoader(raw)
        node = loader.get_single_node()
        if node is None:
            return None
        problem = _yaml_problem(node)
        if problem is not None:
            raise TemplateError(f"{name}: invalid YAML: {problem}")
        try:
            return loader.construct_document(node)
        except yaml.YAMLError:
            raise
        except Exception as error:  # PyYAML's constructors fail on bad values with any builtin
            raise TemplateError(f"{name}: invalid YAML: a value cannot be read "
                                f"({type(error).__name__}: {clip(str(error), MESSAGE_LIMIT)})") from None
    except yaml.YAMLError as error:
        raise TemplateError(f"{name}: invalid YAML: {clip(str(error), 2 * MESSAGE_LIMIT)}") from None
    except RecursionError:
        raise TemplateError(f"{name}: invalid YAML: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()


def check_schema(name: str, data: Any,
                 validator: jsonschema.protocols.Validator | None = None) -> None:
    """Validate `data` (read from the file `name`) against `validator`, by default the template
    schema's (which fills in its defaults).

    Raises:
        TemplateError: the first five violations, each naming its field.
    """
    try:
        errors = sorted((validator or _schema_validator()).iter_errors(data), key=_path_key)
    except RecursionError:
        raise TemplateError(f"{name}: nested too deeply") from None
    if errors:
        shown = [_explained(error) for error in errors[:5]]
        details = "; ".join(f"{_field(e.absolute_path)}: {_message(e)}" for e in shown)
        raise TemplateError(f"{name}: {details}")


def read_yaml_file(path: Path) -> tuple[bytes, Any]:
    """The bytes of a YAML file (at most `MAX_TEMPLATE_BYTES`) and its document (`_read_yaml`).

    Raises:
        TemplateError: the file cannot be read, is too large, or is invalid or refused YAML
            (the message names the file).
    """
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_TEMPLATE_BYTES + 1)
    except OSError as error:
        raise TemplateError(f"{path.name}: cannot read: {error.strerror}") from error
    if len(raw) > MAX_TEMPLATE_BYTES:
        raise TemplateError(f"{path.name}: larger than {MAX_TEMPLATE_BYTES:,} bytes")
    return raw, _read_yaml(path.name, raw)


def _check_jinja(text: str, where: str) -> None:
    check_text(text, where)


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
               true_count=data.get("true_count"), quantity=data.get("quantity"), statements=statements,
               kinds=tuple(data["kinds"]) if "kinds" in data else None)


def _check_names(name: str, data: dict[str, Any], subject: dict[str, Any]) -> None:
    """The sampler and the code style must be ones the pipeline and the families know.

    Raises:
        TemplateError: naming the file, the field and the known names.
    """
    field = "model" if "model" in data else "task"
    if "sampler" in subject and subject["sampler"] not in families.SAMPLERS:
        raise TemplateError(f"{name}: {field}.sampler: {quote(subject['sampler'])} is not one of "
                            f"{list(families.SAMPLERS)}")
    styles = [*CODE_STYLES, *families.CODE_STYLES]
    if data["code_style"] not in styles:
        raise TemplateError(f"{name}: code_style: {quote(data['code_style'])} is not one of {styles}")


def _check_options(name: str, field: str, sampler: str, options: dict[str, Any] | None) -> None:
    """A sampler's options must be the ones it takes, of their types and ranges (its schema,
    `$defs.sampler_options` of the template schema), and it must draw a subject with them (one
    draw, from seed 0: a sampler rejects what its schema cannot say, such as `[3, 1]` for a
    range or a by-hand `size` that no task fits).

    Raises:
        TemplateError: naming the file, the option (`model.options.blocks`) and the sampler.
    """
    validator = _options_validator(sampler)
    errors = [] if validator is None else sorted(validator.iter_errors(options or {}), key=_path_key)
    if errors:
        error = _explained(errors[0])
        where = _field([field, "options", *error.absolute_path])
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = list(error.schema.get("properties", {}))
            unknown = [key for key in error.instance if key not in known]
            where = f"{field}.options" + (f".{clip(unknown[0], 40)}" if isinstance(unknown[0], str)
                                          else f"[{quote(unknown[0], 40)}]")
            message = (f"unknown option {quote(unknown[0], 40)}; the options of {sampler!r} are "
                       f"{', '.join(known) or 'none'}")
        else:
            message = _message(error)
        raise TemplateError(f"{name}: {where}: sampler {sampler!r}: bad options: {message}")
    try:
        sample(sampler, random.Random(0), options, families.SAMPLERS)
    except TemplateError as error:
        raise TemplateError(f"{name}: {field}.options: {clip(str(error), MESSAGE_LIMIT)}") from None


def _check_buildable(name: str, fixed: ModelSpec | Task) -> None:
    """A fixed model (or task) must not be one the closed forms prove Keras cannot build (a
    window wider than its input, a layer on an input of the wrong rank). What the closed forms
    cannot decide (a layer class without one, an argument they do not model) is left to Keras.

    Raises:
        ImpossibleModelError: naming the file and the layer.
    """
    error = unbuildable(fixed.spec if isinstance(fixed, Task) else fixed)
    if error is not None:
        what = "task cannot be run" if isinstance(fixed, Task) else "model cannot be built"
        raise ImpossibleModelError(f"{name}: its fixed {what}: {clip(str(error), MESSAGE_LIMIT)}")


#: The largest model file read (the instructor's Python file defining `model`), in bytes.
MAX_MODEL_FILE_BYTES = 256 * 1024


def _trusted(path: Path) -> bool:
    """Whether a template file is one of the bundled bank's (whose model files quizgen may
    run without being told)."""
    return path.resolve().is_relative_to(data_dir("question_bank").resolve())


def read_model_file(file: Path, where: str) -> tuple[str, ModelSpec, bytes]:
    """The text (shown verbatim as the question's code, final newlines left out), the spec
    of the model (`quizgen.oracle.load_user_model`, then `model_spec`) and the bytes of an
    instructor's Python file that defines `model`; it is RUN as Python.

    Raises:
        TemplateError: the file cannot be read, is too large, or does not define a model
            quizgen can ask about; the message starts with `where` and names the file.
    """
    try:
        raw = file.read_bytes()
        text = raw.decode("utf-8").rstrip("\n")
    except (OSError, UnicodeDecodeError) as error:
        raise TemplateError(f"{where}: {file} cannot be read: "
                            f"{getattr(error, 'strerror', None) or error}") from None
    if len(raw) > MAX_MODEL_FILE_BYTES:
        raise TemplateError(f"{where}: {file} has {len(raw):,} bytes, more than "
                            f"{MAX_MODEL_FILE_BYTES:,}")
    try:
        return text, _run_model_file(str(file), raw), raw
    except ArchitectureError as error:
        raise TemplateError(f"{where}: {clip(str(error), MESSAGE_LIMIT)}") from None


@cache
def _run_model_file(path: str, raw: bytes) -> ModelSpec:
    """The spec of the model the file at `path` (of content `raw`) defines, run once per
    process and content (several templates may ask about one file)."""
    from quizgen import oracle

    return oracle.model_spec(oracle.load_user_model(path), path)


def _features(name: str, field: str, declared: list[str] | None) -> tuple[str, ...]:
    """A template's difficulty features: those it declares, else its kind's default.

    Raises:
        TemplateError: a declared feature does not apply to the template's kind of subject.
    """
    if declared is None:
        return DEFAULT_FEATURES[field]
    for feature in declared:
        if field not in FEATURES[feature].of:
            raise TemplateError(f"{name}: features: {feature!r} does not apply to a {field} "
                                f"({FEATURES[feature].description})")
    return tuple(declared)


def load_template(path: Path, run_model_files: bool = False, model_file: Path | None = None,
                  ) -> Template:
    """Load and validate one template file: its size and YAML (`MAX_TEMPLATE_BYTES`,
    `MAX_EXPANDED`, `MAX_NESTING`), its schema (`schemas/template.schema.json`, whose defaults
    fill in what the file leaves out), its sampler and code style, its sampler's options (their
    schema, and one draw), its texts (in the Jinja2 sandbox they render in), each ask against
    the family that makes its questions (`quizgen.families.check_ask`), and a fixed model
    against the closed forms. A model given as a Python file (`model: {file: ...}`, or
    `model_file` instead of the one it names) is run (`read_model_file`) when the template is
    one of the bundled bank's or `run_model_files` is set.

    Raises:
        TemplateError: unreadable or too large file, invalid or refused YAML, a schema
            violation, an unknown sampler (the known ones are named) or option, an ask no family
            accepts, or a Jinja2 syntax error or unsafe text; the message names the file and the
            field, and quotes values briefly.
        ImpossibleModelError: (a TemplateError and an ArchitectureError) the fixed model or
            task certainly cannot be built; the message names the file and the layer.
    """
    name = path.name
    raw, data = read_yaml_file(path)
    check_schema(name, data)
    subject = data.get("model") or data["task"]
    field = "model" if "model" in data else "task"
    _check_names(name, data, subject)
    source = source_file = None
    if "file" in subject:
        file = model_file or path.parent / subject["file"]
        if not (run_model_files or _trusted(path)):
            raise TemplateError(f"{name}: model.file: {file.name} would be run as Python; "
                                "quizgen runs the model files of a bank only with "
                                "--run-model-files (pass it for a bank you trust)")
        source, fixed, file_bytes = read_model_file(file, f"{name}: model.file")
        source_file, raw = file.name, raw + file_bytes
    elif "layers" in subject:
        fixed = ModelSpec.from_json(subject, f"{name}: model")
    elif "input" in subject:
        fixed = Task.from_json(subject, f"{name}: task")
    else:
        fixed = None
        _check_options(name, field, subject["sampler"], subject.get("options"))
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
        features=_features(name, field, data.get("features")), source=source,
        source_file=source_file,
    )
    for index, ask in enumerate(template.asks):
        for ask_field, message in families.check_ask(template, ask):
            raise TemplateError(f"{name}: asks[{index}]{ask_field}: {clip(message, MESSAGE_LIMIT)}")
    if fixed is not None:
        _check_buildable(name, fixed)
    return template


def load_bank(folder: Path | None = None, run_model_files: bool = False) -> list[Template]:
    """Load every `*.yaml` template of `folder` (default: the bundled `question_bank/`),
    sorted by id; with `run_model_files`, a template's model given as a Python file is run
    (`load_template`). All files are checked; their errors are reported together.

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
            templates.append(load_template(path, run_model_files))
        except TemplateError as error:
            failures.append(str(error))
    if failures:
        raise BatchError("template(s)", failures)
    if not templates:
        raise TemplateError(f"{folder}: no *.yaml question templates")
    return templates


#: The bundled templates asked about an instructor's own model (`own_model_templates`).
OWN_MODEL = "own-model"


def _applies(template: Template) -> bool:
    """Whether every ask of a template with a fixed model finds a layer of its kind there."""
    try:
        for ask in template.asks:
            resolve_layer(ask, template.fixed, random.Random(0))
    except QuestionError:
        return False
    return True


def own_model_templates(files: list[Path]) -> list[Template]:
    """The questions about an instructor's own models (`quizgen generate --model`): for each
    Python file that defines `model` (run as Python: the instructor's code), each bundled
    template of `question_bank/own-model/` that applies to its layers (an ask about a kind of
    layer the model lacks leaves its template out), with the file's model as its fixed model
    and the file, verbatim, as its code; its id is `<template id>@<file name>`.

    Raises:
        TemplateError: a file cannot be read or run, does not define a model quizgen can ask
            about, or no template applies to its model; the message names the file.
    """
    paths = sorted((data_dir("question_bank") / OWN_MODEL).glob("*.yaml"))
    templates = []
    for file in files:
        made = [load_template(path, run_model_files=True, model_file=file) for path in paths]
        applying = [replace(template, id=f"{template.id}@{file.name}")
                    for template in made if _applies(template)]
        if not applying:
            raise TemplateError(f"{file}: none of the questions of {OWN_MODEL}/ applies to its "
                                "model's layers")
        templates += applying
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
