"""Verification of answer keys: every entry re-derived, independently of how it was generated.

A key is untrusted input (keys are passed around by LMS scripts and CI): `verify_key` reports
one `Finding` per problem per entry, by the entry's id, and never stops at a malformed entry.
Each entry is checked against the schema (`quizgen.key.entry_problems`), then `check_entry`
checks that its `kind` fits its `fact` and its `model` or `task` parses; that what it prints
agrees with what it records (its `code` is its model's code in a code style, its `answer_text`
its answer's, every option's text its value's); that its `tolerance` is what generation writes;
and has the family of its `fact` (`quizgen.families`) re-derive it with a fresh `Oracle`: the
recorded `model` rebuilt as one whole `keras.Sequential` (`Oracle.model_facts`, not the
layer-by-layer path generation uses; a model over the oracle's size budget is refused before
any weight is allocated), the asked fact recomputed and checked against an independent path
(the sympy closed forms, a plain-Python convolution, statements decided again, formula and code
options judged again). What every entry shares is checked here: Keras' value against the
recorded `answer`, and the choices (the correct one present exactly once and equal to the
answer, the distractors distinct, wrong and labelled with a known misconception). Across
entries: ids are unique and each is `v<variant>-q<position>`. Nothing read from a key is run as
code. `regrade` compares two keys and lists the questions whose answer changed (after a
template fix).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from quizgen import families, formulas
from quizgen.errors import QuizgenError, clip, quote
from quizgen.facts import CHOICE_KINDS, TASK_FACTS, FactRef, format_answer, from_json, same_response
from quizgen.families import statements, which_formula
from quizgen.family import Family, Question, count_of
from quizgen.grade import MATRIX_TOLERANCE
from quizgen.key import (
    MESSAGE_LIMIT,
    KeyChoice,
    KeyEntry,
    entry_name,
    entry_problems,
    validate_envelope,
)
from quizgen.oracle import Oracle, versions
from quizgen.spec import CODE_STYLES, ModelSpec, Task
from quizgen.template import fenced

#: How a problem with a distractor's misconception label starts.
LABEL = "misconception label"

#: What makes an item invalid for the student who sees it, by the words of the problems that
#: say so: more than one defensible option, or a distractor named by the wrong mistake.
VALIDITY = {"ambiguous": ("gives Keras' value", "builds the described model", "equals the correct answer"),
            "giveaway": ("gives away",), "label": (LABEL,)}


#: Instructors' model files given to `verify`: file name → (its text, the spec of its model).
Files = dict[str, tuple[str, ModelSpec]]


def validity(problem: str) -> str | None:
    """The kind of invalid item a problem of `check_entry` or `giveaways` reports
    (`ambiguous`, `label`, `giveaway`), or None for other problems (a wrong key value, a
    malformed entry)."""
    return next((kind for kind, words in VALIDITY.items() if any(w in problem for w in words)), None)


@dataclass(frozen=True)
class Finding:
    """One failed check of one key entry: the entry's `id` (`questions[i]` for an entry
    without a valid one, see `quizgen.key.entry_name`), its `variant` (None where it has no
    valid one) and what is wrong."""

    id: str
    variant: int | None
    message: str

    def __str__(self) -> str:
        where = "" if self.variant is None else f" (variant {self.variant})"
        return f"{self.id}{where}: {self.message}"


def _describe(ref: FactRef) -> str:
    where = "" if ref.layer is None else f" of layer {ref.layer}"
    what = ref.fact + (f" ({ref.axis})" if ref.axis else "") + (f" ({ref.weight})" if ref.weight else "")
    return what + where


def _text(value: Any) -> str:
    """An answer on one line (code answers are folded)."""
    return " ".join(format_answer(from_json(value)).split())


def _shown(value: Any) -> str:
    """An answer on one line, for a message: `_text` cut to `MESSAGE_LIMIT` characters."""
    return clip(_text(value), MESSAGE_LIMIT)


def _check_choices(entry: KeyEntry, answer: Any, values: bool) -> list[str]:
    """Problems with the choices: texts distinct and misconceptions known; for single choice
    exactly one correct and, where the options' `values` are answers, the correct one equal to
    the answer and every distractor wrong; for multiple choice the options marked correct are
    exactly those execution decides are true."""
    choices = entry.choices
    problems = []
    texts = [choice.text for choice in choices]
    if len(set(texts)) != len(texts):
        problems.append(f"choices are not distinct: {quote(texts)}")
    for choice in choices:
        label = choice.misconception
        if label and label.split("+")[0] and not _known(label):
            problems.append(f"choice {quote(choice.text)}: unknown misconception {quote(label)}")
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
            problems.append(f"choice {quote(choice.text)} is marked correct but Keras says "
                            f"{_shown(answer)}")
    for choice in choices:
        if not choice.correct and (_close(choice.value, answer) or choice.text == _text(answer)
                                      or same_response(from_json(choice.value), from_json(answer))):
            problems.append(f"distractor {quote(choice.text)} equals the correct answer")
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


#: What reading a value of a key as a model, formula, claim or answer raises when it is none (a
#: key can hold anything): the families' re-derivations and the renderings of `_printed`.
UNREADABLE = (QuizgenError, LookupError, TypeError, ValueError, ArithmeticError)

#: The largest `tolerance` generation writes, by kind: 0 for numeric answers (every one is a
#: count, graded exactly), `quizgen.grade.MATRIX_TOLERANCE` for matrices (averages printed with
#: 6 decimals); other kinds have none.
TOLERANCES = {"numeric": 0, "matrix": MATRIX_TOLERANCE}

#: Every formula the formula family offers, by its `str()` form (a choice's `value`).
FORMULAS = {str(expression): expression for expression, _ in itertools.chain(
    which_formula.PARAMS_CANDIDATES, *which_formula.SIZE_CANDIDATES.values())}


def _structure(entry: KeyEntry) -> list[str]:
    """Why an entry cannot be re-derived at all: its `kind` does not fit its `fact`, its
    `model` (or `task`, for by-hand facts) is missing or malformed (`_subject_problems`), or a
    choice kind has no choices."""
    kinds = _kinds(entry.ref)
    problems = [] if entry.kind in kinds else [
        f"kind {entry.kind!r} does not fit fact {entry.fact!r} (expected {' or '.join(kinds)})"]
    problems += _subject_problems(entry)
    if entry.kind in CHOICE_KINDS and not entry.choices:
        problems.append(f"a {entry.kind} question without choices")
    return problems


def _subject_problems(entry: KeyEntry) -> list[str]:
    """The entry has no `task` (by-hand facts) or `model` (the others), it does not parse, or
    its `layer` is not one of the model's layers."""
    subject = "task" if entry.fact in TASK_FACTS else "model"
    if getattr(entry, subject) is None:
        return [f"fact {entry.fact!r} is asked of a {subject}, and the entry has none"]
    try:
        parsed = _subject(entry)
    except QuizgenError as error:
        return [clip(str(error), MESSAGE_LIMIT)]
    count = len((parsed.spec if isinstance(parsed, Task) else parsed).layers)
    if entry.layer is not None and entry.layer >= count:
        return [f"layer {entry.layer}: the {subject}'s model has {count_of(count, 'layer')}"]
    return []


