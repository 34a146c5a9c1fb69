"""Verification of answer keys: every entry re-derived, independently of how it was generated.

For each entry of a `key.json`, `check_entry` rebuilds the recorded `model` with Keras as one whole
`keras.Sequential` (`oracle.model_facts`, not the layer-by-layer path generation uses), recomputes
the asked fact, compares it with the recorded `answer`, checks it against
the sympy closed forms where the model has them, and checks the choices: the correct one present
exactly once and equal to the answer, the distractors distinct and wrong. `regrade` compares two
keys and lists the questions whose answer changed (after a template fix).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from quizgen import distractors, formulas, oracle, statements
from quizgen.errors import ArchitectureError, QuestionError, QuizgenError
from quizgen.facts import FactRef, format_answer, from_json, read_fact, to_json
from quizgen.spec import ModelSpec, Task

CHOICE_KINDS = ("single_choice", "multiple_choice")


@dataclass(frozen=True)
class Finding:
    """One failed check of one key entry."""

    id: str
    variant: int
    message: str

    def __str__(self) -> str:
        return f"{self.id} (variant {self.variant}): {self.message}"


def _ref(entry: dict[str, Any]) -> FactRef:
    return FactRef(entry["fact"], entry.get("layer"), entry.get("axis"), entry.get("weight"),
                   entry.get("quantity"))


def _describe(ref: FactRef) -> str:
    where = "" if ref.layer is None else f" of layer {ref.layer}"
    what = ref.fact + (f" ({ref.axis})" if ref.axis else "") + (f" ({ref.weight})" if ref.weight else "")
    return what + where


def _text(value: Any) -> str:
    """An answer on one line (code answers are folded)."""
    return " ".join(format_answer(from_json(value)).split())


def _check_choices(entry: dict[str, Any], answer: Any) -> list[str]:
    """Problems with the choices: texts distinct and misconceptions known; for single choice
    exactly one correct, equal to the answer, and every distractor wrong; for multiple choice
    the options marked correct are exactly those execution decides are true."""
    choices = entry.get("choices") or []
    problems = []
    texts = [choice["text"] for choice in choices]
    if len(set(texts)) != len(texts):
        problems.append(f"choices are not distinct: {texts}")
    for choice in choices:
        label = choice.get("misconception")
        if label and label.split("+")[0] and not _known(label):
            problems.append(f"choice {choice['text']!r}: unknown misconception {label!r}")
    if entry["kind"] == "multiple_choice":
        marked = [number for number, choice in enumerate(choices, 1) if choice["correct"]]
        if marked != answer:
            problems.append(f"options {marked} are marked correct; execution decides {answer}")
        return problems
    correct = [choice for choice in choices if choice["correct"]]
    if len(correct) != 1:
        problems.append(f"{len(correct)} choices marked correct, expected exactly 1")
    if entry["fact"] in ("code", "formula"):  # their choices were judged by `_check_code/formula`
        return problems
    for choice in correct:
        if not _close(choice.get("value", answer), answer):
            problems.append(f"choice {choice['text']!r} is marked correct but Keras says "
                            f"{_text(answer)}")
    for choice in choices:
        if not choice["correct"] and (_close(choice.get("value"), answer)
                                      or choice["text"] == _text(answer)):
            problems.append(f"distractor {choice['text']!r} equals the correct answer")
    return problems


def _known(label: str) -> bool:
    try:
        distractors.describe(label)
    except KeyError:
        return False
    return True


def _close(first: Any, second: Any) -> bool:
    """Equal answers; numbers within 1e-5 (matrices of averages hold non-terminating decimals)."""
    if isinstance(first, list) and isinstance(second, list):
        return len(first) == len(second) and all(map(_close, first, second))
    if isinstance(first, int | float) and isinstance(second, int | float):
        return abs(first - second) <= 1e-5
    return first == second


def _check_code(entry: dict[str, Any]) -> tuple[Any, Any]:
    """For fact code: the correct option's text when its model is the described one and every
    other option builds (as a whole `keras.Sequential`) a different model; else a message
    saying what is wrong."""
    target = oracle.layer_configs(ModelSpec.from_json(entry["model"]))
    correct = [c for c in entry["choices"] if c["correct"]]
    for choice in entry["choices"]:
        spec = ModelSpec.from_json(choice["value"])
        try:
            oracle.model_facts(spec)
        except ArchitectureError as error:
            return f"option {choice['text']!r} does not build in Keras: {error}", None
        same = oracle.layer_configs(spec) == target
        if same != choice["correct"]:
            return f"option {choice['text']!r} builds {'the' if same else 'another'} model", None
    answer = correct[0]["text"] if len(correct) == 1 else None
    return answer, answer


def _check_formula(entry: dict[str, Any]) -> tuple[Any, Any]:
    """For fact formula: the correct option's text when exactly the options marked correct
    agree with Keras on the grid of built layers; else a message saying which does not."""
    from quizgen.questions import formula_holds

    spec = ModelSpec.from_json(entry["model"])
    _, _, padding = formulas.window(spec.layers[entry["layer"]])
    for choice in entry["choices"]:
        holds = formula_holds(formulas.parse_formula(choice["value"]), entry["quantity"], padding)
        if holds != choice["correct"]:
            return f"formula {choice['text']} {'agrees' if holds else 'disagrees'} with Keras", None
    correct = [c["text"] for c in entry["choices"] if c["correct"]]
    return (correct[0], correct[0]) if len(correct) == 1 else (None, None)


def _derive(entry: dict[str, Any], ref: FactRef) -> tuple[Any, Any]:
    """The asked fact as Keras computes it now, and as the closed forms give it (Keras' value
    again where some layer has no closed form; an error message where they fail). For
    statements: the option numbers of the statements that execution decides are true."""
    if ref.fact == "code":
        return _check_code(entry)
    if ref.fact == "formula":
        return _check_formula(entry)
    if ref.fact == "statements":
        spec = ModelSpec.from_json(entry["model"])
        facts = oracle.model_facts(spec)
        true = [number for number, choice in enumerate(entry["choices"], 1) if statements.decide(
            spec, facts, choice["statement"]["kind"], choice["statement"]["claim"])[0]]
        return true, true
    if "task" in entry:
        task = Task.from_json(entry["task"])
        keras_answer = to_json(oracle.run_task(task.spec, task.input, task.kernel, task.bias))
        return keras_answer, formulas.task_closed_form(task)
    spec = ModelSpec.from_json(entry["model"])
    keras_answer = to_json(read_fact(oracle.model_facts(spec), ref))
    try:
        return keras_answer, to_json(formulas.closed_form_fact(spec, ref))
    except NotImplementedError:
        return keras_answer, keras_answer
    except (ArchitectureError, QuestionError) as error:
        return keras_answer, f"error: {error}"


def check_entry(entry: dict[str, Any]) -> list[str]:
    """Re-derive one key entry; return the problems found (empty when it holds).

    Checks: the recorded model builds; Keras' value of the fact equals `answer`; the closed
    form (where every layer has one) agrees; the choices are consistent with Keras' value.
    """
    ref = _ref(entry)
    recorded = entry["answer"]
    try:
        keras_answer, closed = _derive(entry, ref)
    except (QuizgenError, KeyError, TypeError) as error:
        return [f"cannot re-derive {_describe(ref)}: {error}"]
    problems = []
    if not _close(keras_answer, recorded):
        problems.append(f"{_describe(ref)}: recorded {_text(recorded)}, Keras says "
                        f"{_text(keras_answer)}")
    if not _close(closed, keras_answer):
        problems.append(f"{_describe(ref)}: Keras says {_text(keras_answer)} but the closed "
                        f"form gives {closed if isinstance(closed, str) else _text(closed)}")
    if entry["kind"] in CHOICE_KINDS:
        problems += _check_choices(entry, keras_answer)
    return problems


@dataclass(frozen=True)
class Report:
    """The outcome of verifying a key: findings, entries checked, and the Keras versions."""

    findings: tuple[Finding, ...]
    checked: int
    recorded_keras: str
    installed_keras: str

    @property
    def ok(self) -> bool:
        """True when every entry holds."""
        return not self.findings

    @property
    def drift(self) -> bool:
        """True when the key was written under another Keras version or backend."""
        return self.recorded_keras != self.installed_keras


def verify_key(key: dict[str, Any], progress: Callable[[Iterable], Iterable] = iter) -> Report:
    """Verify every entry of `key` (already parsed JSON). `progress` wraps the entries.

    Entries of a key written under another Keras version are verified against the installed
    one; each finding then says so.
    """
    keras_version, backend = oracle.versions()
    installed = f"{keras_version} ({backend})"
    recorded = f"{key.get('keras_version')} ({key.get('backend')})"
    note = f" [key written with Keras {recorded}, verified with {installed}]" \
        if recorded != installed else ""
    findings = [
        Finding(entry.get("id", "?"), entry.get("variant", 0), problem + note)
        for entry in progress(key["questions"])
        for problem in check_entry(entry)
    ]
    return Report(tuple(findings), len(key["questions"]), recorded, installed)


def regrade(key: dict[str, Any], old: dict[str, Any]) -> list[Finding]:
    """Questions of `old` whose answer (or correct option) differs in `key`: the regrade list.
    Entries are matched by `id`; an entry missing from either key is listed too."""
    new_entries = {entry["id"]: entry for entry in key["questions"]}
    changed = []
    for entry in old["questions"]:
        new = new_entries.get(entry["id"])
        if new is None:
            changed.append(Finding(entry["id"], entry["variant"], "missing from the new key"))
        elif _key_answer(new) != _key_answer(entry):
            changed.append(Finding(entry["id"], entry["variant"],
                                   f"answer changed: {_key_answer(entry)} -> {_key_answer(new)}"))
    old_ids = {entry["id"] for entry in old["questions"]}
    changed += [Finding(entry["id"], entry["variant"], "not in the old key")
                for entry in key["questions"] if entry["id"] not in old_ids]
    return changed


def _key_answer(entry: dict[str, Any]) -> str:
    """The answer a student is graded against: the correct option(s) for choice kinds."""
    if entry["kind"] in CHOICE_KINDS:
        options = [str(i) for i, choice in enumerate(entry["choices"], 1) if choice["correct"]]
        return f"option {','.join(options)} ({_text(entry['answer'])})"
    return _text(entry["answer"])
