"""The answer key: `key.json`, one file for the whole run, validated against the shipped schema.

Its fields are a public contract (documented in `schemas/key.schema.json`): graders, LMS scripts
and `quizgen verify` read it. Every answer in it was computed by Keras (`quizgen.oracle`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema

from quizgen import __version__, families
from quizgen.assemble import Variant
from quizgen.errors import QuizgenError, clip, quote
from quizgen.facts import FactRef, to_json
from quizgen.family import Choice, Question
from quizgen.oracle import versions
from quizgen.questions import Item
from quizgen.resources import data_dir

SCHEMA_VERSION = 1


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of `key.json`."""
    return json.loads((data_dir("schemas") / "key.schema.json").read_text())


@dataclass(frozen=True)
class KeyChoice:
    """One option of a key entry (`$defs/question/choices` in the schema): its printed `text`,
    its `value` as JSON (an answer, a model, a formula, or null for a statement), whether it is
    `correct`, the `misconception` label of a distractor and its `feedback`, and for a statement
    the `{"kind", "claim"}` it is decided from."""

    text: str
    correct: bool
    misconception: str | None = None
    value: Any = None
    feedback: str | None = None
    statement: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The choice as it stands in `key.json`."""
        data = {"text": self.text, "value": self.value, "correct": self.correct,
                "misconception": self.misconception, "feedback": self.feedback}
        return data | ({"statement": self.statement} if self.statement is not None else {})

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyChoice:
        """A choice of a (schema-valid) key."""
        return cls(data["text"], data["correct"], data.get("misconception"), data.get("value"),
                   data.get("feedback"), data.get("statement"))


@dataclass(frozen=True)
class KeyEntry:
    """One question of the answer key (`$defs/question` in `schemas/key.schema.json`, where
    every field is documented): who it is (`id`, `variant`, `position`, the blueprint's `slot`
    and the question's `points`, `template`,
    `template_hash`, `seed`), what it asks (`kind`, `fact` and its `layer`, `axis`, `weight`,
    `quantity`, and the asked layer's `layer_name`), about which `model` or by-hand `task`
    (JSON), as printed (`stem`, `code`, from the instructor's `code_file` if it names one,
    `text`), and its `answer` (JSON), `answer_text`, `tolerance`, `choices` and `explanation`.
    Optional fields are None (or no choices) when the key leaves them out."""

    id: str
    variant: int
    position: int
    template: str
    template_hash: str
    seed: int
    kind: str
    fact: str
    answer: Any
    explanation: str
    stem: str
    code: str
    text: str
    answer_text: str | None = None
    layer: int | None = None
    axis: str | None = None
    weight: str | None = None
    quantity: str | None = None
    model: dict[str, Any] | None = None
    task: dict[str, Any] | None = None
    tolerance: float | None = None
    choices: tuple[KeyChoice, ...] = ()
    slot: str | None = None
    points: float = 1
    layer_name: str | None = None
    code_file: str | None = None

    @property
    def ref(self) -> FactRef:
        """The fact the entry asks."""
        return FactRef(self.fact, self.layer, self.axis, self.weight, self.quantity)

    def to_json(self) -> dict[str, Any]:
        """The entry as it stands in `key.json`, its fields in contract order."""
        data: dict[str, Any] = {"id": self.id, "variant": self.variant, "position": self.position}
        data |= ({"slot": self.slot} if self.slot is not None else {}) | {"points": self.points}
        data |= {name: getattr(self, name) for name in (
            "template", "template_hash", "seed", "kind", "fact")}
        data |= {name: getattr(self, name) for name in (
            "layer", "layer_name", "axis", "weight", "quantity") if getattr(self, name) is not None}
        data |= {"task": self.task} if self.task is not None else {"model": self.model}
        data |= {"stem": self.stem, "code": self.code}
        data |= {"code_file": self.code_file} if self.code_file is not None else {}
        data |= {"text": self.text, "answer": self.answer, "answer_text": self.answer_text}
        if self.tolerance is not None:
            data["tolerance"] = self.tolerance
        if self.choices:
            data["choices"] = [choice.to_json() for choice in self.choices]
        data["explanation"] = self.explanation
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyEntry:
        """An entry of a key that `validate` (or `entry_problems`) accepted.

        Raises:
            KeyError: a required field is missing (the key was not validated).
        """
        optional = {name: data.get(name) for name in (
            "answer_text", "layer", "axis", "weight", "quantity", "model", "task", "tolerance",
            "slot", "layer_name", "code_file")} | {"points": data.get("points", 1)}
        return cls(**{name: data[name] for name in REQUIRED}, **optional,
                   choices=tuple(KeyChoice.from_json(choice) for choice in data.get("choices", ())))


#: The fields every key entry has.
REQUIRED = ("id", "variant", "position", "template", "template_hash", "seed", "kind", "fact",
            "answer", "explanation", "stem", "code", "text")

#: How many characters of one schema problem a message keeps (a key is untrusted input: the
#: value a problem quotes may be megabytes long).
MESSAGE_LIMIT = 300


#: The form of an entry's `id` (the schema's `pattern`).
ID_PATTERN = re.compile(r"v[0-9]+-q[0-9]+")


def entry_name(data: Any, index: int) -> str:
    """How messages name entry `index` (0-based) of a key: its `id` when it is one
    (`v<variant>-q<position>`, as the schema says), else `questions[index]`."""
    identifier = data.get("id") if isinstance(data, dict) else None
    if isinstance(identifier, str) and len(identifier) <= 40 and ID_PATTERN.fullmatch(identifier):
        return identifier
    return f"questions[{index}]"


def entry_problems(data: Any) -> list[str]:
    """Every violation of the schema (`$defs/question`) by one key entry, each as `field:
    problem` (the field relative to the entry, e.g. `choices/0/text`; none for the entry
    itself, e.g. "'stem' is a required property"), values quoted briefly; empty for a valid
    entry."""
    return [_problem(error) for error in _validator("question").iter_errors(data)]


def _problem(error: jsonschema.ValidationError, whole: str = "") -> str:
    """A schema problem as `field: message` (the field `whole` for the validated value
    itself, none if empty), cut to `MESSAGE_LIMIT` characters, the value the message starts
    with (the `repr` of the whole value) quoted briefly."""
    field = "/".join(str(part) for part in error.absolute_path) or whole
    message = error.message
    if len(message) > MESSAGE_LIMIT and message.startswith(shown := repr(error.instance)):
        message = quote(error.instance) + message[len(shown):]
    return clip(f"{field}: {message}" if field else message, MESSAGE_LIMIT)


def read_entries(key: dict[str, Any]) -> list[KeyEntry]:
    """The entries of a key (parsed JSON that `validate` accepted), in its order.

    Raises:
        QuizgenError: an entry lacks a required field (the key was not validated); the
            message names the entry's id and the field.
    """
    read = []
    for data in key["questions"]:
        try:
            read.append(KeyEntry.from_json(data))
        except KeyError as error:
            raise QuizgenError(f"key question {data.get('id', '?')}: missing field {error}") from None
    return read


def question_entry(variant: int, position: int, item: Item, question: Question,
                   slot: str | None = None, points: float = 1) -> KeyEntry:
    """The key entry of the question at `position` of variant number `variant`, filling the
    blueprint slot `slot` (if any) and worth `points` (see the schema for each field)."""
    ref = question.ref
    return KeyEntry(
        id=f"v{variant}-q{position}", variant=variant, position=position,
        slot=slot, points=points,
        template=item.template.id, template_hash=item.template.content_hash, seed=item.seed,
        kind=question.kind, fact=ref.fact, layer=ref.layer, axis=ref.axis, weight=ref.weight,
        quantity=ref.quantity,
        layer_name=item.facts.layers[ref.layer].name if ref.layer is not None else None,
        code_file=item.template.source_file,
        task=item.task.to_json() if item.task is not None else None,
        model=_model_json(item) if item.task is None else None,
        stem=item.stem, code=item.code, text=question.text, answer=to_json(question.answer),
        answer_text=question.answer_text, tolerance=0 if question.kind == "numeric" else None,
        choices=tuple(_choice_entry(choice) for choice in question.choices),
        explanation=question.explanation)


def _model_json(item: Item) -> dict[str, Any]:
    """The model of a key entry: a Sequential's `ModelSpec.to_json`, or a functional model's
    Keras config (`ModelSpec.functional_config`, with the layers' output shapes), which
    `keras.Model.from_config` loads."""
    if item.spec.inbound is None:
        return item.spec.to_json()
    return item.spec.functional_config([layer.output_shape for layer in item.facts.layers])


def _choice_entry(choice: Choice) -> KeyChoice:
    feedback = families.describe(choice.misconception) if choice.misconception else None
    return KeyChoice(choice.text, choice.correct, choice.misconception, to_json(choice.value),
                     feedback, choice.statement)


def build_key(variants: list[Variant], seed: int) -> dict[str, Any]:
    """The whole key as a JSON-ready dict, of the schema's shape by construction (typed
    `KeyEntry` values; the tests validate generated keys against the schema, and `quizgen
    verify` and `quizgen grade` check every key they read: `validate`, `entry_problems`). Not
    validated here: jsonschema took about 3 ms per entry, a minute for a 20,000-question exam."""
    keras_version, backend = versions()
    key = {
        "schema_version": SCHEMA_VERSION,
        "quizgen_version": __version__,
        "keras_version": keras_version,
        "backend": backend,
        "seed": seed,
        "questions": [question_entry(variant.number, position, item, question,
                                     *variant.placement(position)).to_json()
                      for variant in variants for position, item, question in variant.numbered()],
    }
    return key


def validate(key: Any, where: str) -> None:
    """Check a key read from a file (untrusted: `quizgen grade`) against the schema: its
    envelope and every entry.

    Raises:
        QuizgenError: the first schema violation, naming `where` and the field.
    """
    _raise_first(_validator("key"), key, where)


def validate_envelope(key: Any, where: str) -> None:
    """Check a key's envelope against the schema (a JSON object with the top-level fields and a
    `questions` list), not its entries: `quizgen verify` checks each on its own
    (`entry_problems`), so that one malformed entry is reported by its id without hiding the
    others.

    Raises:
        QuizgenError: the first violation of the envelope, naming `where` and the field.
    """
    _raise_first(_validator("envelope"), key, where)


def _raise_first(validator: jsonschema.Draft202012Validator, key: Any, where: str) -> None:
    """Raise the most relevant violation of `validator` by `key` as a `QuizgenError`."""
    error = jsonschema.exceptions.best_match(validator.iter_errors(key))
    if error is not None:
        raise QuizgenError(f"{where}: {_problem(error, '(top level)')}")


@cache
def _validator(part: str) -> jsonschema.Draft202012Validator:
    """A validator of one part of the schema: the whole `key`, its `envelope` (each entry only
    an item of the `questions` list) or one `question` (`$defs/question`)."""
    whole = schema()
    if part == "envelope":
        questions = whole["properties"]["questions"] | {"items": {}}
        whole = whole | {"properties": whole["properties"] | {"questions": questions}}
    elif part == "question":
        whole = {"$schema": whole["$schema"], "$defs": whole["$defs"], "$ref": "#/$defs/question"}
    return jsonschema.Draft202012Validator(whole)


def dumps(key: dict[str, Any]) -> str:
    """The key as text: indented JSON, keys in contract order, ending with a newline."""
    return json.dumps(key, indent=2, ensure_ascii=False) + "\n"