def _kinds(ref: FactRef) -> tuple[str, ...]:
    """The kinds of the key entries about `ref`: its family's response forms (`Family.forms`;
    by default single choice or free response), a free response being `ref.free_kind`."""
    forms = families.for_fact(ref.fact).forms or ("single_choice", "free")
    return tuple(ref.free_kind if form == "free" else form for form in forms)


def _subject(entry: KeyEntry) -> ModelSpec | Task:
    """The entry's `task`, or else its `model`, parsed.

    Raises:
        TemplateError: it does not parse.
    """
    return Task.from_json(entry.task) if entry.task is not None else ModelSpec.from_json(entry.model)


def _tolerance(entry: KeyEntry) -> list[str]:
    """The entry's `tolerance` must be within what generation writes (`TOLERANCES`)."""
    tolerance, bound = entry.tolerance, TOLERANCES.get(entry.kind)
    if tolerance is None:
        return []
    if bound is None:
        return [f"tolerance {tolerance!r}: a {entry.kind} answer has no tolerance"]
    if not 0 <= tolerance <= bound:
        allowed = ("0 (a count, graded exactly)" if bound == 0
                   else f"at most {bound} (grade.MATRIX_TOLERANCE)")
        return [f"tolerance {tolerance!r}: the tolerance of a {entry.kind} answer is {allowed}"]
    return []


