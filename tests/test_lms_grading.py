"""Grading from an LMS (`quizgen grade --from moodle|canvas`, quizgen.responses): response files in
the layout of Moodle's Responses report and Canvas' Student Analysis report, built from what
quizgen exported (the Moodle XML and the Canvas QTI zip, converted to plain text the way each
LMS does), grade to the same scores, option counts and misconception counts as the equivalent
quizgen CSV; responses that cannot be mapped are skipped and named by line and column."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import astuple
from types import SimpleNamespace

import pytest

from quizgen import lms
from quizgen.errors import QuizgenError
from quizgen.gradebook import grade_responses
from quizgen.key import KeyEntry
from quizgen.responses import read_records

from .conftest import run_cli

QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"

#: What each student answers: every question right, wrong, blank, or a mix.
PLANS = {"ada": (1, "right"), "bob": (1, "wrong"), "cy": (2, "mixed"), "dee": (2, "right"),
         "eve": (2, "wrong"), "fay": (1, "mixed")}


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> SimpleNamespace:
    """`quizgen generate --variants 2 --seed 3 --tags classic --format moodle,qti`: every kind
    of question, and multiple-choice options holding commas."""
    out = tmp_path_factory.mktemp("lms-grading")
    result = run_cli("generate", "--variants", "2", "--seed", "3", "--tags", "classic",
                     "--format", "moodle,qti", "--out", str(out))
    assert result.exit_code == 0, result.output
    key = json.loads((out / "key.json").read_text())
    entries = [KeyEntry.from_json(entry) for entry in key["questions"]]
    kinds = {entry.kind for entry in entries}
    assert kinds == {"single_choice", "multiple_choice", "numeric", "shape", "matrix"}, kinds
    assert any("," in choice.text for entry in entries if entry.kind == "multiple_choice"
               for choice in entry.choices)
    return SimpleNamespace(key=key, out=out, entries=entries)


def variant_entries(exported, number: int) -> list[KeyEntry]:
    return sorted((e for e in exported.entries if e.variant == number), key=lambda e: e.position)


def answer_indices(entry: KeyEntry, mode: str) -> list[int] | None:
    """The 0-based options a student picks: the correct ones, or a first wrong one."""
    if mode == "blank":
        return None
    correct = [i for i, choice in enumerate(entry.choices) if choice.correct]
    return correct if mode == "right" else [next(i for i, c in enumerate(entry.choices) if not c.correct)]


def value_answer(entry: KeyEntry, mode: str) -> str:
    """A free response: the key's answer, or a wrong one, as a student types it."""
    if mode == "blank":
        return ""
    if entry.kind == "matrix":
        answer = [row[:] for row in entry.answer]
        answer[0][0] += 0 if mode == "right" else 7
        return json.dumps(answer)
    if entry.kind == "numeric":
        return entry.answer_text if mode == "right" else str(entry.answer + (entry.tolerance or 0) + 5)
    return entry.answer_text if mode == "right" else "(None, 1, 2)"


def mode_of(plan: str, position: int) -> str:
    if plan != "mixed":
        return plan
    return ("right", "wrong", "blank")[position % 3]


def quizgen_csv(exported, plans: dict[str, tuple[int, str]]) -> str:
    """The equivalent responses in quizgen's own CSV layout."""
    positions = max(entry.position for entry in exported.entries)
    rows = [["student_id", "variant", *(f"q{p}" for p in range(1, positions + 1))]]
    for student, (variant, plan) in plans.items():
        cells = [""] * positions
        for entry in variant_entries(exported, variant):
            mode = mode_of(plan, entry.position)
            if entry.kind in ("single_choice", "multiple_choice"):
                picks = answer_indices(entry, mode)
                cells[entry.position - 1] = "" if picks is None else ",".join(str(i + 1) for i in picks)
            else:
                cells[entry.position - 1] = value_answer(entry, mode)
        rows.append([student, str(variant), *cells])
    return to_csv(rows)


