"""`quizgen grade` against hostile or careless input: a responses CSV comes from students, and a key
may have been edited by hand.

- a cell no parser can read (superscript digits, 50,000 `[`, a 5,000-digit number) is a bad cell
  of its row, reported by CSV line and question, and the other students are graded;
- every parser takes time linear in the length of the response;
- a key that lacks a question of a variant leaves that position's grades.csv column blank for the
  variant, it does not shift the later ones;
- a student_id that a spreadsheet would run as a formula is neutralised in grades.csv, and the
  reports show every student's text as text;
- thousands separators are read only where they separate thousands (`34,826`, not `2,4,0,0`);
- property-based (Hypothesis, derandomized: the same examples on every run): `grade.score` of
  any text returns a score in [0, 1] or raises a short `ResponseError` (4,000 texts), and
  `grade_responses` of any bytes (600 files) raises nothing but a `QuizgenError` naming the
  responses file (then writes nothing), leaves the responses file as it was and writes only its
  outputs and manifest into its output folder.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quizgen import grade, gradebook
from quizgen.errors import QuizgenError
from quizgen.files import MANIFEST
from quizgen.grade import ResponseError, parse_number, score
from quizgen.gradebook import grade_responses
from quizgen.key import KeyEntry

from .conftest import entry_json, key_entry

OUTPUTS = {"grades.csv", "report.md", "report-histogram.svg", "report.html"}
SUPERSCRIPT_SHAPE = "(None, 8, 8, ³²)"
DEEP_BRACKETS = "[" * 50_000
BIG_NUMBER = "9" * 5_000


def choice(text: str, correct: bool) -> dict:
    return {"text": text, "correct": correct, "misconception": None if correct else f"m-{text}",
            "feedback": None if correct else f"about {text}"}


#: One question of every kind; `answer` is the response that scores 1.
QUESTIONS = [
    ({"kind": "single_choice", "answer": [None, 8, 8, 32], "answer_text": "(None, 8, 8, 32)",
      "choices": [choice("a", False), choice("b", True), choice("c", False)]}, "2"),
    ({"kind": "multiple_choice", "answer": 0, "answer_text": "",
      "choices": [choice("a", True), choice("b", False), choice("c", True), choice("d", False)]}, "1,3"),
    ({"kind": "numeric", "answer": 34826, "answer_text": "34,826", "tolerance": 0}, "34,826"),
    ({"kind": "shape", "answer": [None, 8, 8, 32], "answer_text": "(None, 8, 8, 32)"}, "(None, 8, 8, 32)"),
    ({"kind": "matrix", "answer": [[2, 2, 3], [1, 2, 1]], "answer_text": "[[2, 2, 3], [1, 2, 1]]"},
     "[[2, 2, 3], [1, 2, 1]]"),
]
CORRECT = [answer for _, answer in QUESTIONS]


def make_key(entries: list[tuple[int, int, dict]]) -> dict:
    """A key.json-like dict of (variant, position, fields) entries."""
    return {"seed": 1, "keras_version": "3.0.0", "backend": "tensorflow", "quizgen_version": "0.1.0",
            "questions": [entry_json(fields | {"id": f"v{variant}-q{position}", "variant": variant,
                                               "position": position, "template": f"t-{fields['kind']}"})
                          for variant, position, fields in entries]}


#: Variant 1: the five kinds at positions 1-5.
KEY = make_key([(1, position, fields) for position, (fields, _) in enumerate(QUESTIONS, 1)])


def csv_text(rows: list[list], questions: int = 5) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(
        [["student_id", "variant", *(f"q{p}" for p in range(1, questions + 1))], *rows])
    return buffer.getvalue()


def read_grades(folder: Path) -> list[dict]:
    with open(folder / "grades.csv", newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


# --- 1. unreadable cells are bad cells, never a crash ---------------------------------------

@pytest.mark.parametrize("cell", [SUPERSCRIPT_SHAPE, DEEP_BRACKETS, BIG_NUMBER],
                         ids=["superscript-shape", "50000-brackets", "5000-digits"])
def test_an_unreadable_cell_is_reported_by_line_and_question_and_the_class_is_graded(tmp_path, cell):
    rows = [["ada", 1, *CORRECT]]
    for position in range(1, 6):  # the cell in each question's column in turn: lines 3-7
        rows.append([f"bad-{position}", 1, *(cell if p == position else a for p, a in enumerate(CORRECT, 1))])
    rows.append(["bob", 1, *CORRECT])  # line 8
    responses = tmp_path / "responses.csv"
    responses.write_text(csv_text(rows), encoding="utf-8")

    run = grade_responses(KEY, responses, tmp_path / "out")

    assert [(s.student_id, s.score, s.line) for s in run.students] == [("ada", 5.0, 2), ("bob", 5.0, 8)]
    assert [row.line for row in run.skipped] == [3, 4, 5, 6, 7]
    for row, position in zip(run.skipped, range(1, 6), strict=True):
        assert row.reason.startswith(f"student 'bad-{position}': q{position}: "), row.reason
        assert len(row.reason) < 250, "a long cell is quoted by its first characters only"
    assert [row["student_id"] for row in read_grades(tmp_path / "out")] == ["ada", "bob"]
    assert "| 3 | student 'bad-1': q1: " in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")


UNREADABLE = {
    "superscript-shape": SUPERSCRIPT_SHAPE, "50000-brackets": DEEP_BRACKETS, "5000-digits": BIG_NUMBER,
    "option-and-5000-digits": "1," + BIG_NUMBER, "5000-digit-element": f"[[{BIG_NUMBER}, 2, 3], [1, 2, 1]]",
    "1e400-element": "[[1e400, 2, 3], [1, 2, 1]]", "1e400": "1e400",
    "5000-digit-axis": f"(None, 8, 8, {BIG_NUMBER})",
}


@pytest.mark.parametrize("cell", UNREADABLE.values(), ids=UNREADABLE.keys())
@pytest.mark.parametrize("question", range(len(QUESTIONS)), ids=[f["kind"] for f, _ in QUESTIONS])
def test_every_parser_rejects_an_unreadable_cell(question, cell):
    entry = key_entry(QUESTIONS[question][0])
    with pytest.raises(ResponseError) as error:
        score(entry, cell)
    assert len(str(error.value)) < 200, "a long response is quoted by its first characters only"


def test_leading_zeros_do_not_make_a_number_too_long():
    zeros = "0" * 5_000
    single, multiple, numeric, shape, _ = (key_entry(fields) for fields, _ in QUESTIONS)
    assert score(single, zeros + "2") == 1.0 and score(multiple, f"{zeros}1,{zeros}3") == 1.0
    assert score(numeric, zeros + "34826") == 1.0
    assert score(shape, f"(None, {zeros}8, 8, {zeros}32)") == 1.0


def test_a_5000_digit_variant_is_an_unknown_variant(tmp_path):
    responses = tmp_path / "responses.csv"
    rows = [["ada", BIG_NUMBER, *CORRECT], ["bob", "001", *CORRECT]]
    responses.write_text(csv_text(rows), encoding="utf-8")

    run = grade_responses(KEY, responses, tmp_path / "out")

    assert [s.student_id for s in run.students] == ["bob"]
    assert [row.reason[:30] for row in run.skipped] == ["student 'ada': unknown variant"]
    assert len(run.skipped[0].reason) < 200


PATHOLOGICAL = {  # each quadratic (or worse) for a backtracking parser
    "digits then a letter": "9" * 50_000 + "x",
    "groups then a letter": "1" + ",234" * 12_500 + "x",
    "spaces inside": "1" + " " * 50_000 + "2",
    "digits and spaces": "1 " * 25_000 + "x",
    "commas": "," * 50_000,
    "points": "1" + "." * 50_000,
    "brackets": "[" * 50_000 + "1" + "]" * 50_000,
    "an exponent of 50,000 digits": "1e" + "9" * 50_000,
}


@pytest.mark.parametrize("response", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_parsing_takes_time_linear_in_the_length_of_the_response(response):
    for fields, _ in QUESTIONS:
        entry = key_entry(fields)
        start = time.perf_counter()
        try:
            score(entry, response)
        except ResponseError:
            pass
        assert time.perf_counter() - start < 1.0, entry.kind  # milliseconds when linear


# --- 2. a key lacking a question does not shift the grades.csv columns ----------------------

#: Variant 1 lacks its question 3 (positions 1, 2, 4); variant 2 has positions 1-4.
GAPPED_KEY = make_key([(1, 1, QUESTIONS[0][0]), (1, 2, QUESTIONS[2][0]), (1, 4, QUESTIONS[3][0]),
                       (2, 1, QUESTIONS[0][0]), (2, 2, QUESTIONS[2][0]), (2, 3, QUESTIONS[1][0]),
                       (2, 4, QUESTIONS[3][0])])


def test_a_key_lacking_a_question_leaves_its_column_blank_not_shifted(tmp_path):
    responses = tmp_path / "responses.csv"
    responses.write_text(csv_text([
        ["ada", 1, "2", "1", "", "(None, 8, 8, 32)"],          # q1 1, q2 0, q4 1
        ["bob", 2, "1", "34826", "1", "(None, 8, 8, 33)"],     # q1 0, q2 1, q3 0.5, q4 0
        ["cy", 1, "2", "34826", "1,3", "(None, 8, 8, 32)"],    # answers q3, which variant 1 lacks
    ], questions=4), encoding="utf-8")

    run = grade_responses(GAPPED_KEY, responses, tmp_path / "out")

    assert [(row.line, row.reason) for row in run.skipped] == [
        (4, "student 'cy': answers q3, not in variant 1")]
    assert [list(row.values()) for row in read_grades(tmp_path / "out")] == [
        ["ada", "1", "2", "3", "1", "0", "", "1"],
        ["bob", "2", "1.5", "4", "0", "1", "0.5", "0"]]
    assert [(slot.id, slot.position, slot.stats.difficulty) for slot in run.slots if slot.variant == 1] == [
        ("v1-q1", 1, 1.0), ("v1-q2", 2, 0.0), ("v1-q4", 4, 1.0)]


def test_a_key_with_two_questions_at_one_position_is_an_error(tmp_path):
    key = make_key([(1, 1, QUESTIONS[0][0]), (1, 2, QUESTIONS[2][0])])
    key["questions"][1]["position"] = 1
    responses = tmp_path / "responses.csv"
    responses.write_text(csv_text([["ada", 1, "2"]], questions=1), encoding="utf-8")
    with pytest.raises(QuizgenError, match="key question v1-q2: variant 1 already has a question at "
                                           r"position 1 \(v1-q1\)"):
        grade_responses(key, responses, tmp_path / "out")


# --- 3. formula injection and escaping ------------------------------------------------------

FORMULAS = ["=1+1", "+SUM(A1:A9)", "-2+3", "@SUM(A1)", "=HYPERLINK(\"http://x.test/?\"&A1,\"x\")",
            "'quoted", "\0=1"]


def test_student_ids_that_a_spreadsheet_would_run_are_neutralised_in_grades_csv(tmp_path):
    ids = [*FORMULAS, " =padded", "ok", "a=b", "x-1"]
    responses = tmp_path / "responses.csv"
    responses.write_text(csv_text([[student, 1, *CORRECT] for student in ids]
                                  + [["=2+2", 7, *CORRECT]]), encoding="utf-8")  # skipped: variant 7

    run = grade_responses(KEY, responses, tmp_path / "out")

    assert [s.student_id for s in run.students] == [*FORMULAS, "=padded", "ok", "a=b", "x-1"]
    assert [row["student_id"] for row in read_grades(tmp_path / "out")] == [
        *("'" + student for student in FORMULAS), "'=padded", "ok", "a=b", "x-1"]
    # Only grades.csv: the reports quote the id as it is.
    out = tmp_path / "out"
    assert "student '=2+2': unknown variant '7'" in (out / "report.md").read_text(encoding="utf-8")
    assert "student &#39;=2+2&#39;" in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("text, written", [
    ("=1", "'=1"), ("+1", "'+1"), ("-1", "'-1"), ("@a", "'@a"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("'x", "''x"), ("x", "x"), ("", ""), ("1=1", "1=1"), ("ＡＢ", "ＡＢ"),
])
def test_spreadsheet_text(text, written):
    assert gradebook._spreadsheet_text(text) == written


def unescaped_pipes(line: str) -> int:
    """The pipes of a Markdown table row that are not escaped by a backslash."""
    return len(re.findall(r"(?<!\\)(?:\\\\)*\|", line))


def test_reports_show_a_students_text_as_text(tmp_path):
    script = "<script>alert(1)</script>"
    hostile = [script, "[link](http://x.test/)", "![img](http://x.test/p.png)", "a\\|b", "`code`", "*em*",
               "&lt;x&gt;"]
    responses = tmp_path / "responses.csv"
    responses.write_text(csv_text([[script, 1, *CORRECT]]                       # graded
                                  + [[student, 9, *CORRECT] for student in hostile]  # skipped
                                  + [["cy", 1, "<img src=x onerror=alert(1)>", *CORRECT[1:]]]),
                         encoding="utf-8")

    run = grade_responses(KEY, responses, tmp_path / "out")

    assert [s.student_id for s in run.students] == [script]
    assert read_grades(tmp_path / "out")[0]["student_id"] == script  # a CSV is not HTML
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html and "<img src=x" not in html
    assert "student &#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39;: unknown variant &#39;9&#39;" in html
    assert "&#39;&lt;img src=x onerror=alert(1)&gt;&#39; is not an option number" in html
    assert "&amp;lt;x&amp;gt;" in html
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and "unknown variant" in line]
    assert len(rows) == len(hostile)
    assert all(unescaped_pipes(row) == 3 for row in rows), rows  # two cells: no cell split off
    assert "<script" not in markdown and "<img" not in markdown
    assert "student '&lt;script>alert(1)&lt;/script>'" in markdown
    assert "student '\\[link\\](http://x.test/)'" in markdown
    assert "student '!\\[img\\](http://x.test/p.png)'" in markdown
    assert "student 'a\\\\\\\\\\|b'" in markdown  # repr's two backslashes, each escaped, then \|
    assert "student '\\`code\\`'" in markdown and "student '\\*em\\*'" in markdown
    assert "student '&amp;lt;x&amp;gt;'" in markdown


# --- 4. thousands separators ----------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("34,826", 34826), ("34826", 34826), ("1,234,567", 1234567), ("34 826", 34826), ("1 234 567", 1234567),
    ("34_826", 34826), ("1_234_567", 1234567), ("1,234.5", 1234.5), ("+34,826", 34826), ("-1,234", -1234),
    (" 34,826 ", 34826), ("999,999", 999999), ("1,000", 1000), (".5", 0.5), ("5.", 5), ("3.4826e4", 34826),
    ("1,234e3", 1234000), ("0034826", 34826), ("1e-99999", 0.0),
])
def test_thousands_separators_where_they_separate_thousands(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", [
    "2,4,0,0", "1,23", "0,5", "0,500", "12,34,567", "34,8260", "1234,567", ",826", "34826,", "34,,826",
    "1_2", "12_34", "1,234 567", "1,234_567", "34  826", "- 34826", "1.234,5", "0.123 456", "1 234.567 8",
    "34,826.000,1", "1e400", pytest.param(BIG_NUMBER, id="5000-digits"),
    pytest.param("1e" + BIG_NUMBER, id="exponent-of-5000-digits"), "34\u00a0826", "34\u202f826", "34٫826",
])
def test_misplaced_separators_and_unreadable_numbers_are_rejected(text):
    with pytest.raises(ResponseError, match="is not a number"):
        parse_number(text)


# --- property-based: any text, any bytes -----------------------------------------------------

ENTRIES = [key_entry(fields) for fields, _ in QUESTIONS] + [
    key_entry({"kind": "multiple_choice", "answer": 0, "answer_text": "",
               "choices": [choice("a", False), choice("b", False)]}),
    key_entry({"kind": "numeric", "answer": 0.5, "answer_text": "0.5", "tolerance": 0.05}),
    key_entry({"kind": "shape", "answer": [3, 3, 1, 32], "answer_text": "(3, 3, 1, 32)"}),
    key_entry({"kind": "matrix", "answer": [[0.5, 1.25]], "answer_text": "[[0.5, 1.25]]", "tolerance": 0.01}),
]

#: Text near the answers: the characters every parser looks at.
ANSWER_ALPHABET = "0123456789,_ .+-eE[](){}xX×*?\"'\\:;/ \t\nNnoOeEluUtrfasIiyb²³٣３\u00a0"
RESPONSES = st.one_of(
    st.text(),
    st.text(alphabet=ANSWER_ALPHABET, max_size=40),
    st.lists(st.sampled_from(["none", "None", "null", "batch", "NaN", "Infinity", "1e400", "9" * 400,
                              BIG_NUMBER, "[" * 2_000, "]", "[", ",", ", ", "x", "×", "34,826", "0", "1",
                              "2", "13", ".", "-", "e5", " ", "true", "\"1\"", "{}", "²", "(", ")"]),
             max_size=8).map("".join),
)


#: Derandomized and without an example database, as in test_bank_fuzz.py.
FUZZ = settings(deadline=None, database=None, derandomize=True, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


#: At most this many characters in a message about fuzzed input: `grade.QUOTED` characters of
#: a response, each up to 10 in its repr (`\U0001b2fc`), quoted twice at most; responses are up
#: to 5,000 characters long.
MESSAGE_BOUND = 1_500


@settings(FUZZ, max_examples=4_000)  # about 8 s
@given(entry=st.sampled_from(ENTRIES), response=RESPONSES)
def test_fuzz_score_returns_a_score_or_rejects(entry: KeyEntry, response: str):
    try:
        result = grade.score(entry, response)
    except ResponseError as error:
        assert len(str(error)) < MESSAGE_BOUND, "a long response is quoted by its first characters only"
        return
    assert isinstance(result, float) and 0.0 <= result <= 1.0, (entry.kind, response, result)


#: A responses file with the right header and rows of fuzzed cells, as a careless or hostile
#: class writes it (encoded as CSV, so that the rows reach the grader).
CELLS = st.one_of(RESPONSES, st.sampled_from(CORRECT), st.sampled_from(["1", "2", "", "01", "=1+1", "<b>"]))
#: Mostly rows of the header's width (student_id, variant, q1-q5) of variant 1, so that the cells
#: are graded; some of any width.
ROW = st.one_of(
    st.tuples(st.one_of(st.text(max_size=8), st.sampled_from(FORMULAS)),
              st.sampled_from(["1", "1", "01", "2", "", "x", BIG_NUMBER]),
              *[CELLS] * 5).map(list),
    st.lists(CELLS, max_size=8),
)
ROWS = st.lists(ROW, max_size=6)


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    header = ["student_id", "variant", "q1", "q2", "q3", "q4", "q5"]
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    return buffer.getvalue().encode("utf-8", "surrogatepass")


FILES = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda head, body: head + body, st.sampled_from([b"", b"\xef\xbb\xbf",
                                                               b"student_id,variant,q1,q2,q3,q4,q5\n"]),
              st.binary(max_size=200)),
    ROWS.map(csv_bytes),
    st.builds(lambda rows, tail: csv_bytes(rows) + tail, ROWS, st.binary(max_size=40)),
)


def files_under(folder: Path) -> set[Path]:
    return {path.relative_to(folder) for path in folder.rglob("*")}


@settings(FUZZ, max_examples=600)  # about 80 s: a graded file draws its histogram (0.13 s)
@given(content=FILES)
def test_fuzz_grade_responses_of_any_bytes(content: bytes):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        responses = root / "in" / "responses.csv"
        responses.parent.mkdir()
        responses.write_bytes(content)
        os.chmod(responses, 0o444)  # read only: grading must not need to write it
        before = responses.stat().st_mtime_ns
        out = root / "out"
        try:
            run = grade_responses(KEY, responses, out)
        except QuizgenError as error:
            assert str(error).startswith(f"{responses}: ") and len(str(error)) < MESSAGE_BOUND, str(error)
            assert not out.exists(), "a refused file writes no output"
        else:
            assert all(row.line >= 2 and row.reason for row in run.skipped), run.skipped
            assert {path.name for path in run.files} <= OUTPUTS
            assert {path.name for path in out.iterdir()} == {
                path.name for path in run.files} | {MANIFEST.format(command="grade")}
        assert responses.read_bytes() == content and responses.stat().st_mtime_ns == before
        outside = {path for path in files_under(root) if path.parts[0] != "out"}
        assert outside == {Path("in"), Path("in") / "responses.csv"}