def _printed(entry: KeyEntry, files: Files) -> list[str]:
    """Where what the entry prints disagrees with what it records: its `code` is not its
    model's (or task's) code, its `layer_name` not the name of its layer, its `answer_text` not
    its answer as printed, or an option's text not its value as printed (statements are worded
    by `_worded`, with Keras' facts)."""
    if entry.code_file is not None:
        given = files.get(entry.code_file)
        problems = [] if given is None or (entry.code, _subject(entry).to_json()) == (
            given[0], given[1].to_json()) else [
            f"code: the instructor's file {entry.code_file} given with --model is not the "
            "entry's code, or does not build the entry's model"]
    else:
        problems = [] if _shows_subject(entry) else [
            "code: the printed code is not the code of the entry's "
            + ("task" if entry.task is not None else f"model in any code style ({', '.join(_styles())})")]
    if entry.layer_name is not None and entry.model is not None and entry.layer is not None:
        names = _subject(entry).layer_names()
        if entry.layer < len(names) and names[entry.layer] != entry.layer_name:
            problems.append(f"layer_name {quote(entry.layer_name)} is not the name of layer "
                            f"{entry.layer}, {quote(names[entry.layer])}")
    shown = _answer_text(entry)
    if shown is None:
        problems.append(f"answer {quote(entry.answer)} is not a {entry.kind} answer")
    elif entry.answer_text is not None and entry.answer_text != shown:
        problems.append(f"answer_text {quote(entry.answer_text)} is not the answer {quote(shown)}")
    for number, choice in enumerate(entry.choices, 1):
        printed = _option_text(entry.fact, choice)
        if printed is not None and printed != choice.text:
            problems.append(f"option {number}: its text {quote(choice.text)} is not its value "
                            f"{quote(printed)}")
    return problems


def _styles() -> list[str]:
    """Every code style: `ModelSpec.code`'s and the families' (words in the stem)."""
    return [*CODE_STYLES, *families.CODE_STYLES]


def _shows_subject(entry: KeyEntry) -> bool:
    """Whether the entry prints its own model or task: its `code` is the task's code, or the
    model's code in one of `CODE_STYLES`; or, for a family's code style (the model in words),
    the code is empty and the stem ends with the model in those words (as generation prints
    it, `quizgen.questions.make_item`)."""
    subject = _subject(entry)
    if isinstance(subject, Task):
        return entry.code == subject.code()
    if entry.code:
        return entry.code in (subject.code(style) for style in CODE_STYLES)
    return any(entry.stem.endswith(f"\n\n{words}") for words in _in_words(subject))


def _in_words(spec: ModelSpec) -> list[str]:
    """The model described in each of the families' code styles (one it cannot describe, such
    as a Dropout without a rate, is left out)."""
    described = []
    for describe in families.CODE_STYLES.values():
        try:
            described.append(describe(spec))
        except UNREADABLE:
            continue
    return described


def _answer_text(entry: KeyEntry) -> str | None:
    """The entry's answer as generation prints it (`Question.answer_text`), or None for an
    answer that cannot be one of its kind (a number where option numbers are listed)."""
    try:
        return Question(entry.ref, entry.kind, "", from_json(entry.answer), (), "", ()).answer_text
    except UNREADABLE:
        return None


def _option_text(fact: str, choice: KeyChoice) -> str | None:
    """The text generation prints for a choice's value: the model's code in a Python block
    (fact `code`, as `quizgen.families.which_code` shows it), the formula in LaTeX (`formula`),
    the answer (`format_answer`); None for a statement (`_worded` reads it) and for a value that
    is none of these (re-deriving reports it)."""
    if fact == "statements":
        return None
    try:
        if fact == "code":
            return fenced(ModelSpec.from_json(choice.value).code())
        if fact == "formula":
            return f"${formulas.latex(FORMULAS[choice.value])}$"
        return format_answer(from_json(choice.value))
    except UNREADABLE:
        return None


def _worded(entry: KeyEntry, oracle: Oracle) -> list[str]:
    """Each statement of a statements entry must read as its kind words its claim
    (`quizgen.families.statements`), on Keras' facts of the model."""
    spec = ModelSpec.from_json(entry.model)
    facts = oracle.facts(spec)
    problems = []
    for number, choice in enumerate(entry.choices, 1):
        kind = statements.KINDS.get((choice.statement or {}).get("kind"))
        try:
            wording = kind.phrase(spec, facts, choice.statement["claim"])
        except (AttributeError, *UNREADABLE):
            continue  # no such kind, or a claim it cannot word: re-deriving reports it
        if wording != choice.text:
            problems.append(f"option {number}: its text {quote(choice.text)} is not its "
                            f"statement {quote(wording)}")
    return problems


