"""`quizgen verify` against malformed, tampered or impossible keys: a key is passed around by LMS
scripts and CI, and may have been edited by hand.

- one FAIL line per problem per entry, by the entry's id, and a nonzero exit; never a traceback;
- a tampered entry fails: an option's printed text that is not its value ("99,999" for a right
  value), a printed answer that is not the answer, printed code that is not the model's (or
  the task's, or the prose description that is not the model's), a tolerance generation never
  writes (1e9, negative, NaN), a kind that does not fit the fact;
- duplicated entries (the same id twice, two entries at one position of a variant) fail;
- an entry that lacks a field (or has one of the wrong type) fails by its id, and the other
  entries are still verified; a key that is not an object with a `questions` list is one error;
- a model over the oracle's size budget (a `Dense(100000)` on 100,000 inputs) fails with a
  message, before any weight is allocated;
- a regrade against a key with a malformed entry lists it as not compared;
- the oracle's size budget itself: a model, a layer or a probe over `MAX_PARAMS` parameters or
  `MAX_ACTIVATION` values per sample is refused with an `ArchitectureError` before Keras
  allocates a weight, leaves nothing for Keras to allocate later, and is reported by `generate`
  for a template's fixed model;
- property-based (Hypothesis, derandomized: the same examples on every run): 1,200 keys made by
  mutating real entries (fields removed, replaced by any JSON value or by code payloads, wrapped,
  nudged, swapped between entries; entries repeated; the key itself broken), read from a file
  as `quizgen verify` reads it, give `verify_key` findings (each bounded in length) or one
  `QuizgenError`, never another exception nor an unexpected error of a check; they run no code
  and leave the file and the parsed key as they were.

Entries that violate the schema are verified through `verify_key`: the CLI's `_load_key`
(cli.py) checks the whole key against the schema before `verify` sees it.
"""

from __future__ import annotations

import base64
import copy
import json
import marshal
import re
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quizgen import oracle
from quizgen.errors import ArchitectureError, QuizgenError
from quizgen.key import MESSAGE_LIMIT
from quizgen.spec import ModelSpec
from quizgen.verify import regrade, verify_key

from .conftest import entry_json, run_cli

#: Templates whose questions hold every kind of key entry (code, formula, statements, by-hand
#: matrices, counts and shapes, as single choices and free responses): with `--template` each
#: variant asks all their questions.
EVERY_KIND = "prose-which-code,formula-params,statements,conv-by-hand,total-params,conv-params," \
             "conv-output-shape,dense-params,kernel-shape"


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> dict:
    """A key of 8 variants with an entry of every kind (the default exam need not ask every
    kind: its implicit blueprint draws its slots)."""
    out = tmp_path_factory.mktemp("every-kind")
    result = run_cli("generate", "--template", EVERY_KIND, "--variants", "8", "--seed", "7",
                     "--format", "md", "--out", str(out))
    assert result.exit_code == 0, result.output
    return json.loads((out / "key.json").read_text())


def smallest(key: dict, fact: str | None = None, kind: str | None = None, code: str = "") -> dict:
    """A copy of the key's entry with the smallest model (or task) asking `fact` as `kind`
    whose code starts with `code`."""
    entries = [entry for entry in key["questions"] if (fact is None or entry["fact"] == fact)
               and (kind is None or entry["kind"] == kind) and entry["code"].startswith(code)]
    return copy.deepcopy(min(entries, key=lambda entry: len(json.dumps(entry.get("model")
                                                                        or entry["task"]))))


def verify(tmp_path, key: dict, *entries: dict):
    """`quizgen verify` of a key holding `entries`; the result and its FAIL lines."""
    path = tmp_path / "key.json"
    path.write_text(json.dumps(dict(key, questions=list(entries))))
    result = run_cli("verify", str(path))
    assert "Traceback" not in result.output
    return result, [line for line in result.output.splitlines() if line.startswith("FAIL ")]


def findings(key: dict, *entries: dict) -> list[str]:
    """The FAIL lines of `verify_key` on a key holding `entries` (the CLI prints the same)."""
    return [f"FAIL {finding}" for finding in verify_key(dict(key, questions=list(entries))).findings]


def fails_with(tmp_path, key: dict, entry: dict, *words: str) -> list[str]:
    """Verify `entry` alone: it fails (exit 1), every FAIL line names it, and one line holds
    all of `words`. Returns the lines."""
    result, lines = verify(tmp_path, key, entry)
    assert result.exit_code == 1, result.output
    assert lines and all(line.startswith(f"FAIL {entry['id']} (variant {entry['variant']}): ")
                         for line in lines), lines
    assert any(all(word in line for word in words) for line in lines), lines
    return lines


