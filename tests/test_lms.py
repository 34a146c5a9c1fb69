"""LMS export (quizgen.lms): every GIFT question parses with pygiftparser, the Moodle XML and the
QTI zip's XML are well-formed with one question per key entry, explanations become feedback,
GIFT's special characters are escaped, and reruns are byte-identical."""

from __future__ import annotations

import copy
import datetime
import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from types import SimpleNamespace

import pytest
import text2qti.xml_imsmanifest
from pygiftparser import answer as gift_answers
from pygiftparser.parser import parseFile
from text2qti.config import Config
from text2qti.markdown import Markdown

from quizgen import grade, lms
from quizgen.errors import QuizgenError
from quizgen.key import KeyEntry

from .conftest import run_cli

QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
MOODLE_TYPES = {"single_choice": "multichoice", "multiple_choice": "multichoice",
                "numeric": "numerical", "shape": "shortanswer", "matrix": "shortanswer"}
QTI_TYPES = {"single_choice": "multiple_choice_question", "numeric": "numerical_question",
             "multiple_choice": "multiple_answers_question",
             "shape": "short_answer_question", "matrix": "short_answer_question"}
TRICKY_TEXT = "Is {a} = ~b # c: d? \\ end"


@pytest.fixture(scope="module", params=[(), ("--tags", "classic")], ids=["bank", "classic"])
def small_key(request, tmp_path_factory) -> dict:
    """`quizgen generate --variants 2 --seed 3` (and with `--tags classic`), in-process."""
    out = tmp_path_factory.mktemp("lms")
    result = run_cli("generate", "--variants", "2", "--seed", "3", *request.param, "--out", str(out))
    assert result.exit_code == 0, result.output
    return json.loads((out / "key.json").read_text())


def by_variant(key: dict) -> dict[int, list[dict]]:
    variants: dict[int, list[dict]] = {}
    for entry in sorted(key["questions"], key=lambda entry: (entry["variant"], entry["position"])):
        variants.setdefault(entry["variant"], []).append(entry)
    return variants


#: pygiftparser ends an answer at an escaped brace, which GIFT allows (`\\{`, `\\}`): the
#: tests parse with stand-ins for escaped braces and put the braces back when unescaping.
STAND_INS = {"{": "\u2983", "}": "\u2984"}


def gift_unescape(text: str) -> str:
    """GIFT text as Moodle reads it: `\\x` → `x` (pygiftparser has already turned `\\n` into a
    line break)."""
    for brace, stand_in in STAND_INS.items():
        text = text.replace(stand_in, brace)
    return re.sub(r"\\(.)", r"\1", text, flags=re.S)


def squash(text: str) -> str:
    return " ".join(text.split())


def parse_gift(data: bytes) -> list:
    text = re.sub(r"\\([\\{}])", lambda m: STAND_INS.get(m.group(1), m.group(0)), data.decode())
    return parseFile(io.StringIO(text))


def assert_all_accepted(entry: dict, responses: list[str]) -> None:
    """The short-answer spellings include the printed answer, differ, and each scores full marks."""
    assert entry["answer_text"] in responses and len(set(responses)) == len(responses) >= 2
    assert all(grade.score(KeyEntry.from_json(entry), response) == 1.0 for response in responses), \
        responses


def first_entry(key: dict, kind: str) -> dict:
    """The first entry of `kind`; for "numeric", where the key asks every count as single
    choice, the first such count asked as free response instead (options dropped)."""
    entries = [entry for entry in key["questions"] if entry["kind"] == kind]
    if not entries and kind == "numeric":
        entries = [entry | {"kind": "numeric", "choices": [], "tolerance": 0} for entry in key["questions"]
                   if entry["kind"] == "single_choice" and type(entry["answer"]) is int]
    return copy.deepcopy(entries[0])


def one_question_key(key: dict, *entries: dict) -> dict:
    """A key of variant 1 holding `entries`, numbered v1-q1, v1-q2, ..."""
    questions = [entry | {"id": f"v1-q{position}", "variant": 1, "position": position}
                 for position, entry in enumerate(entries, 1)]
    return key | {"questions": questions}


