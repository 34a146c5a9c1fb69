"""The answer key: `key.json`, one file for the whole run, validated against the shipped schema.

Its fields are a public contract (documented in `schemas/key.schema.json`): graders, LMS scripts
and `quizgen verify` read it. Every answer in it was computed by Keras (`quizgen.oracle`).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema

from quizgen import __version__, families
from quizgen.assemble import Variant
from quizgen.errors import QuizgenError
from quizgen.facts import to_json
from quizgen.family import Choice, Question
from quizgen.oracle import versions
from quizgen.questions import Item
from quizgen.resources import data_dir

SCHEMA_VERSION = 1


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of `key.json`."""
    return json.loads((data_dir("schemas") / "key.schema.json").read_text())


def question_entry(variant: int, position: int, item: Item, question: Question) -> dict[str, Any]:
    """The key entry of one question (see the schema for each field)."""
    ref = question.ref
    entry: dict[str, Any] = {
        "id": f"v{variant}-q{position}",
        "variant": variant,
        "position": position,
        "template": item.template.id,
        "template_hash": item.template.content_hash,
        "seed": item.seed,
        "kind": question.kind,
        "fact": ref.fact,
    }
    entry |= {name: value for name, value in
              (("layer", ref.layer), ("axis", ref.axis), ("weight", ref.weight),
                                 ("quantity", ref.quantity)) if value is not None}
    if item.task is not None:
        entry["task"] = item.task.to_json()
    else:
        entry["model"] = item.spec.to_json()
    entry |= {"stem": item.stem, "code": item.code, "text": question.text}
    entry["answer"] = to_json(question.answer)
    entry["answer_text"] = question.answer_text
    if question.kind == "numeric":
        entry["tolerance"] = 0
    if question.choices:
        entry["choices"] = [_choice_entry(choice) for choice in question.choices]
    entry["explanation"] = question.explanation
    return entry


def _choice_entry(choice: Choice) -> dict[str, Any]:
    entry = {"text": choice.text, "value": to_json(choice.value), "correct": choice.correct,
             "misconception": choice.misconception,
             "feedback": families.describe(choice.misconception) if choice.misconception else None}
    if choice.statement is not None:
        entry["statement"] = choice.statement
    return entry


def build_key(variants: list[Variant], seed: int) -> dict[str, Any]:
    """The whole key as a JSON-ready dict, validated against the schema.

    Raises:
        QuizgenError: the key does not match its schema (a bug, never user input).
    """
    keras_version, backend = versions()
    key = {
        "schema_version": SCHEMA_VERSION,
        "quizgen_version": __version__,
        "keras_version": keras_version,
        "backend": backend,
        "seed": seed,
        "questions": [question_entry(variant.number, position, item, question)
                      for variant in variants for position, item, question in variant.numbered()],
    }
    validate(key, "key.json")
    return key


def validate(key: Any, where: str) -> None:
    """Check a key against the schema.

    Raises:
        QuizgenError: the first schema violation, naming `where` and the field.
    """
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema()).iter_errors(key))
    if error is not None:
        field = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        raise QuizgenError(f"{where}: {field}: {error.message}")


def dumps(key: dict[str, Any]) -> str:
    """The key as text: indented JSON, keys in contract order, ending with a newline."""
    return json.dumps(key, indent=2, ensure_ascii=False) + "\n"