def correct(entry: dict) -> dict:
    return next(choice for choice in entry["choices"] if choice["correct"])


@pytest.mark.parametrize("fact", ["code", "formula"])
def test_three_options_marked_correct(tmp_path, key, fact):
    entry = smallest(key, fact)
    for choice in [choice for choice in entry["choices"] if not choice["correct"]][:2]:
        choice["correct"] = True
    lines = fails_with(tmp_path, key, entry, "3 choices marked correct, expected exactly 1")
    prefix = len(f"FAIL {entry['id']} (variant {entry['variant']}): ")
    assert all(len(line) <= prefix + 2 * MESSAGE_LIMIT for line in lines), lines  # texts quoted briefly


def test_correct_option_with_another_text(tmp_path, key):
    entry = smallest(key, "params", "single_choice")
    number = entry["choices"].index(correct(entry)) + 1
    value = f"{correct(entry)['value']:,}"
    correct(entry)["text"] = "99,999"
    lines = fails_with(tmp_path, key, entry, f"option {number}: its text '99,999' is not its value '{value}'")
    assert len(lines) == 1


@pytest.mark.parametrize("fact", ["code", "formula", "weight_shape", "output_shape"])
def test_distractor_with_another_options_text(tmp_path, key, fact):
    """A distractor printed as the correct option (its value unchanged): two options read the
    same, and the distractor's text is not its value."""
    entry = smallest(key, fact, "single_choice")
    number, distractor = next((i, c) for i, c in enumerate(entry["choices"], 1) if not c["correct"])
    distractor["text"] = correct(entry)["text"]
    fails_with(tmp_path, key, entry, f"option {number}: its text ", "is not its value")


def test_statement_with_another_wording(tmp_path, key):
    entry = smallest(key, "statements")
    entry["choices"][0]["text"] = "The model has 5 layers."
    fails_with(tmp_path, key, entry, "option 1: its text 'The model has 5 layers.' is not its statement")


def test_printed_answer_that_is_not_the_answer(tmp_path, key):
    entry = smallest(key, kind="numeric")
    entry["answer_text"] = "99,999"
    lines = fails_with(tmp_path, key, entry, "answer_text '99,999' is not the answer "
                       f"'{entry['answer']:,}'")
    assert len(lines) == 1


@pytest.mark.parametrize("code, change", [
    ("model = keras.Sequential([", lambda entry: entry.update(code=entry["code"].replace("(", "( ", 1))),
    ("model = keras.Sequential()",
     lambda entry: entry.update(code=entry["code"] + "\nmodel.add(layers.Dense(1))")),
    ("x = [", lambda entry: entry.update(code=entry["code"].replace("[", "[9, ", 1))),
    ("", lambda entry: entry.update(stem=entry["stem"].replace("1. ", "1. Dense layer\n1. ", 1))),
])
def test_printed_code_that_is_not_the_model(tmp_path, key, code, change):
    """Sequential and add style code, a by-hand task's code, a model described in words."""
    entry = smallest(key, code=code) if code else smallest(key, "code")
    change(entry)
    lines = fails_with(tmp_path, key, entry, "code: the printed code is not the code of the entry's")
    assert len(lines) == 1


def test_model_that_is_not_the_printed_code(tmp_path, key):
    entry = smallest(key, "total_params", "numeric", code="model")
    entry["model"]["layers"].append({"module": "keras.layers", "class_name": "Dense",
                                     "config": {"units": 1}})
    fails_with(tmp_path, key, entry, "code: the printed code is not the code of the entry's model "
               "in any code style (sequential, add, prose)")


@pytest.mark.parametrize("kind, tolerance, words", [
    ("numeric", 1e9, "tolerance 1000000000.0: the tolerance of a numeric answer is 0"),
    ("numeric", float("nan"), "tolerance nan: the tolerance of a numeric answer is 0"),
    ("matrix", 0.5, "tolerance 0.5: the tolerance of a matrix answer is at most 1e-06"),
    ("shape", 0, "tolerance 0: a shape answer has no tolerance"),
])
def test_absurd_tolerance(tmp_path, key, kind, tolerance, words):
    entry = smallest(key, kind=kind)
    entry["tolerance"] = tolerance
    assert len(fails_with(tmp_path, key, entry, words)) == 1


def test_negative_tolerance(key):
    entry = dict(smallest(key, kind="numeric"), tolerance=-1)
    assert findings(key, entry) == [f"FAIL {entry['id']} (variant {entry['variant']}): tolerance: -1 "
                                    "is less than the minimum of 0"]