def tricky_entry(key: dict) -> dict:
    """A single-choice entry whose printed text, choices, feedback and explanation hold GIFT's
    special characters."""
    entry = first_entry(key, "single_choice")
    entry["text"] = TRICKY_TEXT
    entry["explanation"] = "Because {x} = ~y # z: w."
    entry["choices"] = [
        {"text": "=a~b#c:d{", "value": 1, "correct": True, "misconception": None, "feedback": None},
        {"text": "plain", "value": 2, "correct": False, "misconception": "m",
         "feedback": "see #2: = ~ {"},
    ]
    return entry


def extra_kinds_key(key: dict) -> dict:
    """Entries of the kinds the bank does not make yet: multiple choice, matrix, and a numeric
    answer of 0."""
    multiple = first_entry(key, "single_choice")
    multiple["kind"] = "multiple_choice"
    multiple["choices"] = [
        {"text": "A", "correct": True, "misconception": None, "feedback": None},
        {"text": "B", "correct": True, "misconception": None, "feedback": None},
        {"text": "C", "correct": False, "misconception": "m", "feedback": "C is wrong"},
    ]
    matrix = first_entry(key, "shape") | {"kind": "matrix", "answer": [[2, 2, 3], [1, 2, 1]]}
    zero = first_entry(key, "numeric") | {"answer": 0, "answer_text": "0"}
    return one_question_key(key, multiple, matrix, zero)


