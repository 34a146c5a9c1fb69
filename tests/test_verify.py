"""`quizgen verify` and `quizgen stress`: they pass on fresh keys and templates, and fail,
naming the question, on a wrong answer or a distractor marked correct."""

import copy
import json
import textwrap

import pytest

from quizgen.grade import ResponseError, parse_shape, score, self_test
from quizgen.key import KeyEntry
from quizgen.stress import chi_square_p
from quizgen.verify import check_entry, regrade, verify_key

from .conftest import key_entry, run_cli


def write_key(path, key):
    path.write_text(json.dumps(key))
    return path


def test_fresh_key_verifies(key):
    report = verify_key(key)
    assert report.ok and report.checked == len(key["questions"]) and not report.drift


def test_fresh_key_verifies_from_the_cli(exam):
    result = run_cli("verify", str(exam / "key.json"))
    assert result.exit_code == 0, result.output
    assert "300 of 300 entries verified" in result.output


def tampered(key, entry_id, change):
    bad = copy.deepcopy(key)
    change(next(entry for entry in bad["questions"] if entry["id"] == entry_id))
    return bad


def wrong_answer(entry):
    answer = entry["answer"]
    if isinstance(answer, int):
        entry["answer"] = answer + 1
    elif isinstance(answer, str):  # the code of a "which code" question
        entry["answer"] = answer + "\n# changed"
    elif isinstance(answer[0], list):  # a matrix
        entry["answer"] = [[answer[0][0] + 1, *answer[0][1:]], *answer[1:]]
    else:
        entry["answer"] = answer[:-1] + [answer[-1] + 1]


def test_every_changed_answer_is_caught(key, verifier):
    for entry in key["questions"][::7]:
        changed = tampered(key, entry["id"], wrong_answer)["questions"][key["questions"].index(entry)]
        assert check_entry(KeyEntry.from_json(changed), verifier), entry["id"]


def test_changed_answer_fails_naming_the_question(tmp_path, key):
    target = key["questions"][3]
    bad = write_key(tmp_path / "bad.json", tampered(key, target["id"], wrong_answer))
    result = run_cli("verify", str(bad))
    assert result.exit_code == 1
    failing = [line for line in result.output.splitlines() if line.startswith("FAIL")]
    assert failing and all(line.startswith(f"FAIL {target['id']} (variant ") for line in failing)
    assert "recorded" in failing[0] and "Keras says" in failing[0]


def test_distractor_marked_correct_fails(tmp_path, key):
    target = next(entry for entry in key["questions"] if entry["kind"] == "single_choice")

    def mark(entry):
        next(choice for choice in entry["choices"] if not choice["correct"])["correct"] = True

    result = run_cli("verify", str(write_key(tmp_path / "bad.json", tampered(key, target["id"], mark))))
    assert result.exit_code == 1
    assert f"FAIL {target['id']}" in result.output and "2 choices marked correct" in result.output


def test_against_lists_exactly_the_changed_questions(tmp_path, key):
    changed_ids = [key["questions"][i]["id"] for i in (5, 77, 150)]
    new = key
    for entry_id in changed_ids:
        new = tampered(new, entry_id, wrong_answer)
    assert [finding.id for finding in regrade(new, key)] == changed_ids
    result = run_cli("verify", str(write_key(tmp_path / "new.json", new)),
                     "--against", str(write_key(tmp_path / "old.json", key)))
    assert "3 question(s) changed" in result.output


def test_other_keras_version_is_reported(key):
    old = dict(key, keras_version="3.0.0")
    old["questions"] = [tampered(key, key["questions"][0]["id"], wrong_answer)["questions"][0]]
    report = verify_key(old)
    assert report.drift and "key written with Keras 3.0.0" in report.findings[0].message


def test_unreadable_keys_are_clear_errors(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    result = run_cli("verify", str(tmp_path / "broken.json"))
    assert result.exit_code == 1 and "broken.json: not JSON" in result.output
    write_key(tmp_path / "partial.json", {"seed": 1})
    result = run_cli("verify", str(tmp_path / "partial.json"))
    assert result.exit_code == 1 and "partial.json" in result.output
    assert "Traceback" not in result.output


def test_grading_self_test_on_every_entry(key):
    for entry in key["questions"]:
        assert self_test(KeyEntry.from_json(entry)) == [], entry["id"]


@pytest.mark.parametrize("text, shape", [
    ("(None, 13, 13, 32)", [None, 13, 13, 32]),
    ("13x13x32", [13, 13, 32]),
    ("13 × 13 × 32", [13, 13, 32]),
    ("[None, 1600]", [None, 1600]),
    ("(32,)", [32]),
])
def test_shape_spellings(text, shape):
    assert parse_shape(text) == shape


def test_shape_without_batch_axis_scores():
    entry = key_entry({"kind": "shape", "answer": [None, 13, 13, 32]})
    assert score(entry, "13x13x32") == 1.0 and score(entry, "(None, 13, 13, 31)") == 0.0
    with pytest.raises(ResponseError):
        score(entry, "thirteen")


def test_chi_square_p_values():
    assert chi_square_p([10, 10, 10, 10]) == pytest.approx(1.0)
    assert chi_square_p([12, 8, 10, 10]) == pytest.approx(0.8495, abs=1e-4)  # scipy chi2.sf(0.8, 3)
    assert chi_square_p([40, 0, 0, 0]) < 1e-6
    assert chi_square_p([0, 0, 0, 0]) is None


def test_stress_passes_on_bundled_templates():
    result = run_cli("stress", "conv-output-shape", "classic-conv-dims-2", "--seeds", "8")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["template", "seeds", "failures", "ambiguous", "labels", "giveaways",
                                "text", "distinct", "duplicates", "position", "p", "ms/variant"]
    row = next(line.split() for line in lines if line.startswith("conv-output-shape"))
    assert row[1:9] == ["8", "0", "0", "0", "0", "0", "8", "0"]


def test_stress_fails_on_a_template_without_enough_distractors(tmp_path):
    (tmp_path / "thin.yaml").write_text(textwrap.dedent("""\
        title: Too few mistakes
        topic: dense
        difficulty: 1
        model:
          input_shape: [1]
          layers: [{class_name: Dense, config: {units: 1}}]
        asks:
          - fact: params
            layer: 0
            response: [single_choice]
            text: How many parameters?
    """))
    result = run_cli("stress", "--bank", str(tmp_path), "--seeds", "2")
    assert result.exit_code == 1
    assert "FAIL thin: seed 0: " in result.output and "distinct misconception" in result.output