def to_csv(rows: list[list[str]], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


# --- Moodle ---------------------------------------------------------------------------------


def moodle_plain(text: str) -> str:
    """HTML as Moodle's `html_to_text` (Html2Text) writes it: paragraphs and line breaks as new
    lines, `<strong>` in capitals, `<em>` between underscores, no other tag, entities decoded."""
    text = re.sub(r"<strong>(.*?)</strong>", lambda m: m[1].upper(), text, flags=re.S)
    text = re.sub(r"<em>(.*?)</em>", r"_\1_", text, flags=re.S)
    text = re.sub(r"</p>|<br\s*/?>", "\n", text)
    return html.unescape(re.sub(r"<[^>]*>", "", text)).strip()


def moodle_questions(exported) -> dict[str, dict]:
    """Each exported Moodle question by the key id in its name: its plain question text (for
    choices followed by `: ` and the options joined by `; `, as Moodle's question summary) and
    its options' plain texts."""
    questions = {}
    for path in sorted((exported.out / "lms").glob("*.moodle.xml")):
        for question in ET.parse(path).getroot().findall("question"):
            if question.get("type") == "category":
                continue
            options = [moodle_plain(answer.findtext("text")) for answer in question.findall("answer")]
            summary = moodle_plain(question.findtext("questiontext/text"))
            if question.get("type") == "multichoice":
                summary += ": " + "; ".join(options)
            key_id = lms.TAG_PATTERN.search(question.findtext("name/text"))[1]
            questions[key_id] = {"summary": summary, "options": options}
    return questions


def moodle_response(entry: KeyEntry, question: dict, mode: str) -> str:
    if entry.kind in ("single_choice", "multiple_choice"):
        picks = answer_indices(entry, mode)
        return "-" if picks is None else "; ".join(question["options"][i] for i in picks)
    return value_answer(entry, mode) or "-"


def moodle_report(exported, plans: dict[str, tuple[int, str]], edit=None) -> str:
    """A Responses report download: identity, state and time columns, then per slot the
    question text, the response and the right answer; `edit(student, cells)` may change a row's
    (question, response) cells."""
    questions = moodle_questions(exported)
    slots = max(entry.position for entry in exported.entries)
    header = ["Last name", "First name", "Email address", "State", "Started on", "Completed",
              "Time taken", "Grade/24.00"]
    for slot in range(1, slots + 1):
        header += [f"Question {slot}", f"Response {slot}", f"Right answer {slot}"]
    rows = [header]
    for student, (variant, plan) in plans.items():
        cells = [[question["summary"] if (question := questions.get(entry.id)) else "",
                  moodle_response(entry, questions[entry.id], mode_of(plan, entry.position))]
                 for entry in variant_entries(exported, variant)]
        if edit:
            edit(student, cells, questions)
        row = ["Doe", student, f"{student}@example.org", "Finished", "1 December 2026  9:00 AM",
               "1 December 2026  9:40 AM", "40 mins", "-"]
        for slot in range(slots):
            question, response = cells[slot] if slot < len(cells) else ("", "-")
            row += [question, response, "(right answer)"]
        rows.append(row)
    return to_csv(rows)


# --- Canvas ---------------------------------------------------------------------------------


def canvas_strip(text: str) -> str:
    """Canvas' `strip_tags`: tags removed, numeric entities decoded, named entities deleted."""
    text = re.sub(r"<[^>]*>", "", text)
    text = re.sub(r"&#(\d+);", lambda m: chr(int(m[1])), text)
    return re.sub(r"&[a-zA-Z]+;", "", text).strip()


def canvas_questions(exported) -> dict[str, dict]:
    """Each exported QTI item by the key id in its title: its question text as Canvas' header
    shows it and its options' plain texts."""
    questions = {}
    for path in sorted((exported.out / "lms").glob("*.qti.zip")):
        with zipfile.ZipFile(path) as archive:
            (name,) = [n for n in archive.namelist() if n.endswith(".xml") and "imsmanifest" not in n
                       and "assessment_meta" not in n]
            root = ET.fromstring(archive.read(name))
        for item in root.iter(f"{QTI}item"):
            text = item.find(f"{QTI}presentation/{QTI}material/{QTI}mattext").text
            options = [canvas_strip(label_text.text) for label in item.iter(f"{QTI}response_label")
                       if (label_text := label.find(f".//{QTI}mattext")) is not None]
            key_id = lms.TAG_PATTERN.search(item.get("title"))[1]
            questions[key_id] = {"text": canvas_strip(text), "options": options}
    return questions


def canvas_response(entry: KeyEntry, question: dict, mode: str) -> str:
    if entry.kind in ("single_choice", "multiple_choice"):
        picks = answer_indices(entry, mode)
        if picks is None:
            return ""
        texts = [question["options"][i] for i in picks]  # several: each comma escaped
        return texts[0] if entry.kind == "single_choice" else ",".join(t.replace(",", "\\,") for t in texts)
    return value_answer(entry, mode)


def canvas_report(exported, plans: dict[str, tuple[int, str]], delimiter: str = ",") -> str:
    """A Student Analysis report: one column per question of the quiz (here every question of
    every variant, as when each variant is a question group), each followed by its points."""
    questions = canvas_questions(exported)
    entries = sorted(exported.entries, key=lambda e: (e.variant, e.position))
    header = ["name", "id", "sis_id", "section", "section_id", "section_sis_id", "submitted", "attempt"]
    for number, entry in enumerate(entries, 1000):
        header += [f"{number}: {questions[entry.id]['text']}", "1.0"]
    rows = [header + ["n correct", "n incorrect", "score"]]
    for index, (student, (variant, plan)) in enumerate(plans.items()):
        row = [student.title(), str(500 + index), f"S{index:03d}", "Section A", "7", "", "2026-12-01", "1"]
        for entry in entries:
            response = (canvas_response(entry, questions[entry.id], mode_of(plan, entry.position))
                        if entry.variant == variant else "")
            row += [response, ""]
        rows.append(row + ["0", "0", "0"])
    return to_csv(rows, delimiter)


# --- the comparison -------------------------------------------------------------------------


def grade_file(exported, tmp_path, name: str, text: str, source: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8-sig" if source != "csv" else "utf-8")
    return grade_responses(exported.key, path, tmp_path / f"out-{name}", source)


def analysis(run) -> tuple:
    """What grading found, without the student ids and line numbers."""
    students = [(s.variant, s.answers, s.credits, s.score) for s in run.students]
    return (students, [astuple(slot) for slot in run.slots], [astuple(t) for t in run.templates],
            [astuple(v) for v in run.variants])


def test_moodle_report_grades_like_the_quizgen_csv(exported, tmp_path):
    mine = grade_file(exported, tmp_path, "responses.csv", quizgen_csv(exported, PLANS), "csv")
    moodle = grade_file(exported, tmp_path, "moodle.csv", moodle_report(exported, PLANS), "moodle")
    assert not mine.skipped and not moodle.skipped, moodle.skipped
    assert analysis(moodle) == analysis(mine)
    assert [s.student_id for s in moodle.students] == [f"{s}@example.org" for s in PLANS]
    scores = {s.student_id: s.score for s in moodle.students}
    assert scores["ada@example.org"] == len(variant_entries(exported, 1)) and scores["bob@example.org"] == 0
    chosen = {(t.template, m.label): m.chosen for t in moodle.templates for m in t.misconceptions}
    assert sum(chosen.values()) > 0


def test_canvas_report_grades_like_the_quizgen_csv(exported, tmp_path):
    mine = grade_file(exported, tmp_path, "responses.csv", quizgen_csv(exported, PLANS), "csv")
    for delimiter in (",", ";"):
        canvas = grade_file(exported, tmp_path, f"canvas{delimiter == ';'}.csv",
                            canvas_report(exported, PLANS, delimiter), "canvas")
        assert not canvas.skipped, canvas.skipped
        assert analysis(canvas) == analysis(mine)
        assert [s.student_id for s in canvas.students] == [f"S{i:03d}" for i in range(len(PLANS))]


def test_unmappable_moodle_responses_are_skipped_by_line_and_column(exported, tmp_path):
    def edit(student, cells, questions):
        if student == "bob":  # an option no question has
            choice = next(i for i, e in enumerate(variant_entries(exported, 1)) if e.kind == "single_choice")
            cells[choice][1] = "An option quizgen never wrote"
        if student == "cy":  # a question of variant 1 in a variant-2 attempt
            cells[0] = [questions[variant_entries(exported, 1)[0].id]["summary"], cells[0][1]]
        if student == "dee":  # a question another tool wrote
            cells[1] = ["What is your name?", "Dee"]
        if student == "eve":  # the tag of another key's question
            cells[2][0] = re.sub(r"(quizgen:v\d+-q\d+:)[0-9a-f]{8}", r"\g<1>00000000", cells[2][0])

    moodle = grade_file(exported, tmp_path, "moodle.csv", moodle_report(exported, PLANS, edit), "moodle")
    assert [s.student_id for s in moodle.students] == ["ada@example.org", "fay@example.org"]
    # the line each row starts on: a question text spans many lines
    lines = [line for line, _ in read_records(tmp_path / "moodle.csv")][1:]
    assert [row.line for row in moodle.skipped] == lines[1:5]
    bob, cy, dee, eve = (row.reason for row in moodle.skipped)
    assert re.fullmatch(r"student 'bob@example.org': column 'Response \d+' \('An option quizgen "
                        r"never wrote'\): it is not the text of an option", bob)
    assert cy == "student 'cy@example.org': answers questions of variants 1, 2"
    assert dee == ("student 'dee@example.org': column 'Response 2' ('Dee'): its question is not a "
                   "quizgen question (no tag)")
    assert re.fullmatch(r"student 'eve@example.org': column 'Response 3' \(.*\): its question is not "
                        r"one of this key \(quizgen:v2-q3:00000000 is not\)", eve)


def test_an_option_whose_text_could_be_two_is_not_guessed(exported, tmp_path):
    key = json.loads(json.dumps(exported.key))
    entry = next(e for e in key["questions"] if e["variant"] == 1 and e["kind"] == "single_choice")
    entry["choices"][1]["text"] = entry["choices"][0]["text"].upper()
    exam_twin = SimpleNamespace(key=key, out=exported.out,
                                entries=[KeyEntry.from_json(e) for e in key["questions"]])
    question = lms.lms_question(KeyEntry.from_json(entry))
    rows = [["Email address", "Question 1", "Response 1"],
            ["a@b.c", moodle_plain(lms.lms_html(question["text"])),
             moodle_plain(lms.lms_html(entry["choices"][0]["text"]))]]
    run = grade_file(exam_twin, tmp_path, "twin.csv", to_csv(rows), "moodle")
    (row,) = run.skipped
    assert row.line == 2 and "it could be the text of several options" in row.reason


def test_a_report_of_another_layout_is_an_error_naming_the_file(exported, tmp_path):
    with pytest.raises(QuizgenError, match=r"moodle.csv: the report lacks the question text \(Question 1"):
        grade_file(exported, tmp_path, "moodle.csv", to_csv([["Email address", "Response 1"], ["a", "b"]]),
                   "moodle")
    with pytest.raises(QuizgenError, match=r"canvas.csv: not a Canvas Student Analysis report"):
        grade_file(exported, tmp_path, "canvas.csv", quizgen_csv(exported, PLANS), "canvas")
    other = moodle_report(exported, PLANS).replace("quizgen:v", "quizgen:x")
    with pytest.raises(QuizgenError, match="no question carries the tag"):
        grade_file(exported, tmp_path, "other.csv", other, "moodle")


def test_grade_from_moodle_on_the_command_line(exported, tmp_path):
    report = tmp_path / "moodle.csv"
    report.write_text(moodle_report(exported, PLANS), encoding="utf-8-sig")
    result = run_cli("grade", "--key", str(exported.out / "key.json"), "--responses", str(report),
                     "--from", "moodle", "--out", str(tmp_path / "graded"))
    assert result.exit_code == 0, result.output
    assert f"Graded {len(PLANS)} student(s)" in result.output
    grades = list(csv.DictReader((tmp_path / "graded" / "grades.csv").open()))
    assert grades[0]["student_id"] == "ada@example.org" and grades[0]["score"] == grades[0]["max_score"]


def test_one_report_per_quiz_of_a_variant_grades_as_one_class(exported, tmp_path):
    by_variant = dict(sorted(PLANS.items(), key=lambda item: item[1][0]))
    mine = grade_file(exported, tmp_path, "responses.csv", quizgen_csv(exported, by_variant), "csv")
    paths = []
    for number in (1, 2):
        path = tmp_path / f"moodle-{number}.csv"
        plans = {student: plan for student, plan in by_variant.items() if plan[0] == number}
        path.write_text(moodle_report(exported, plans | ({"ada": (2, "right")} if number == 2 else {})),
                        encoding="utf-8-sig")
        paths.append(path)
    run = grade_responses(exported.key, paths, tmp_path / "graded", "moodle")
    assert analysis(run) == analysis(mine)
    (duplicate,) = run.skipped
    assert duplicate.file == str(paths[1]) and duplicate.reason == (
        f"duplicate student_id 'ada@example.org' (already graded from {paths[0]} line 2)")
    result = run_cli("grade", "--key", str(exported.out / "key.json"), "--responses", str(paths[0]),
                     "--responses", str(paths[1]), "--from", "moodle", "--out", str(tmp_path / "cli"))
    assert result.exit_code == 0, result.output
    assert f"skipped {paths[1]} line {duplicate.line}: duplicate student_id" in result.output
    assert f"Graded {len(PLANS)} student(s) from {paths[0]}, {paths[1]}, skipped 1 row(s)" in result.output


@pytest.fixture(scope="module")
def formulas(tmp_path_factory) -> SimpleNamespace:
    """A key of the formula templates, whose options are formulas only."""
    out = tmp_path_factory.mktemp("lms-formulas")
    result = run_cli("generate", "--variants", "1", "--seed", "3", "--template",
                     "formula-params,formula-output-size", "--format", "moodle", "--out", str(out))
    assert result.exit_code == 0, result.output
    key = json.loads((out / "key.json").read_text())
    return SimpleNamespace(key=key, out=out, entries=[KeyEntry.from_json(e) for e in key["questions"]])


def test_options_that_are_formulas_map_by_their_tex(formulas, tmp_path):
    assert all(re.fullmatch(r"\$[^$]+\$", c.text) for e in formulas.entries for c in e.choices)
    plans = {"ada": (1, "right"), "bob": (1, "wrong")}
    mine = grade_file(formulas, tmp_path, "responses.csv", quizgen_csv(formulas, plans), "csv")
    moodle = grade_file(formulas, tmp_path, "moodle.csv", moodle_report(formulas, plans), "moodle")
    assert not moodle.skipped, moodle.skipped
    assert analysis(moodle) == analysis(mine)
    assert [s.score for s in moodle.students] == [len(formulas.entries), 0]


def test_a_huge_multiple_answer_or_a_cut_row_is_skipped_not_a_crash(exported, tmp_path):
    entries = variant_entries(exported, 1)
    multiple = next(i for i, e in enumerate(entries) if e.kind == "multiple_choice")

    def edit(student, cells, questions):
        if student == "ada":
            cells[multiple][1] = "Dropout; " * 1100

    text = moodle_report(exported, {"ada": (1, "right"), "bob": (1, "right")}, edit)
    header, ada, bob = list(csv.reader(io.StringIO(text)))
    run = grade_file(exported, tmp_path, "moodle.csv", to_csv([header, ada, bob[:-3]]), "moodle")
    assert not run.students
    too_long, cut = run.skipped
    assert too_long.reason.startswith(f"student 'ada@example.org': column 'Response {multiple + 1}' (")
    assert too_long.reason.endswith("(9,899 characters)): it is too long to be the text of options")
    assert cut.reason == f"has {len(header) - 3} fields, the header has {len(header)} (a row cut short?)"