def qti_assessment(data: bytes) -> ET.Element:
    """The assessment XML of a QTI zip; every XML member must be well-formed."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        roots = {name: ET.fromstring(archive.read(name))
                 for name in archive.namelist() if name.endswith(".xml")}
    assert "imsmanifest.xml" in roots
    (assessment,) = [root for root in roots.values() if root.tag == f"{QTI}questestinterop"]
    return assessment


def qti_type(item: ET.Element) -> str:
    return next(field.findtext(f"{QTI}fieldentry") for field in item.iter(f"{QTI}qtimetadatafield")
                if field.findtext(f"{QTI}fieldlabel") == "question_type")


def test_one_file_per_variant(small_key):
    for fmt, suffix in lms.SUFFIXES.items():
        files = lms.export(small_key, fmt, "Quiz")
        assert set(files) == {f"lms/variant-{n}{suffix}" for n in (1, 2)}, fmt


def test_unknown_format_raises(small_key):
    with pytest.raises(QuizgenError, match="unknown LMS format 'pdf'"):
        lms.export(small_key, "pdf", "Quiz")


def test_missing_field_names_the_question(small_key):
    entry = first_entry(small_key, "numeric")
    del entry["explanation"]
    with pytest.raises(QuizgenError, match="v1-q1: missing field 'explanation'"):
        lms.export(one_question_key(small_key, entry), "gift", "Quiz")


def test_question_text_is_the_printed_question(small_key):
    entry = first_entry(small_key, "shape")
    text = lms.question_text(KeyEntry.from_json(entry))
    assert text.startswith(entry["stem"] + "\n\n```python\n" + entry["code"] + "\n```")
    assert entry["text"] in text and "Answer with a shape" in text


def test_gift_every_question_parses_with_pygiftparser(small_key):
    files = lms.export(small_key, "gift", "Quiz")
    for variant, entries in by_variant(small_key).items():
        questions = parse_gift(files[f"lms/variant-{variant}.gift"])
        assert [question.title for question in questions] == [entry["id"] for entry in entries]
        for question, entry in zip(questions, entries, strict=True):
            assert question.valid and question.markup == "markdown", entry["id"]
            assert entry["code"] in gift_unescape(question.text)
            assert squash(gift_unescape(question.generalFeedback)) == squash(entry["explanation"])
            answers = question.answers
            if entry["kind"] == "single_choice":
                assert isinstance(answers, gift_answers.SelectSet)
                assert [(gift_unescape(a.answer), a.fraction, gift_unescape(a.feedback))
                        for a in answers.answers] == [
                    (c["text"], 100 if c["correct"] else 0, c["feedback"] or "") for c in entry["choices"]]
            elif entry["kind"] == "multiple_choice":
                assert isinstance(answers, gift_answers.MultipleChoicesSet)
                assert [a.fraction > 0 for a in answers.answers] == [c["correct"] for c in entry["choices"]]
            elif entry["kind"] == "numeric":
                assert isinstance(answers, gift_answers.NumericAnswerSet)
                assert [(a.value, a.tolerance) for a in answers.answers] == [
                    (entry["answer"], entry["tolerance"])]
            else:
                assert isinstance(answers, gift_answers.ShortSet)
                assert_all_accepted(entry, [gift_unescape(a.answer) for a in answers.answers])


def test_short_answer_spellings():
    assert lms.shape_spellings([None, 13, 13, 32]) == [
        "(None, 13, 13, 32)", "(None,13,13,32)", "[None, 13, 13, 32]", "13x13x32", "(13, 13, 32)"]
    assert lms.shape_spellings([3]) == ["(3,)", "[3]", "3"]
    assert lms.matrix_spellings([[2.0, 0.5], [1, 2]]) == ["[[2, 0.5], [1, 2]]", "[[2,0.5],[1,2]]"]


def test_gift_escape():
    assert lms.gift_escape("a{b}c=d~e#f:g\\h") == "a\\{b\\}c\\=d\\~e\\#f\\:g\\\\h"
    assert lms.gift_escape("one\n\n  \ntwo") == "one\n\\n\n\\n\ntwo"


def test_gift_special_characters_are_escaped(small_key):
    text = lms.export(one_question_key(small_key, tricky_entry(small_key)), "gift", "Quiz")
    source = text["lms/variant-1.gift"].decode()
    assert r"Is \{a\} \= \~b \# c\: d? \\ end" in source
    assert r"=\=a\~b\#c\:d\{" in source and r"~plain#see \#2\: \= \~ \{" in source
    assert r"####Because \{x\} \= \~y \# z\: w." in source
    # Left unescaped: only the title's ::, the answer braces, = and ~ signs, # and ####.
    block = source.split("\n\n", 1)[1]
    unescaped = Counter(char for char in re.sub(r"\\.", "", block) if char in "~=#{}:")
    assert unescaped == Counter({":": 4, "{": 1, "}": 1, "=": 1, "~": 1, "#": 5})
    (question,) = parse_gift(text["lms/variant-1.gift"])
    assert question.valid and TRICKY_TEXT in gift_unescape(question.text)
    assert [(gift_unescape(a.answer), gift_unescape(a.feedback)) for a in question.answers.answers] == [
        ("=a~b#c:d{", ""), ("plain", "see #2: = ~ {")]
    assert gift_unescape(question.generalFeedback) == "Because {x} = ~y # z: w."


def test_moodle_xml_one_question_per_entry(small_key):
    files = lms.export(small_key, "moodle", "Quiz")
    for variant, entries in by_variant(small_key).items():
        root = ET.fromstring(files[f"lms/variant-{variant}.moodle.xml"])
        questions = root.findall("question")
        assert root.tag == "quiz" and len(root) == len(questions) == len(entries)
        for question, entry in zip(questions, entries, strict=True):
            assert question.findtext("name/text") == entry["id"]
            assert question.get("type") == MOODLE_TYPES[entry["kind"]]
            assert question.find("questiontext").get("format") == "markdown"
            assert entry["code"] in question.findtext("questiontext/text")
            assert question.findtext("generalfeedback/text") == entry["explanation"]
            answers = question.findall("answer")
            if entry["kind"] == "single_choice":
                assert question.findtext("single") == "true"
                assert [(a.findtext("text"), a.get("fraction"), a.findtext("feedback/text"))
                        for a in answers] == [(c["text"], "100" if c["correct"] else "0", c["feedback"] or "")
                                              for c in entry["choices"]]
            elif entry["kind"] == "multiple_choice":
                assert question.findtext("single") == "false"
                assert [float(a.get("fraction")) > 0 for a in answers] == [
                    c["correct"] for c in entry["choices"]]
            elif entry["kind"] == "numeric":
                assert [(a.findtext("text"), float(a.findtext("tolerance"))) for a in answers] == [
                    (str(entry["answer"]), entry["tolerance"])]
            else:
                assert_all_accepted(entry, [a.findtext("text") for a in answers])


def test_qti_zip_one_item_per_entry(small_key):
    files = lms.export(small_key, "qti", "Quiz")
    markdown = Markdown(Config())
    for variant, entries in by_variant(small_key).items():
        assessment = qti_assessment(files[f"lms/variant-{variant}.qti.zip"])
        items = list(assessment.iter(f"{QTI}item"))
        assert [item.get("title") for item in items] == [entry["id"] for entry in entries]
        assert assessment.find(f"{QTI}assessment").get("title") == f"Quiz (variant {variant})"
        for item, entry in zip(items, entries, strict=True):
            assert qti_type(item) == QTI_TYPES[entry["kind"]]
            feedback = {fb.get("ident"): fb.findtext(f".//{QTI}mattext")
                        for fb in item.iter(f"{QTI}itemfeedback")}
            assert feedback.pop("general_fb") == markdown.md_to_html(entry["explanation"])
            assert len(feedback) == sum(1 for c in entry.get("choices", []) if c["feedback"])
            if entry["kind"] in ("shape", "matrix"):
                assert_all_accepted(entry, [v.text for v in item.iter(f"{QTI}varequal")])


def test_qti_latex_is_left_to_canvas(small_key):
    """`$...$` becomes Canvas equation images served by Canvas itself: no URL to fetch."""
    data = lms.export(small_key, "qti", "Quiz")["lms/variant-1.qti.zip"]
    text = ET.tostring(qti_assessment(data), encoding="unicode")
    sources = re.findall(r'src="([^"]*)"', text)
    assert sources and all(src.startswith("/equation_images/") for src in sources)


def test_other_kinds_in_every_format(small_key):
    key = extra_kinds_key(small_key)
    multiple, matrix, zero = parse_gift(lms.export(key, "gift", "Quiz")["lms/variant-1.gift"])
    assert isinstance(multiple.answers, gift_answers.MultipleChoicesSet) and multiple.valid
    assert [a.fraction for a in multiple.answers.answers] == [50, 50, -100]
    assert "[[2, 2, 3], [1, 2, 1]]" in [a.answer for a in matrix.answers.answers]
    assert [a.value for a in zero.answers.answers] == [0]

    root = ET.fromstring(lms.export(key, "moodle", "Quiz")["lms/variant-1.moodle.xml"])
    multiple, matrix, zero = root.findall("question")
    assert multiple.get("type") == "multichoice" and multiple.findtext("single") == "false"
    assert [a.get("fraction") for a in multiple.findall("answer")] == ["50", "50", "-100"]
    assert matrix.get("type") == "shortanswer"
    assert [a.findtext("text") for a in matrix.findall("answer")] == [
        "[[2, 2, 3], [1, 2, 1]]", "[[2,2,3],[1,2,1]]"]
    assert [a.findtext("text") for a in zero.findall("answer")] == ["0"]

    items = list(qti_assessment(lms.export(key, "qti", "Quiz")["lms/variant-1.qti.zip"]).iter(f"{QTI}item"))
    assert [qti_type(item) for item in items] == [
        "multiple_answers_question", "short_answer_question", "short_answer_question"]
    assert [v.text for v in items[2].iter(f"{QTI}varequal")] == ["0"]


def test_output_is_deterministic(small_key):
    for fmt in lms.SUFFIXES:
        assert lms.export(small_key, fmt, "Quiz") == lms.export(copy.deepcopy(small_key), fmt, "Quiz"), fmt
    for data in lms.export(small_key, "qti", "Quiz").values():
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert {info.date_time for info in archive.infolist()} == {lms.ZIP_DATE}


def test_qti_bytes_do_not_depend_on_the_day(small_key, monkeypatch):
    """text2qti dates its manifest with today's local date; the export must not."""
    today = lms.export(small_key, "qti", "Quiz")

    class Tomorrow(datetime.date):
        @classmethod
        def today(cls):
            return datetime.date(2031, 7, 4)

    monkeypatch.setattr(text2qti.xml_imsmanifest, "datetime", SimpleNamespace(date=Tomorrow))
    assert lms.export(small_key, "qti", "Quiz") == today
