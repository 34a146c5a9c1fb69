"""The class grader (quizgen.gradebook) and the grading of the multiple_choice and matrix kinds.

A real key (3 variants, seed 3) is generated once through the CLI; the item analysis is checked
on a small handcrafted key and class whose statistics are computed by hand in the comments."""

from __future__ import annotations

import base64
import csv
import io
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from quizgen.cli import main
from quizgen.errors import QuizgenError
from quizgen.grade import ResponseError, correct_response, score, self_test
from quizgen.gradebook import ItemStats, grade_responses
from quizgen.key import KeyEntry

from .conftest import entry_json, key_entry

OUTPUTS = ("grades.csv", "report.md", "report-histogram.svg", "report.html")


@pytest.fixture(scope="module")
def exam_key(tmp_path_factory) -> dict:
    """`quizgen generate --variants 3 --seed 3`'s key.json."""
    out = tmp_path_factory.mktemp("exam")
    result = CliRunner().invoke(main, ["generate", "--variants", "3", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((out / "key.json").read_text())


def questions(key: dict, variant: int) -> list[KeyEntry]:
    return sorted((e for e in map(KeyEntry.from_json, key["questions"]) if e.variant == variant),
                  key=lambda e: e.position)


def wrong_response(entry: KeyEntry) -> str:
    """A valid response that scores 0: a distractor, or the answer off by one."""
    kind, answer = entry.kind, entry.answer
    wrong_options = [str(i) for i, c in enumerate(entry.choices, 1) if not c.correct]
    if kind == "single_choice":
        return wrong_options[0]
    if kind == "multiple_choice":
        return ",".join(wrong_options)
    if kind == "numeric":
        return str(answer + entry.tolerance + 1)
    if kind == "shape":
        return str(tuple([*answer[:-1], answer[-1] + 1]))
    return json.dumps([[answer[0][0] + (entry.tolerance or 0) + 1, *answer[0][1:]], *answer[1:]])


def csv_rows(rows: list[list]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def csv_text(rows: list[list], questions: int = 10) -> str:
    """A responses CSV: the header (q1…q<questions>), then `rows`."""
    return csv_rows([["student_id", "variant", *(f"q{p}" for p in range(1, questions + 1))], *rows])


def read_grades(folder: Path) -> list[dict]:
    with open(folder / "grades.csv", newline="") as stream:
        return list(csv.DictReader(stream))


def test_correct_students_get_full_marks_and_distractor_students_zero(exam_key, tmp_path):
    rows = []
    for variant in (1, 2, 3):
        entries = questions(exam_key, variant)
        rows.append([f"good-{variant}", variant, *(correct_response(e) for e in entries)])
        rows.append([f"bad-{variant}", variant, *(wrong_response(e) for e in entries)])
    responses = tmp_path / "responses.csv"
    responses.write_text(csv_text(rows))

    run = grade_responses(exam_key, responses, tmp_path / "out")

    assert run.skipped == ()
    assert [(s.student_id, s.score, s.max_score) for s in run.students] == [
        (f"{kind}-{v}", 10.0 if kind == "good" else 0.0, 10.0) for v in (1, 2, 3) for kind in ("good", "bad")]
    grades = read_grades(tmp_path / "out")
    columns = [f"q{p}" for p in range(1, 11)]
    assert list(grades[0]) == ["student_id", "variant", "score", "max_score", *columns]
    assert [row["score"] for row in grades] == ["10", "0"] * 3
    assert [{row[q] for q in columns} for row in grades] == [{"1"}, {"0"}] * 3
    assert run.files == tuple(tmp_path / "out" / name for name in OUTPUTS)
    # Every single-choice slot: the correct option once, the first distractor once (the bad
    # student).
    choice_slots = [slot for slot in run.slots if slot.kind == "single_choice"]
    assert choice_slots
    for slot in choice_slots:
        first_wrong = next(o for o in slot.options if not o.correct)
        assert [o.chosen for o in slot.options if o.correct] == [1]
        assert first_wrong.chosen == 1 and sum(o.chosen for o in slot.options) == 2
        assert slot.stats.n == 2 and slot.stats.difficulty == 0.5
        assert slot.stats.upper_lower == 1.0  # the good student is the upper group, the bad one the lower


def test_malformed_rows_are_reported_by_line_and_skipped(exam_key, tmp_path):
    entries = questions(exam_key, 1)
    good = [correct_response(e) for e in entries]
    choice = next(e.position for e in entries if e.kind == "single_choice")
    bad_option = [*good[:choice - 1], "7", *good[choice:]]
    multi_line = [*good[:choice - 1], "1\n2", *good[choice:]]
    text = (csv_text([
        ["ada", 1, *good],                  # line 2: graded
        ["bob", 9, *good],                  # line 3: unknown variant
        ["cy", 1, *bad_option],             # line 4: option 7 does not exist
        ["ada", 1, *good],                  # line 5: duplicate
        ["dee", 1, "1", "2"],               # line 6: missing columns
    ]) + "\n" + csv_rows([                  # line 7: blank, ignored
        ["eve", 1, *multi_line],            # lines 8-9: a quoted answer over two lines
        ["", 1, *good],                     # line 10: no student_id
        ["fay", 1, *[""] * 10],             # line 11: all answers blank: graded, 0 points
    ]) + "gus,1" + "," * 9 + ",34,826\n")    # line 12: an unquoted comma makes 13 fields
    responses = tmp_path / "responses.csv"
    responses.write_text(text)

    run = grade_responses(exam_key, responses, tmp_path / "out")

    assert [(s.student_id, s.score, s.line) for s in run.students] == [("ada", 10.0, 2), ("fay", 0.0, 11)]
    assert [row.line for row in run.skipped] == [3, 4, 5, 6, 8, 10, 12]
    reasons = dict((row.line, row.reason) for row in run.skipped)
    assert reasons[3] == "student 'bob': unknown variant '9'"
    assert reasons[4] == f"student 'cy': q{choice}: '7' is not an option number from 1 to 4"
    assert reasons[5] == "duplicate student_id 'ada' (already graded from line 2)"
    assert reasons[6] == "has 4 fields, the header has 12"
    assert reasons[8] == f"student 'eve': q{choice}: '1\\n2' is not an option number from 1 to 4"
    assert reasons[10] == "no student_id"
    assert reasons[12].startswith("has 13 fields, the header has 12 (an unquoted comma")
    assert [row["student_id"] for row in read_grades(tmp_path / "out")] == ["ada", "fay"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| 5 | duplicate student_id 'ada' (already graded from line 2) |" in report


def test_the_responses_file_is_never_changed(exam_key, tmp_path):
    responses = tmp_path / "grades.csv"  # named like an output, on purpose
    responses.write_text(csv_text([["ada", 1, *(correct_response(e) for e in questions(exam_key, 1))],
                                   ["bob", 5, "x"]]))
    before = responses.read_bytes(), responses.stat().st_mtime_ns

    grade_responses(exam_key, responses, tmp_path / "out")
    with pytest.raises(QuizgenError, match="grades.csv: would be overwritten by the outputs"):
        grade_responses(exam_key, responses, tmp_path)

    assert (responses.read_bytes(), responses.stat().st_mtime_ns) == before
    assert not (tmp_path / "report.md").exists()


@pytest.mark.parametrize("content, message", [
    (None, "missing.csv: cannot read: No such file or directory"),
    (b"", "missing.csv: the header must have the columns student_id, variant, q1,"),
    (b"student_id,q1,q2,q3,q4,q5,q6,q7,q8,q9,q10\nada,1\n", "missing.csv: the header .*missing: variant$"),
    (b"student_id,variant,q1,q2\nada,1,1,2\n", "missing.csv: .*missing: q3, q4, q5, q6, q7, q8, q9, q10$"),
    (b"student_id,variant,variant," + b",".join(b"q%d" % p for p in range(1, 11)) + b"\n",
     "missing.csv: repeated header column\\(s\\): variant"),
    (b"student_id,variant\n\xff\xfe\n", "missing.csv: not UTF-8 text"),
])
def test_unreadable_or_headerless_files_are_errors_naming_the_file(exam_key, tmp_path, content, message):
    responses = tmp_path / "missing.csv"
    if content is not None:
        responses.write_bytes(content)
    with pytest.raises(QuizgenError, match=message):
        grade_responses(exam_key, responses, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_outputs_are_deterministic_and_self_contained(exam_key, tmp_path):
    rows = [[f"s{i}", i % 3 + 1, *(correct_response(e) if (i + e.position) % 3 else wrong_response(e)
                                   for e in questions(exam_key, i % 3 + 1))] for i in range(9)]
    responses = tmp_path / "responses.csv"
    responses.write_text(csv_text(rows))

    grade_responses(exam_key, responses, tmp_path / "a")
    grade_responses(exam_key, responses, tmp_path / "b")

    for name in OUTPUTS:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    svg = (tmp_path / "a" / "report-histogram.svg").read_text()
    html = (tmp_path / "a" / "report.html").read_text()
    assert svg.startswith("<?xml") and "<dc:date>" not in svg
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    assert f'<img src="{uri}"' in html
    assert html.count("<img ") == 1 and "<link" not in html and "<script" not in html
    assert "![Score histogram](report-histogram.svg)" in (tmp_path / "a" / "report.md").read_text()


# --- the handcrafted class ------------------------------------------------------------------

def choice(text: str, misconception: str | None = None) -> dict:
    return {"text": text, "correct": misconception is None, "misconception": misconception,
            "feedback": f"about {misconception}" if misconception else None}


HANDCRAFTED_KEY = {
    "seed": 1, "keras_version": "3.0.0", "backend": "tensorflow", "quizgen_version": "0.1.0",
    "questions": [entry_json(fields) for fields in [
        {"id": "v1-q1", "variant": 1, "position": 1, "template": "t-choice", "kind": "single_choice",
         "answer": [None, 4, 4, 8], "answer_text": "(None, 4, 4, 8)",
         "choices": [choice("(None, 4, 4, 8)"), choice("(None, 8, 8, 8)", "stride_ignored"),
                     choice("(None, 6, 6, 8)", "padding_flipped"),
                     choice("(None, 4, 4, 9)", "bias_forgotten")]},
        {"id": "v1-q2", "variant": 1, "position": 2, "template": "t-free", "kind": "numeric",
         "answer": 100, "answer_text": "100", "tolerance": 0},
        {"id": "v1-q3", "variant": 1, "position": 3, "template": "t-free", "kind": "shape",
         "answer": [None, 4, 4, 8], "answer_text": "(None, 4, 4, 8)"},
        {"id": "v2-q1", "variant": 2, "position": 1, "template": "t-multi", "kind": "multiple_choice",
         "answer": 0, "answer_text": "",
         "choices": [choice("a"), choice("b", "m-b"), choice("c"), choice("d", "m-d"), choice("e", "m-e")]},
        {"id": "v2-q2", "variant": 2, "position": 2, "template": "t-matrix", "kind": "matrix",
         "answer": [[2, 2, 3], [1, 2, 1]], "answer_text": "[[2, 2, 3], [1, 2, 1]]"},
    ]],
}

#: Item scores (q1, q2, q3) and totals: A 1 1 1 = 3, B 1 1 0 = 2, C 1 0 1 = 2, D 0 1 1 = 2,
#: E 1 0 0 = 1 (blanks), F 0 0 0 = 0 (blank q1).
HANDCRAFTED_CLASS = [
    ["A", 1, "1", "100", "(None, 4, 4, 8)"],
    ["B", 1, "1", "100", "4x4x7"],
    ["C", 1, "1", "99", "4x4x8"],
    ["D", 1, "2", "1e2", "[None, 4, 4, 8]"],
    ["E", 1, "1", "", ""],
    ["F", 1, "", "101", "(None, 8, 4, 4)"],
]


def stats(analysis) -> tuple:
    return (analysis.stats.n, analysis.stats.difficulty, analysis.stats.discrimination,
            analysis.stats.upper_lower)


@pytest.mark.parametrize("order", [1, -1], ids=["file-order", "reversed"])
def test_item_analysis_of_a_handcrafted_class(tmp_path, order):
    responses = tmp_path / "responses.csv"
    responses.write_text(csv_text(HANDCRAFTED_CLASS[::order], questions=3))

    run = grade_responses(HANDCRAFTED_KEY, responses, tmp_path / "out")

    assert run.skipped == ()
    assert sorted((s.student_id, s.score) for s in run.students) == [
        ("A", 3), ("B", 2), ("C", 2), ("D", 2), ("E", 1), ("F", 0)]
    slots = {slot.id: slot for slot in run.slots}
    # Groups of round(0.27 · 6) = 2. Upper: A (3) and one place shared by B, C, D (tied at 2),
    # 1/3 each; lower: F (0) and E (1).
    # q1: p = 4/6. Rest scores A2 B1 C1 D2 E0 F0: Σ(x − 2/3)(rest − 1) = 1/3 − 2/3 − 1/3 + 2/3 = 0,
    # so r = 0 (uncorrected, against the totals, it would be 0.87). D = (1 + 2/3)/2 − (0 + 1)/2 = 1/3.
    assert stats(slots["v1-q1"]) == pytest.approx((6, 4 / 6, 0, 1 / 3), abs=1e-12)
    # q2: p = 1/2. Rest A2 B1 C2 D1 E1 F0 (mean 7/6): Σxy = 1/2, Σxx = 3/2, Σyy = 17/6,
    # r = 0.5 / √(3/2 · 17/6) = 1/√17. D = (1 + 2/3)/2 − 0 = 5/6. q3 is the same by symmetry.
    assert stats(slots["v1-q2"]) == pytest.approx((6, 0.5, 1 / math.sqrt(17), 5 / 6))
    assert stats(slots["v1-q3"]) == pytest.approx((6, 0.5, 1 / math.sqrt(17), 5 / 6))
    assert stats(slots["v2-q1"]) == (0, None, None, None)
    q1 = slots["v1-q1"]
    assert [(o.number, o.correct, o.misconception, o.chosen) for o in q1.options] == [
        (1, True, None, 4), (2, False, "stride_ignored", 1), (3, False, "padding_flipped", 0),
        (4, False, "bias_forgotten", 0)]
    assert q1.blank == 1 and slots["v1-q2"].options == () and slots["v1-q2"].blank == 0

    templates = {t.template: t for t in run.templates}
    assert list(templates) == ["t-choice", "t-free", "t-matrix", "t-multi"]
    assert stats(templates["t-choice"]) == stats(q1)
    # t-free pools q2 and q3: 12 responses, p = 6/12, Σxy = 1, Σxx = 3, Σyy = 17/3 → r = 1/√17;
    # groups of round(0.27 · 12) = 3: upper A, A and one place shared by the six responses of
    # B, C, D (four correct): (2 + 4/6)/3 = 8/9; lower F, F and E, E sharing one place: 0.
    assert templates["t-free"].slots == 2
    assert stats(templates["t-free"]) == pytest.approx((12, 0.5, 1 / math.sqrt(17), 8 / 9))
    assert [(m.label, m.feedback, m.offered, m.chosen) for m in templates["t-choice"].misconceptions] == [
        ("bias_forgotten", "about bias_forgotten", 6, 0), ("padding_flipped", "about padding_flipped", 6, 0),
        ("stride_ignored", "about stride_ignored", 6, 1)]

    report = (tmp_path / "out" / "report.md").read_text()
    assert "| 6 | 1.67 | 2 | 0 | 3 | 3 |" in report  # n, mean, median, min, max, out of
    assert ("| v1-q1 | t-choice | single_choice | 6 | 0.67 | 0.00 | 0.33 | 1 ✓: 4; "
            "2 (stride_ignored): 1; 3 (padding_flipped): 0; 4 (bias_forgotten): 0; blank: 1 |") in report
    assert "| t-free | 2 | 12 | 0.50 | 0.24 | 0.89 |" in report
    assert "| t-choice | stride_ignored | 1 | 6 | 17% | about stride_ignored |" in report
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<td>v1-q1</td><td>t-choice</td><td>single_choice</td><td class=\"num\">6</td>" in html


def test_multiple_choice_and_matrix_questions_in_the_grade_book(tmp_path):
    responses = tmp_path / "responses.csv"
    responses.write_text(csv_text([
        ["G", 2, "1,3", "[[2, 2, 3], [1, 2, 1]]", ""],
        ["H", 2, "1,2", "[[2, 2, 3], [1, 2, 2]]", ""],
        ["I", 2, "1", "", "5"],
        ["J", 2, "1", "[[2, 2], [1, 2, 1]]", ""],
    ], questions=3))

    run = grade_responses(HANDCRAFTED_KEY, responses, tmp_path / "out")

    assert [(row.line, row.reason) for row in run.skipped] == [
        (4, "student 'I': answers q3, not in variant 2"),
        (5, "student 'J': q2: '[[2, 2], [1, 2, 1]]' is not a matrix: "
            "rows must be non-empty and equally long")]
    assert [list(row.values()) for row in read_grades(tmp_path / "out")] == [
        ["G", "2", "2", "2", "1", "1", ""], ["H", "2", "0.1667", "2", "0.1667", "0", ""]]
    multi = next(slot for slot in run.slots if slot.id == "v2-q1")
    assert [o.chosen for o in multi.options] == [2, 1, 1, 0, 0]
    assert multi.stats.difficulty == pytest.approx((1 + 1 / 6) / 2)


# --- grade.score for the new kinds ----------------------------------------------------------

MULTI = KeyEntry.from_json(HANDCRAFTED_KEY["questions"][3])  # options 1, 3 of 5: k = 2, n − k = 3
MATRIX = KeyEntry.from_json(HANDCRAFTED_KEY["questions"][4])


@pytest.mark.parametrize("response, expected", [
    ("1,3", 1.0), ("3, 1", 1.0), ("1", 0.5), ("1,2", 0.5 - 1 / 3), ("1,3,2", 1 - 1 / 3),
    ("1,1", 0.5), ("2,4,5", 0.0), ("1,2,3,4,5", 0.0), ("none", 0.0),
])
def test_multiple_choice_partial_credit(response, expected):
    assert score(MULTI, response) == pytest.approx(expected)


def test_multiple_choice_without_a_correct_option():
    entry = key_entry({"kind": "multiple_choice", "answer": 0,
                       "choices": [choice("a", "m-a"), choice("b", "m-b"), choice("c", "m-c")]})
    assert correct_response(entry) == "none"
    assert (score(entry, "none"), score(entry, "NONE"), score(entry, "2")) == (1.0, 1.0, 0.0)
    assert self_test(entry) == []


def test_matrix_scoring():
    entry = MATRIX
    assert correct_response(entry) == "[[2, 2, 3], [1, 2, 1]]"
    assert score(entry, "[[2,2,3],[1,2,1]]") == 1.0 and score(entry, "[[2, 2, 3.0], [1, 2, 1]]") == 1.0
    for wrong in ("[[2, 2, 3], [1, 2, 2]]", "[[2, 2, 3]]", "[[2, 1], [2, 2], [3, 1]]",
                  "[[2.01, 2, 3], [1, 2, 1]]"):
        assert score(entry, wrong) == 0.0, wrong
    assert score(replace(entry, tolerance=0.05), "[[2.04, 2, 3], [1, 1.96, 1]]") == 1.0
    assert score(replace(entry, tolerance=0.05), "[[2.06, 2, 3], [1, 2, 1]]") == 0.0
    assert self_test(entry) == [] and self_test(MULTI) == []


@pytest.mark.parametrize("kind, response", [
    ("matrix", "2, 2, 3"), ("matrix", "[1, 2]"), ("matrix", "[[1], [1, 2]]"), ("matrix", "[[]]"),
    ("matrix", '[["1"]]'), ("matrix", "[[true]]"), ("multiple_choice", "1,6"), ("multiple_choice", "1;3"),
    ("multiple_choice", ""),
])
def test_unreadable_responses_of_the_new_kinds_are_rejected(kind, response):
    entry = MULTI if kind == "multiple_choice" else MATRIX
    with pytest.raises(ResponseError):
        score(entry, response)


def test_a_class_without_graded_rows_still_gets_its_reports(exam_key, tmp_path):
    responses = tmp_path / "responses.csv"
    responses.write_text(csv_text([["<b>x|y</b>", 4, *[""] * 10]]))

    run = grade_responses(exam_key, responses, tmp_path / "out")

    assert run.students == () and [row.line for row in run.skipped] == [2]
    assert (tmp_path / "out" / "grades.csv").read_text() == (
        "student_id,variant,score,max_score," + ",".join(f"q{p}" for p in range(1, 11)) + "\n")
    assert {slot.stats for slot in run.slots} == {ItemStats(0, None, None, None)}
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| 0 | — | — | — | — | — |" in report
    assert "| 2 | student '&lt;b>x\\|y&lt;/b>': unknown variant '4' |" in report  # Markdown-escaped
    html = (tmp_path / "out" / "report.html").read_text()
    assert "student &#39;&lt;b&gt;x|y&lt;/b&gt;&#39;: unknown variant &#39;4&#39;" in html