def check_entry(entry: KeyEntry, oracle: Oracle, files: Files | None = None) -> list[str]:
    """Re-derive one key entry (schema-valid) with `oracle` (a fresh one: nothing from
    generation); return the problems found (empty when it holds). `files` are the instructors'
    model files given to check entries whose code is one (`code_file`): name → (text, spec).

    Checks: the kind fits the fact and the model or task parses (if not, nothing else is
    checked); the recorded model builds within the oracle's size budget; Keras' value of the
    fact equals `answer`; the independent path (closed form, plain Python, ...) agrees; the
    tolerance and what the entry prints (`_printed`); the choices are consistent with Keras'
    value, statements read as their claims, and each distractor's labelled mistake gives it.
    """
    problems = _structure(entry)
    if problems:
        return problems
    consistency = _tolerance(entry) + _printed(entry, files or {})
    try:
        family = families.for_fact(entry.fact)
        keras_answer, closed = family.rederive(entry, oracle)
    except UNREADABLE as error:
        return [f"cannot re-derive {_describe(entry.ref)}: {clip(str(error), MESSAGE_LIMIT)}",
                *consistency]
    problems = _answer(entry, keras_answer, closed) + consistency
    if entry.kind in CHOICE_KINDS:
        problems += _check_choices(entry, keras_answer, family.option_values)
        problems += _executed_options(entry, family, oracle)
    return problems


def _answer(entry: KeyEntry, keras_answer: Any, closed: Any) -> list[str]:
    """What a family's re-derivation `(keras_answer, closed)` of `entry` says is wrong: the
    problems it found with the options (`closed` None; a `keras_answer` of None means no
    single option is correct, which `_check_choices` reports), a recorded answer that is not
    Keras', or a closed form that is not Keras'."""
    where = _describe(entry.ref)
    if closed is None:
        return [f"{where}: {clip(keras_answer, MESSAGE_LIMIT)}"] if keras_answer else []
    if not _close(keras_answer, entry.answer):
        return [f"{where}: recorded {_shown(entry.answer)}, Keras says {_shown(keras_answer)}"]
    if not _close(closed, keras_answer):
        return [f"{where}: Keras says {_shown(keras_answer)} but the closed form gives "
                f"{closed if isinstance(closed, str) else _shown(closed)}"]
    return []


def _executed_options(entry: KeyEntry, family: Family, oracle: Oracle) -> list[str]:
    """The options' problems that take executing the model: statements that do not read as
    their claims (`_worded`), distractors their labelled mistake does not give
    (`Family.reproduce`)."""
    try:
        worded = _worded(entry, oracle) if entry.fact == "statements" else []
        return worded + [f"{LABEL}: {clip(problem, MESSAGE_LIMIT)}"
                         for problem in family.reproduce(entry, oracle)]
    except UNREADABLE as error:
        return [f"cannot re-execute the distractors' misconceptions: {clip(str(error), MESSAGE_LIMIT)}"]


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
        found += [(entry, f"distractor {quote(choice.text)} gives away the answer of another "
                          "question of the same item") for choice in entry.choices
                  if not choice.correct and json.dumps(choice.value) in others]
    return found


