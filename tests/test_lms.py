"""LMS export (quizgen.lms): every GIFT question reads back with gift-pegjs (an independent GIFT
parser, run by Node.js) as the HTML quizgen wrote, the Moodle XML and the QTI zip's XML are
well-formed with one question per key entry in the variant's category, math is in the `\\(...\\)`
delimiters Moodle renders by default (never a bare `$...$`), explanations become feedback, GIFT's
special characters are escaped, and reruns are byte-identical."""

from __future__ import annotations

import copy
import datetime
import io
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from html import unescape
from pathlib import Path
from types import SimpleNamespace

import pytest
import text2qti.xml_imsmanifest
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


#: The Node.js project of the GIFT parser (package.json, package-lock.json, parse.js).
GIFT_PARSER = Path(__file__).parent / "gift"


@pytest.fixture(scope="module")
def gift_pegjs(tmp_path_factory):
    """Parse GIFT files with gift-pegjs: the pinned package installed by `npm ci` into a
    temporary folder. Skipped where Node.js or npm is missing, unless the environment variable
    `QUIZGEN_REQUIRE_NODE` is set (as .ci/run sets it): then the test fails."""
    npm, node = shutil.which("npm"), shutil.which("node")
    folder = tmp_path_factory.mktemp("gift-pegjs")
    for name in ("package.json", "package-lock.json", "parse.js"):
        shutil.copy(GIFT_PARSER / name, folder / name)
    installed = npm and node and subprocess.run(
        [npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=folder, capture_output=True,
        text=True, timeout=300)
    if not installed or installed.returncode:
        reason = f"gift-pegjs not installed: {installed.stderr if installed else 'no node/npm'}"
        if os.environ.get("QUIZGEN_REQUIRE_NODE"):
            pytest.fail(reason)
        pytest.skip(reason)

    def parse(files: dict[str, bytes]) -> dict[str, list[dict]]:
        for name, data in files.items():
            (folder / Path(name).name).write_bytes(data)
        paths = [str(folder / Path(name).name) for name in files]
        output = subprocess.run([node, "parse.js", *paths], cwd=folder, capture_output=True,
                                check=True, timeout=120).stdout
        results = json.loads(output)
        errors = {name: result["error"] for name, result in zip(files, results, strict=True)
                  if "error" in result}
        assert not errors, errors
        return {name: result["questions"] for name, result in zip(files, results, strict=True)}

    return parse


def tag(entry: dict) -> str:
    return lms.item_tag(KeyEntry.from_json(entry))


def html(markdown: str) -> str:
    return lms.lms_html(markdown)


def prose(markdown: str) -> str:
    """A Markdown text without its code (fenced blocks and code spans)."""
    return re.sub(r"```.*?```|`[^`]*`", "", markdown, flags=re.S)


def as_moodle_stores(gift_text: str) -> str:
    """A GIFT text as read back (escapes undone) after Moodle's importer trims every line, as
    rendered text (entities decoded): a code block's indentation must survive the trimming."""
    return unescape("\n".join(line.strip() for line in gift_text.split("\n")))


def without_code(html_text: str) -> str:
    return re.sub(r"<pre>.*?</pre>|<code>.*?</code>", "", html_text, flags=re.S)


def assert_moodle_math(markdown: str, html_text: str) -> None:
    """Every `$...$` of the Markdown's prose is `\\(...\\)` (or `\\[...\\]`) in the HTML, and
    no `$` is left outside code."""
    if "$" in prose(markdown):
        assert "\\(" in html_text or "\\[" in html_text, html_text
    assert "$" not in without_code(html_text), html_text


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


def test_gift_every_question_reads_back_with_gift_pegjs(small_key, gift_pegjs):
    files = lms.export(small_key, "gift", "Quiz")
    parsed = gift_pegjs(files)
    math = 0
    for variant, entries in by_variant(small_key).items():
        category, *questions = parsed[f"lms/variant-{variant}.gift"]
        assert category == {"type": "Category", "title": f"$course$/top/Quiz/Variant {variant}"}
        assert [q["title"] for q in questions] == [f"{tag(e)} {e['template']}" for e in entries]
        for question, entry in zip(questions, entries, strict=True):
            text = lms.lms_question(KeyEntry.from_json(entry))["text"]
            assert question["stem"]["format"] == question["globalFeedback"]["format"] == "html"
            assert as_moodle_stores(question["stem"]["text"]) == unescape(html(text)), entry["id"]
            assert question["stem"]["text"].startswith(f"<p><code>{tag(entry)}</code></p>")
            feedback = question["globalFeedback"]["text"]
            assert as_moodle_stores(feedback) == unescape(html(entry["explanation"]))
            for markdown, read in [(text, question["stem"]["text"]),
                                   (entry["explanation"], question["globalFeedback"]["text"])]:
                assert_moodle_math(markdown, read)
                math += "$" in prose(markdown)
            choices = question["choices"]
            if entry["kind"] in ("single_choice", "multiple_choice"):
                assert question["type"] == "MC"
                single = entry["kind"] == "single_choice"
                assert [(c["isCorrect"] if single else c["weight"] > 0, as_moodle_stores(c["text"]["text"]),
                         c["feedback"] and as_moodle_stores(c["feedback"]["text"])) for c in choices] == [
                    (c["correct"], unescape(html(c["text"])), c["feedback"] and unescape(html(c["feedback"])))
                    for c in entry["choices"]]
            elif entry["kind"] == "numeric":
                assert question["type"] == "Numerical"
                assert choices == {"type": "range", "number": entry["answer"], "range": entry["tolerance"]}
            else:
                assert question["type"] == "Short"
                assert_all_accepted(entry, [c["text"]["text"] for c in choices])
    assert math, "the key has no math to check"


def test_short_answer_spellings():
    assert lms.shape_spellings([None, 13, 13, 32]) == [
        "(None, 13, 13, 32)", "(None,13,13,32)", "[None, 13, 13, 32]", "13x13x32", "(13, 13, 32)"]
    assert lms.shape_spellings([3]) == ["(3,)", "[3]", "3"]
    assert lms.matrix_spellings([[2.0, 0.5], [1, 2]]) == ["[[2, 0.5], [1, 2]]", "[[2,0.5],[1,2]]"]


def test_gift_escape():
    assert lms.gift_escape("a{b}c=d~e#f:g\\h") == "a\\{b\\}c\\=d\\~e\\#f\\:g\\\\h"
    assert lms.gift_escape("one\n\n  \ntwo") == "one\n\\n\n\\n\ntwo"
    # Moodle trims each line and drops one starting with //: indentation and / as entities
    assert lms.gift_escape("f(\n    x)\n// c\n\ty").split("\n") == [
        "f(", r"&\#32;" * 4 + "x)", r"&\#47;/ c", r"&\#9;y"]


def test_gift_special_characters_are_escaped(small_key, gift_pegjs):
    files = lms.export(one_question_key(small_key, tricky_entry(small_key)), "gift", "Quiz")
    source = files["lms/variant-1.gift"].decode()
    assert r"Is \{a\} \= \~b \# c\: d? \\ end" in source
    assert r"=\=a\~b\#c\:d\{" in source and r"~plain#see \#2\: \= \~ \{" in source
    assert r"####Because \{x\} \= \~y \# z\: w." in source
    # Left unescaped: only the title's ::, the answer braces, = and ~ signs, # and ####.
    block = source.split("\n\n", 2)[2]
    unescaped = Counter(char for char in re.sub(r"\\.", "", block) if char in "~=#{}:")
    assert unescaped == Counter({":": 4, "{": 1, "}": 1, "=": 1, "~": 1, "#": 5})
    (_, question), = gift_pegjs(files).values()
    assert TRICKY_TEXT in question["stem"]["text"]
    assert [(c["text"]["text"], (c["feedback"] or {}).get("text")) for c in question["choices"]] == [
        ("=a~b#c:d{", None), ("plain", "see #2: = ~ {")]
    assert question["globalFeedback"]["text"] == "Because {x} = ~y # z: w."


def test_lms_html_writes_math_for_moodle_and_escapes_html():
    assert lms.lms_html("so $a_1 < b$ and") == r'so <span class="math inline">\(a_1 &lt; b\)</span> and'
    assert lms.lms_html("$$x^2$$") == '<div class="math block">\n\\[x^2\\]\n</div>'
    assert lms.lms_html("`$5` costs <b>x</b>") == "<code>$5</code> costs &lt;b&gt;x&lt;/b&gt;"
    assert lms.lms_html("one\n\ntwo") == "<p>one</p>\n<p>two</p>"


def test_moodle_xml_one_question_per_entry(small_key):
    files = lms.export(small_key, "moodle", "Quiz")
    math = 0
    for variant, entries in by_variant(small_key).items():
        root = ET.fromstring(files[f"lms/variant-{variant}.moodle.xml"])
        category, *questions = root.findall("question")
        assert root.tag == "quiz" and len(root) == len(questions) + 1 == len(entries) + 1
        assert category.get("type") == "category"
        assert category.findtext("category/text") == f"$course$/top/Quiz/Variant {variant}"
        for question, entry in zip(questions, entries, strict=True):
            text = lms.lms_question(KeyEntry.from_json(entry))["text"]
            assert question.findtext("name/text") == f"{tag(entry)} {entry['template']}"
            assert question.get("type") == MOODLE_TYPES[entry["kind"]]
            assert question.findtext("defaultgrade") == "1"
            assert {element.get("format") for element in question.iter() if element.get("format")} <= {
                "html", "plain_text"}
            assert question.findtext("questiontext/text") == html(text)
            assert question.findtext("generalfeedback/text") == html(entry["explanation"])
            for element in question.iter("text"):
                assert "$" not in without_code(element.text or ""), element.text
            for markdown, name in [(text, "questiontext"), (entry["explanation"], "generalfeedback")]:
                assert_moodle_math(markdown, question.findtext(f"{name}/text"))
                math += "$" in prose(markdown)
            answers = question.findall("answer")
            if entry["kind"] == "single_choice":
                assert question.findtext("single") == "true"
                assert [(a.findtext("text"), a.get("fraction"), a.findtext("feedback/text"))
                        for a in answers] == [(html(c["text"]), "100" if c["correct"] else "0",
                                               html(c["feedback"] or "")) for c in entry["choices"]]
            elif entry["kind"] == "multiple_choice":
                assert question.findtext("single") == "false"
                assert [float(a.get("fraction")) > 0 for a in answers] == [
                    c["correct"] for c in entry["choices"]]
            elif entry["kind"] == "numeric":
                assert [(a.findtext("text"), float(a.findtext("tolerance"))) for a in answers] == [
                    (str(entry["answer"]), entry["tolerance"])]
            else:
                assert_all_accepted(entry, [a.findtext("text") for a in answers])
    assert math, "the key has no math to check"


def test_qti_zip_one_item_per_entry(small_key):
    files = lms.export(small_key, "qti", "Quiz")
    markdown = Markdown(Config())
    for variant, entries in by_variant(small_key).items():
        assessment = qti_assessment(files[f"lms/variant-{variant}.qti.zip"])
        items = list(assessment.iter(f"{QTI}item"))
        assert [item.get("title") for item in items] == [f"{tag(e)} {e['template']}" for e in entries]
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


def test_other_kinds_in_every_format(small_key, gift_pegjs):
    key = extra_kinds_key(small_key)
    (_, multiple, matrix, zero), = gift_pegjs(lms.export(key, "gift", "Quiz")).values()
    assert multiple["type"] == "MC"
    assert [c["weight"] for c in multiple["choices"]] == [50, 50, -100]
    assert "[[2, 2, 3], [1, 2, 1]]" in [c["text"]["text"] for c in matrix["choices"]]
    assert zero["choices"] == {"type": "range", "number": 0, "range": 0}

    root = ET.fromstring(lms.export(key, "moodle", "Quiz")["lms/variant-1.moodle.xml"])
    _, multiple, matrix, zero = root.findall("question")
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


def test_category_and_points(small_key):
    assert lms.moodle_category("Midterm A/B", 3) == "$course$/top/Midterm A//B/Variant 3"
    entry = first_entry(small_key, "single_choice") | {"points": 2.5}
    key = one_question_key(small_key, entry)
    _, question = ET.fromstring(lms.export(key, "moodle", "Midterm A/B")["lms/variant-1.moodle.xml"])
    assert question.findtext("defaultgrade") == "2.5"
    (item,) = qti_assessment(lms.export(key, "qti", "Quiz")["lms/variant-1.qti.zip"]).iter(f"{QTI}item")
    points = next(field.findtext(f"{QTI}fieldentry") for field in item.iter(f"{QTI}qtimetadatafield")
                  if field.findtext(f"{QTI}fieldlabel") == "points_possible")
    assert float(points) == 2.5