def test_matrix_tolerance_generation_allows_passes(tmp_path, key):
    entry = smallest(key, kind="matrix")
    entry["tolerance"] = 1e-6
    result, lines = verify(tmp_path, key, entry)
    assert result.exit_code == 0 and not lines, result.output


def test_answer_that_is_not_of_its_kind(tmp_path, key):
    entry = dict(smallest(key, "statements"), answer=0)
    fails_with(tmp_path, key, entry, "answer 0 is not a multiple_choice answer")


def test_kind_that_does_not_fit_the_fact(tmp_path, key):
    entry = smallest(key, "code")
    entry["kind"] = "multiple_choice"
    lines = fails_with(tmp_path, key, entry, "kind 'multiple_choice' does not fit fact 'code' "
                       "(expected single_choice)")
    assert len(lines) == 1


def test_duplicated_entry(tmp_path, key):
    entry = smallest(key, kind="numeric")
    result, lines = verify(tmp_path, key, entry, copy.deepcopy(entry))
    assert result.exit_code == 1
    assert lines == [f"FAIL {entry['id']} (variant {entry['variant']}): a second entry {entry['id']}: "
                     f"variant {entry['variant']} has two questions at position {entry['position']}"]


def test_two_entries_at_one_position(tmp_path, key):
    entry = smallest(key, kind="numeric")
    other = dict(copy.deepcopy(entry), id=f"v{entry['variant']}-q99")
    result, lines = verify(tmp_path, key, entry, other)
    assert result.exit_code == 1
    assert lines == [f"FAIL {other['id']} (variant {entry['variant']}): id {other['id']} does not "
                     f"match variant {entry['variant']}, position {entry['position']} ({entry['id']})"]


def test_entry_without_a_field_fails_alone(key):
    good, bad = smallest(key, kind="numeric"), smallest(key, kind="shape")
    del bad["stem"]
    report = verify_key(dict(key, questions=[good, bad]))
    assert [str(finding) for finding in report.findings] == [
        f"{bad['id']} (variant {bad['variant']}): 'stem' is a required property"]
    assert report.checked == 2


def test_entry_without_a_field_fails_alone_on_the_command_line(tmp_path, key):
    bad = smallest(key, kind="shape")
    del bad["stem"]
    lines = fails_with(tmp_path, key, bad, "'stem' is a required property")
    assert len(lines) == 1


def test_entry_with_fields_of_the_wrong_type(key):
    """Each problem is a line; an entry without a valid variant is named by its id alone."""
    good, bad = smallest(key, kind="numeric"), smallest(key, kind="shape")
    bad |= {"variant": "one", "answer": {"x": 1}}
    assert sorted(findings(key, good, bad)) == sorted([
        f"FAIL {bad['id']}: variant: 'one' is not of type 'integer'",
        f"FAIL {bad['id']}: answer: {{'x': 1}} is not valid under any of the given schemas"])


def test_entry_without_an_id_is_named_by_position(key):
    good, bad = smallest(key, kind="numeric"), smallest(key, kind="shape")
    bad["id"] = "x" * 100_000
    lines = findings(key, good, bad)
    assert len(lines) == 1 and len(lines[0]) < 2 * MESSAGE_LIMIT
    assert lines[0].startswith(f"FAIL questions[1] (variant {bad['variant']}): id: 'xxxx")


@pytest.mark.parametrize("content", [[1, 2], {"seed": 1}, "text"])
def test_key_that_is_not_an_object_with_questions(tmp_path, content):
    path = tmp_path / "key.json"
    path.write_text(json.dumps(content))
    result = run_cli("verify", str(path))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith(f"error: {path}: (top level): ")
    with pytest.raises(QuizgenError, match=r"^key: \(top level\): "):
        verify_key(content)


def test_model_over_the_size_budget(tmp_path, key):
    """Dense(100000) on 100,000 inputs: 40 GB of weights if Keras allocated them."""
    spec = ModelSpec.from_json({"input_shape": [100_000],
                                "layers": [{"class_name": "Dense", "config": {"units": 100_000}}]})
    entry = entry_json({"kind": "numeric", "fact": "total_params", "model": spec.to_json(),
                        "code": spec.code(), "answer": 10_000_100_000, "answer_text": "10,000,100,000",
                        "tolerance": 0})
    assert fails_with(tmp_path, key, entry) == [
        "FAIL v1-q1 (variant 1): cannot re-derive total_params: 10,000,100,000 parameters: more "
        "than quizgen builds (MAX_PARAMS = 150,000,000)"]