@dataclass(frozen=True)
class Report:
    """The outcome of verifying a key: findings, entries checked, the Keras versions, and the
    instructors' files that entries show as code but that were not given to check (`unrun`)."""

    findings: tuple[Finding, ...]
    checked: int
    recorded_keras: str
    installed_keras: str
    unrun: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every entry holds."""
        return not self.findings

    @property
    def drift(self) -> bool:
        """True when the key was written under another Keras version or backend."""
        return self.recorded_keras != self.installed_keras


def verify_key(key: Any, progress: Callable[[Iterable], Iterable] = iter,
               files: Files | None = None) -> Report:
    """Verify every entry of `key` (parsed JSON) with a fresh `Oracle` without the persistent
    cache: every model is built and executed again. `progress` wraps the entries. An entry
    whose code is an instructor's file (`code_file`) is checked against `files` (name →
    (text, spec), the files given with `quizgen verify --model`); the names of those not given
    are in `Report.unrun` (a key's code is never run).

    Each entry gets its findings, whatever the others are: its schema problems
    (`quizgen.key.entry_problems`) if it has any, else what `check_entry` finds (an unexpected
    error while checking it is a finding too); then ids that repeat or do not match the
    entry's variant and position, and giveaways within an item. Entries of a key written under
    another Keras version are verified against the installed one; each finding then says so.

    Raises:
        QuizgenError: the key is not an object with the top-level fields and a `questions`
            list (`quizgen.key.validate_envelope`): the one error for the whole key.
    """
    validate_envelope(key, "key")
    oracle = Oracle()
    keras_version, backend = versions()
    installed = f"{keras_version} ({backend})"
    recorded = f"{key.get('keras_version')} ({key.get('backend')})"
    note = f" [key written with Keras {recorded}, verified with {installed}]" \
        if recorded != installed else ""
    findings: list[Finding] = []
    read: list[KeyEntry] = []
    for index, data in enumerate(progress(key["questions"])):
        problems = entry_problems(data)
        if not problems:
            read.append(KeyEntry.from_json(data))
            problems = [problem + note for problem in _checked(read[-1], oracle, files or {})]
        findings += [Finding(entry_name(data, index), _variant(data), problem) for problem in problems]
    findings += _identities(read)
    items: dict[tuple, list[KeyEntry]] = {}
    for entry in read:
        items.setdefault((entry.variant, entry.template, entry.seed), []).append(entry)
    findings += [Finding(entry.id, entry.variant, problem) for group in items.values()
                 for entry, problem in giveaways(group)]
    unrun = sorted({entry.code_file for entry in read} - {None} - set(files or {}))
    return Report(tuple(findings), len(key["questions"]), recorded, installed, tuple(unrun))


def _checked(entry: KeyEntry, oracle: Oracle, files: Files) -> list[str]:
    """`check_entry`'s problems; an error it did not expect (a key can hold anything) is one
    problem naming the error, so that it stops this entry only."""
    try:
        return check_entry(entry, oracle, files)
    except Exception as error:  # an untrusted entry may break anything; it stops only itself
        return [f"cannot check the entry: {type(error).__name__}: {clip(str(error), MESSAGE_LIMIT)}"]


def _variant(data: Any) -> int | None:
    """An entry's `variant`, where it is one."""
    variant = data.get("variant") if isinstance(data, dict) else None
    return variant if isinstance(variant, int) and not isinstance(variant, bool) else None


def _identities(entries: list[KeyEntry]) -> list[Finding]:
    """Entries whose `id` is not `v<variant>-q<position>` (what the schema says it is), or is
    the id of an earlier entry (two entries at one position of a variant)."""
    found, seen = [], set()
    for entry in entries:
        expected = f"v{entry.variant}-q{entry.position}"
        if entry.id != expected:
            found.append(Finding(entry.id, entry.variant, f"id {entry.id} does not match variant "
                                 f"{entry.variant}, position {entry.position} ({expected})"))
        elif entry.id in seen:
            found.append(Finding(entry.id, entry.variant, f"a second entry {entry.id}: variant "
                                 f"{entry.variant} has two questions at position {entry.position}"))
        seen.add(entry.id)
    return found


def regrade(key: dict[str, Any], old: dict[str, Any]) -> list[Finding]:
    """Questions of `old` whose answer (or correct option) differs in `key`: the regrade list.
    Entries are matched by `id`; an entry missing from either key is listed too, and one that
    violates the schema in either key is listed as not compared."""
    new_entries, old_entries = _by_id(key), _by_id(old)
    changed = []
    for name, entry in old_entries.items():
        new = new_entries.get(name)
        if name not in new_entries:
            message = "missing from the new key"
        elif entry is None or new is None:
            message = f"malformed in the {'old' if entry is None else 'new'} key: not compared"
        elif _key_answer(new) != _key_answer(entry):
            message = (f"answer changed: {clip(_key_answer(entry), MESSAGE_LIMIT)} -> "
                       f"{clip(_key_answer(new), MESSAGE_LIMIT)}")
        else:
            continue
        changed.append(Finding(name, entry and entry.variant, message))
    changed += [Finding(name, entry and entry.variant, "not in the old key")
                for name, entry in new_entries.items() if name not in old_entries]
    return changed


def _by_id(key: dict[str, Any]) -> dict[str, KeyEntry | None]:
    """A key's entries by name (`quizgen.key.entry_name`), None for one that violates the
    schema."""
    return {entry_name(data, index): None if entry_problems(data) else KeyEntry.from_json(data)
            for index, data in enumerate(key["questions"])}


def _key_answer(entry: KeyEntry) -> str:
    """The answer a student is graded against: the correct option(s) for choice kinds."""
    if entry.kind in CHOICE_KINDS:
        options = [str(i) for i, choice in enumerate(entry.choices, 1) if choice.correct]
        return f"option {','.join(options)} ({_text(entry.answer)})"
    return _text(entry.answer)
