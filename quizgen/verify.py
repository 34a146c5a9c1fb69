"""Verification of answer keys: every entry re-derived, independently of how it was generated.

For each entry of a `key.json`, `check_entry` has the family of the entry's `fact`
(`quizgen.families`) re-derive it with a fresh `Oracle`: the recorded `model` rebuilt as one
whole `keras.Sequential` (`Oracle.model_facts`, not the layer-by-layer path generation uses),
the asked fact recomputed and checked against an independent path (the sympy closed forms, a
plain-Python convolution, statements decided again, formula and code options judged again).
What every entry shares is checked here: Keras' value against the recorded `answer`, and the
choices (the correct one present exactly once and equal to the answer, the distractors distinct,
wrong and labelled with a known misconception). `regrade` compares two keys and lists the
questions whose answer changed (after a template fix).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from quizgen import families
from quizgen.errors import QuizgenError
from quizgen.facts import CHOICE_KINDS, FactRef, format_answer, from_json, same_response
from quizgen.key import KeyEntry, read_entries
from quizgen.oracle import Oracle, versions

#: How a problem with a distractor's misconception label starts.
LABEL = "misconception label"

#: What makes an item invalid for the student who sees it, by the words of the problems that
#: say so: more than one defensible option, or a distractor named by the wrong mistake.
VALIDITY = {"ambiguous": ("gives Keras' value", "builds the described model", "equals the correct answer"),
            "giveaway": ("gives away",), "label": (LABEL,)}


def validity(problem: str) -> str | None:
    """The kind of invalid item a problem of `check_entry` or `giveaways` reports
    (`ambiguous`, `label`, `giveaway`), or None for other problems (a wrong key value, a
    malformed entry)."""
    return next((kind for kind, words in VALIDITY.items() if any(w in problem for w in words)), None)


@dataclass(frozen=True)
class Finding:
    """One failed check of one key entry."""

    id: str
    variant: int
    message: str

    def __str__(self) -> str:
        return f"{self.id} (variant {self.variant}): {self.message}"


def _describe(ref: FactRef) -> str:
    where = "" if ref.layer is None else f" of layer {ref.layer}"
    what = ref.fact + (f" ({ref.axis})" if ref.axis else "") + (f" ({ref.weight})" if ref.weight else "")
    return what + where


def _text(value: Any) -> str:
    """An answer on one line (code answers are folded)."""
    return " ".join(format_answer(from_json(value)).split())


def _check_choices(entry: KeyEntry, answer: Any, values: bool) -> list[str]:
    """Problems with the choices: texts distinct and misconceptions known; for single choice
    exactly one correct and, where the options' `values` are answers, the correct one equal to
    the answer and every distractor wrong; for multiple choice the options marked correct are
    exactly those execution decides are true."""
    choices = entry.choices
    problems = []
    texts = [choice.text for choice in choices]
    if len(set(texts)) != len(texts):
        problems.append(f"choices are not distinct: {texts}")
    for choice in choices:
        label = choice.misconception
        if label and label.split("+")[0] and not _known(label):
            problems.append(f"choice {choice.text!r}: unknown misconception {label!r}")
    if entry.kind == "multiple_choice":
        marked = [number for number, choice in enumerate(choices, 1) if choice.correct]
        if marked != answer:
            problems.append(f"options {marked} are marked correct; execution decides {answer}")
        return problems
    correct = [choice for choice in choices if choice.correct]
    if len(correct) != 1:
        problems.append(f"{len(correct)} choices marked correct, expected exactly 1")
    if not values:  # the family judged the options itself
        return problems
    for choice in correct:
        if not _close(answer if choice.value is None else choice.value, answer):
            problems.append(f"choice {choice.text!r} is marked correct but Keras says "
                            f"{_text(answer)}")
    for choice in choices:
        if not choice.correct and (_close(choice.value, answer) or choice.text == _text(answer)
                                      or same_response(from_json(choice.value), from_json(answer))):
            problems.append(f"distractor {choice.text!r} equals the correct answer")
    return problems


def _known(label: str) -> bool:
    try:
        families.describe(label)
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


def check_entry(entry: KeyEntry, oracle: Oracle) -> list[str]:
    """Re-derive one key entry with `oracle` (a fresh one: nothing from generation); return
    the problems found (empty when it holds).

    Checks: the recorded model builds; Keras' value of the fact equals `answer`; the
    independent path (closed form, plain Python, ...) agrees; the choices are consistent with
    Keras' value.
    """
    ref = entry.ref
    recorded = entry.answer
    try:
        family = families.for_fact(ref.fact)
        keras_answer, closed = family.rederive(entry, oracle)
    except (QuizgenError, KeyError, TypeError) as error:
        return [f"cannot re-derive {_describe(ref)}: {error}"]
    problems = []
    if closed is None:  # the family judged the options: what it found wrong, if anything
        problems.append(f"{_describe(ref)}: {keras_answer or 'no single option is correct'}")
    elif not _close(keras_answer, recorded):
        problems.append(f"{_describe(ref)}: recorded {_text(recorded)}, Keras says "
                        f"{_text(keras_answer)}")
    elif not _close(closed, keras_answer):
        problems.append(f"{_describe(ref)}: Keras says {_text(keras_answer)} but the closed "
                        f"form gives {closed if isinstance(closed, str) else _text(closed)}")
    if entry.kind in CHOICE_KINDS:
        problems += _check_choices(entry, keras_answer, family.option_values)
        try:
            problems += [f"{LABEL}: {problem}" for problem in family.reproduce(entry, oracle)]
        except (QuizgenError, KeyError, TypeError, ValueError) as error:
            problems.append(f"cannot re-execute the distractors' misconceptions: {error}")
    return problems


def giveaways(entries: list[KeyEntry]) -> list[tuple[KeyEntry, str]]:
    """The single-choice entries of one item (one template instance of one variant) that offer,
    as a distractor, the answer of another of its questions about another fact, with the
    problem (a student who answered one could rule the option out of the other)."""
    values = [entry for entry in entries
              if entry.kind != "multiple_choice" and entry.fact not in ("code", "formula")]
    found = []
    for entry in entries:
        if entry.kind != "single_choice":
            continue
        others = {json.dumps(other.answer) for other in values
                  if other.id != entry.id and other.ref != entry.ref}
        found += [(entry, f"distractor {choice.text!r} gives away the answer of another question "
                          "of the same item") for choice in entry.choices
                  if not choice.correct and json.dumps(choice.value) in others]
    return found


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
    """Verify every entry of `key` (already parsed JSON) with a fresh `Oracle` without the
    persistent cache: every model is built and executed again. `progress` wraps the entries.

    Entries of a key written under another Keras version are verified against the installed
    one; each finding then says so.
    """
    oracle = Oracle()
    keras_version, backend = versions()
    installed = f"{keras_version} ({backend})"
    recorded = f"{key.get('keras_version')} ({key.get('backend')})"
    note = f" [key written with Keras {recorded}, verified with {installed}]" \
        if recorded != installed else ""
    every = read_entries(key)
    findings = [
        Finding(entry.id, entry.variant, problem + note)
        for entry in progress(every)
        for problem in check_entry(entry, oracle)
    ]
    items: dict[tuple, list[KeyEntry]] = {}
    for entry in every:
        items.setdefault((entry.variant, entry.template, entry.seed), []).append(entry)
    findings += [Finding(entry.id, entry.variant, problem) for group in items.values()
                 for entry, problem in giveaways(group)]
    return Report(tuple(findings), len(key["questions"]), recorded, installed)


def regrade(key: dict[str, Any], old: dict[str, Any]) -> list[Finding]:
    """Questions of `old` whose answer (or correct option) differs in `key`: the regrade list.
    Entries are matched by `id`; an entry missing from either key is listed too."""
    new_entries = {entry.id: entry for entry in read_entries(key)}
    changed = []
    for entry in read_entries(old):
        new = new_entries.get(entry.id)
        if new is None:
            changed.append(Finding(entry.id, entry.variant, "missing from the new key"))
        elif _key_answer(new) != _key_answer(entry):
            changed.append(Finding(entry.id, entry.variant,
                                   f"answer changed: {_key_answer(entry)} -> {_key_answer(new)}"))
    old_ids = {entry.id for entry in read_entries(old)}
    changed += [Finding(entry.id, entry.variant, "not in the old key")
                for entry in read_entries(key) if entry.id not in old_ids]
    return changed


def _key_answer(entry: KeyEntry) -> str:
    """The answer a student is graded against: the correct option(s) for choice kinds."""
    if entry.kind in CHOICE_KINDS:
        options = [str(i) for i, choice in enumerate(entry.choices, 1) if choice.correct]
        return f"option {','.join(options)} ({_text(entry.answer)})"
    return _text(entry.answer)