def test_regrade_against_a_key_with_a_malformed_entry(key):
    old = dict(key, questions=copy.deepcopy(key["questions"][:3]))
    new = copy.deepcopy(old)
    del new["questions"][1]["answer"]
    entry = old["questions"][1]
    assert [str(finding) for finding in regrade(new, old)] == [
        f"{entry['id']} (variant {entry['variant']}): malformed in the new key: not compared"]


# --- the oracle's size budget ----------------------------------------------------------------

def dense(inputs: int, *units: int) -> ModelSpec:
    return ModelSpec.from_json({"input_shape": [inputs], "layers": [
        {"class_name": "Dense", "config": {"units": count}} for count in units]})


HUGE = dense(100_000, 100_000)  # 10,000,100,000 parameters: 40 GB of float32
HUGE_MESSAGE = "10,000,100,000 parameters: more than quizgen builds (MAX_PARAMS = 150,000,000)"


@pytest.mark.parametrize("build", [
    lambda spec: oracle.build_model(spec),
    lambda spec: oracle.Oracle().model_facts(spec),
    lambda spec: oracle.Oracle().facts(spec),
    lambda spec: oracle.Oracle().probe_outputs(spec, 0),
], ids=["build_model", "model_facts", "facts", "probe_outputs"])
def test_every_build_refuses_a_model_over_the_budget(build):
    with pytest.raises(ArchitectureError, match=re.escape(HUGE_MESSAGE)):
        build(HUGE)


@pytest.mark.parametrize("spec, message", [
    (dense(20_000, 3_000, 30_000), "150,033,000 parameters, 90,030,000 in layer 1 (Dense): more "
                                   "than quizgen builds (MAX_PARAMS = 150,000,000)"),
    (ModelSpec.from_json({"input_shape": [3000, 3000, 3], "layers": [
        {"class_name": "Conv2D", "config": {"filters": 64, "kernel_size": 3}}]}),
     "the output has 575,232,256 values per sample: more than quizgen builds "
     "(MAX_ACTIVATION = 4,000,000)"),
    (ModelSpec.from_json({"input_shape": [5000, 5000], "layers": []}),
     "the input has 25,000,000 values per sample"),
])
def test_budget_of_a_model_and_of_its_tensors(spec, message):
    """Each layer within the budget, the model not; an output too large; an input too large:
    the whole-model build (verify) and the layer-by-layer facts (generate) agree."""
    for build in (oracle.Oracle().model_facts, oracle.Oracle().facts):
        with pytest.raises(ArchitectureError, match=re.escape(message)):
            build(spec)


def test_a_refused_model_leaves_nothing_to_allocate():
    """Keras initializes the variables pending from stateless scopes when its next one closes:
    a refused model's must not be among them (40 GB: ResourceExhaustedError)."""
    with pytest.raises(ArchitectureError):
        oracle.build_model(HUGE)
    with oracle.keras().StatelessScope():
        pass
    assert oracle.Oracle().model_facts(dense(8, 4)).total_params == 36


def test_layer_with_several_outputs_is_refused():
    spec = ModelSpec.from_json({"input_shape": [4, 3], "layers": [
        {"class_name": "LSTM", "config": {"units": 2, "return_state": True}}]})
    for build in (oracle.Oracle().model_facts, oracle.Oracle().facts):
        with pytest.raises(ArchitectureError, match="a LSTM with several outputs"):
            build(spec)


def test_fixed_model_over_the_budget_at_generate(tmp_path):
    (tmp_path / "huge.yaml").write_text(textwrap.dedent("""\
        title: Huge
        topic: dense
        difficulty: 1
        model:
          input_shape: [100000]
          layers: [{class_name: Dense, config: {units: 100000}}]
        asks:
          - fact: params
            layer: 0
            response: [free]
            text: How many parameters?
    """))
    result = run_cli("generate", "--bank", str(tmp_path), "--out", str(tmp_path / "out"),
                     "--jobs", "1", "--no-cache")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"huge.yaml: its fixed model cannot carry its questions: layer 0 (Dense): {HUGE_MESSAGE}" \
        in result.output


# --- fuzzing -----------------------------------------------------------------------------------

#: The file a payload would create if anything read from a key ran as code: the same path on
#: every run, so that the same keys are generated.
SENTINEL = Path(tempfile.gettempdir()) / "quizgen-verify-fuzz-sentinel"
SENTINEL.unlink(missing_ok=True)
TOUCH = f"__import__('os').system('touch {SENTINEL}')"
#: A Lambda layer as Keras serializes one (`keras.src.utils.python_utils.func_dump`).
LAMBDA = {"module": "keras.layers", "class_name": "Lambda", "config": {"function": {
    "class_name": "__lambda__", "config": {"code": base64.b64encode(marshal.dumps(
        compile(f"lambda x: {TOUCH} or x", "payload", "eval").co_consts[0])).decode(),
        "defaults": None, "closure": None}}}}
PAYLOADS = (
    TOUCH, LAMBDA, {"module": "os", "class_name": "system", "config": {"command": f"touch {SENTINEL}"}},
    {"module": "builtins", "class_name": "eval", "config": {"source": TOUCH}},
    {"class_name": "TFSMLayer", "config": {"filepath": str(SENTINEL)}},
)
#: Values that mean something somewhere in an entry.
TELLING = (0, 1, -1, 2, 3, 100_000, 10**12, 2**63, 1e-6, 0.5, float("nan"), float("inf"), "", "same",
           "valid", "relu", "Dense", "Conv2D", "Flatten", "MaxPooling2D", "kernel", "params",
           "numeric", "shape", "matrix", "single_choice", "multiple_choice", "v1-q1", [None, 8],
           [[1, 2], [3]], [], {})
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children,
                                                                       max_size=4),
    max_leaves=10)
VALUES = st.one_of(JSON, st.sampled_from(TELLING), st.sampled_from(PAYLOADS))


@pytest.fixture(scope="module")
def seeds(key) -> list[dict]:
    """One small real entry of every (fact, kind) in the key."""
    kinds = sorted({(entry["fact"], entry["kind"]) for entry in key["questions"]})
    return [smallest(key, fact, kind) for fact, kind in kinds]


def mutate(data: st.DataObject, entry: dict, seeds: list[dict]) -> None:
    """Apply one mutation to `entry`, at a path drawn into it."""
    parent, name = None, None
    node: object = entry
    while isinstance(node, dict | list) and node and (parent is None or data.draw(st.booleans())):
        parent = node
        name = data.draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        node = node[name]
    if parent is None:
        return
    operation = data.draw(st.sampled_from(["replace", "replace", "delete", "wrap", "nudge", "swap"]))
    if operation == "replace":
        parent[name] = copy.deepcopy(data.draw(VALUES))
    elif operation == "delete":
        del parent[name]
    elif operation == "wrap":
        parent[name] = data.draw(st.sampled_from([[node], {"value": node}, json.dumps(node)]))
    elif operation == "nudge" and isinstance(node, int | float) and not isinstance(node, bool):
        parent[name] = node + data.draw(st.sampled_from([-1, 1, 10**6, -(10**9)]))
    elif operation == "nudge" and isinstance(node, str):
        parent[name] = node + data.draw(st.sampled_from([" ", "0", "\n# edited", "é"]))
    elif operation == "swap" and parent is entry:
        other = data.draw(st.sampled_from(seeds))
        parent[name] = copy.deepcopy(other.get(name, other["answer"]))


def fuzzed_key(data: st.DataObject, key: dict, seeds: list[dict]) -> dict:
    """A key of one to three mutated seed entries (now and then repeated), now and then broken
    at its top level."""
    entries = []
    for _ in range(data.draw(st.integers(1, 3))):
        entry = copy.deepcopy(data.draw(st.sampled_from(seeds)))
        for _ in range(data.draw(st.integers(1, 3))):
            mutate(data, entry, seeds)
        entries += [entry] * data.draw(st.sampled_from([1, 1, 1, 2]))
    fuzzed = {name: value for name, value in key.items() if name != "questions"} | {"questions": entries}
    if data.draw(st.integers(0, 9)) == 0:
        fuzzed[data.draw(st.sampled_from(sorted(fuzzed)))] = copy.deepcopy(data.draw(VALUES))
    return fuzzed


FUZZ = settings(deadline=None, database=None, derandomize=True, max_examples=1_200,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(FUZZ)  # about 100 s here
@given(data=st.data())
def test_fuzzed_keys_fail_cleanly(tmp_path_factory, key, seeds, data):
    path = tmp_path_factory.mktemp("fuzz") / "key.json"
    path.write_text(json.dumps(fuzzed_key(data, key, seeds)), encoding="utf-8")
    written = path.read_bytes()
    parsed = json.loads(written)  # as `quizgen verify` reads it
    try:
        lines = [str(finding) for finding in verify_key(parsed).findings]
    except QuizgenError as error:
        lines = [str(error)]
    assert not any("cannot check the entry" in line for line in lines), lines
    assert all(len(line) < 4 * MESSAGE_LIMIT for line in lines), lines
    assert json.dumps(parsed).encode() == written and path.read_bytes() == written
    assert not SENTINEL.exists(), "a key ran code"
