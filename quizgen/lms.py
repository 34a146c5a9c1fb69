"""LMS export: the questions of an answer key as Moodle GIFT, Moodle XML or a Canvas QTI zip.

Every format holds one quiz per variant, one question per key entry. Each question's text
begins with the entry's *item tag* (`item_tag`, as `quizgen:v3-q5:1a2b3c4d`: the entry's `id` and
a digest of the whole entry), and its name is the tag and the template: Moodle's Responses report
and Canvas' Student Analysis show the question text beside each response, so that
`quizgen.responses` maps an LMS's responses back to their key entries (and refuses the responses
to another key's questions). The question text is then the question as printed in the exam: the
entry's `stem`, its `code` in a fenced block, its `text` and, for free responses, how to write
the answer. The entry's `explanation` becomes the general feedback and each distractor's
misconception `feedback` that choice's feedback.

GIFT and Moodle XML are rendered with Jinja2 from `templates/gift.j2` and
`templates/moodle.xml.j2`, each variant in its own question category (`$course$/top/<title>/
Variant <n>`), so that a Moodle "random question" draws within one variant. Their texts are the
Markdown rendered to HTML by markdown-it-py (raw HTML escaped), with math between `\\(`/`\\)`
(inline) and `\\[`/`\\]` (display), the delimiters Moodle's MathJax filter renders in its
default configuration (`$...$` is not one of them). The QTI zip is made by text2qti from its
plain-text quiz format, with LaTeX math left to Canvas' own equation renderer (no network
request at export time). The same key always gives byte-identical files.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from functools import cache, partial
from itertools import groupby
from typing import Any

import jinja2

from quizgen import render
from quizgen.errors import QuizgenError
from quizgen.facts import CHOICE_KINDS
from quizgen.key import KeyChoice, KeyEntry, read_entries
from quizgen.spec import python_literal
from quizgen.template import fenced

#: The file name suffix of each format, one file per variant: `lms/variant-<n><suffix>`.
SUFFIXES = {"gift": ".gift", "moodle": ".moodle.xml", "qti": ".qti.zip"}

#: The Jinja2 template of each template-rendered format.
TEMPLATES = {"gift": "gift.j2", "moodle": "moodle.xml.j2"}

#: The Moodle question type of each key question kind.
MOODLE_TYPES = {"single_choice": "multichoice", "multiple_choice": "multichoice",
                "numeric": "numerical", "shape": "shortanswer", "matrix": "shortanswer"}

#: The date stamped on every member of a QTI zip, so that the zip bytes depend on the key only.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
#: The same date in the QTI manifest's `imsmd:dateTime`.
MANIFEST_DATE = "1980-01-01"

#: text2qti refuses numerical answers whose acceptable range ends this close to zero.
QTI_SMALLEST_NUMBER = 1e-4

_GIFT_SPECIAL = re.compile(r"([\\~=#{}:])")

#: The item tag of an exported question (`item_tag`), as the LMS reports show it in the
#: question's text: `quizgen:<id>:<digest>`, the digest `TAG_DIGEST` hex digits long.
TAG_PATTERN = re.compile(r"quizgen:(v[0-9]+-q[0-9]+):([0-9a-f]{8})")
TAG_DIGEST = 8


class ExportError(QuizgenError):
    """A key cannot be exported to an LMS format (unknown format, malformed entry)."""


def export(key: dict[str, Any], fmt: str, title: str) -> dict[str, bytes]:
    """Export the questions of an answer key (parsed key.json) to an LMS format.

    `fmt` is `"gift"`, `"moodle"` or `"qti"`. Returns `{relative file name: file content}`, one
    file per variant in variant order: `lms/variant-<n>.gift`, `lms/variant-<n>.moodle.xml` or
    the Canvas QTI zip `lms/variant-<n>.qti.zip` (n zero-padded like the exam files).

    Raises:
        ExportError: unknown format, or an entry that cannot be exported (names its id).
        QuizgenError: a template error (names the template file).
    """
    if fmt not in SUFFIXES:
        raise ExportError(f"unknown LMS format {fmt!r}; known: {', '.join(SUFFIXES)}")
    ordered = sorted(read_entries(key), key=lambda entry: (entry.variant, entry.position))
    width = len(str(ordered[-1].variant)) if ordered else 1
    return {
        f"lms/variant-{variant:0{width}d}{SUFFIXES[fmt]}": _WRITERS[fmt](
            [lms_question(entry) for entry in group], title, variant)
        for variant, group in groupby(ordered, key=lambda entry: entry.variant)
    }


def lms_question(entry: KeyEntry) -> dict[str, Any]:
    """The format-neutral question of one key entry: `name` (its item tag and template), `tag`
    (`item_tag`), `kind`, `text` (Markdown, from the tag), `explanation`, `points`, and by
    kind `choices` (`text`, `correct`, `fraction` as a percentage,
    `feedback`), `number` and `tolerance`, or the accepted short-answer spellings `answers`.

    Raises:
        ExportError: the kind is unknown, or a numeric entry has no tolerance.
    """
    where = f"key question {entry.id}"
    kind, answer = entry.kind, entry.answer
    if kind not in MOODLE_TYPES:
        raise ExportError(f"{where}: cannot export questions of kind {kind!r}")
    tag = item_tag(entry)
    question = {"name": f"{tag} {entry.template}", "tag": tag, "kind": kind,
                "text": f"`{tag}`\n\n{question_text(entry)}", "explanation": entry.explanation,
                "points": _number(entry.points)}
    if kind in CHOICE_KINDS:
        question["choices"] = _choices(kind, entry.choices, where)
    elif kind == "numeric":
        if entry.tolerance is None:
            raise ExportError(f"{where}: missing field 'tolerance'")
        question |= {"number": _number(answer), "tolerance": _number(entry.tolerance)}
    else:
        question["answers"] = shape_spellings(answer) if kind == "shape" else matrix_spellings(answer)
    return question


def item_tag(entry: KeyEntry) -> str:
    """The tag an exported question carries in its text: `quizgen:<id>:<digest>`
    (`TAG_PATTERN`), the digest being the first `TAG_DIGEST` hex digits of the SHA-256 of the
    entry's canonical JSON, so that a response to another key's `v1-q2` does not pass for one
    to this key's."""
    canonical = json.dumps(entry.to_json(), sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:TAG_DIGEST]
    return f"quizgen:{entry.id}:{digest}"


def question_text(entry: KeyEntry) -> str:
    """The question as Markdown, as printed in the exam: the entry's `stem`, its `code` in a
    fenced block, its `text` and, for free responses, how to write the answer."""
    parts = [entry.stem] + ([fenced(entry.code)] if entry.code else []) + [entry.text]
    if entry.kind in render.INSTRUCTIONS:
        parts.append(f"*{render.INSTRUCTIONS[entry.kind]}*")
    return "\n\n".join(parts)


def _choices(kind: str, choices: tuple[KeyChoice, ...], where: str) -> list[dict[str, Any]]:
    """The choices with their grade fractions in percent: the correct ones share 100, the wrong
    ones share -100 (multiple choice) or score 0 (single choice).

    Raises:
        ExportError: no correct choice, or several for a single-choice question.
    """
    correct = sum(1 for choice in choices if choice.correct)
    if correct == 0 or (kind == "single_choice" and correct > 1):
        raise ExportError(f"{where}: a {kind} question with {correct} correct choices")
    wrong = len(choices) - correct
    return [{"text": choice.text, "correct": choice.correct,
             "fraction": _percent(100 / correct if choice.correct
                                  else 0 if kind == "single_choice" else -100 / wrong),
             "feedback": choice.feedback or ""}
            for choice in choices]


def _percent(value: float) -> str:
    """A Moodle grade fraction in percent: `100`, `33.33333`, `-50`."""
    return f"{value:.5f}".rstrip("0").rstrip(".")


def _number(value: float) -> str:
    """An answer or tolerance as written in the LMS: `1068`, `0.5`."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def shape_spellings(shape: list[int | None]) -> list[str]:
    """The accepted short-answer spellings of a shape, as `quizgen.grade.parse_shape` reads them:
    `(None, 13, 13, 32)`, `(None,13,13,32)`, `[None, 13, 13, 32]`, `13x13x32`, and for output
    shapes (batch axis None) also `(13, 13, 32)`."""
    printed = python_literal(tuple(shape))
    dims = shape[1:] if shape[0] is None else shape
    spellings = [printed, printed.replace(" ", ""), json.dumps(shape).replace("null", "None")]
    if dims:
        spellings.append("x".join(str(size) for size in dims))
    if dims != shape:
        spellings.append(python_literal(tuple(dims)))
    return list(dict.fromkeys(spellings))


def matrix_spellings(matrix: list[list[float]]) -> list[str]:
    """The accepted short-answer spellings of a matrix, as `quizgen.grade.parse_matrix` reads
    them: its JSON text `[[2, 2, 3], [1, 2, 1]]`, with and without spaces (whole numbers
    written without `.0`)."""
    rows = [[int(value) if float(value).is_integer() else value for value in row] for row in matrix]
    return list(dict.fromkeys([json.dumps(rows), json.dumps(rows, separators=(",", ":"))]))


def gift_escape(text: str) -> str:
    """HTML text made safe for GIFT: a backslash before each of GIFT's special characters
    `~ = # { } :` and before backslashes; each blank line (which would end the question)
    replaced by GIFT's `\\n` line-break escape; and since Moodle's importer trims every line
    (`qformat_default::readquestions`) and drops a line starting with `//` (a comment), a
    line's leading spaces written `&#32;` (a code block keeps its indentation) and a leading
    `/` written `&#47;` (their `#` escaped)."""
    escaped = _GIFT_SPECIAL.sub(r"\\\1", str(text).strip())
    return "\n".join(_gift_line(line) for line in escaped.split("\n"))


def _gift_line(line: str) -> str:
    """One line of an escaped GIFT text, protected from Moodle's trimming (see `gift_escape`)."""
    if not line.strip():
        return r"\n"
    body = line.lstrip(" \t")
    indent = line[:len(line) - len(body)].replace(" ", r"&\#32;").replace("\t", r"&\#9;")
    return indent + (r"&\#47;" + body[1:] if body.startswith("/") else body)


def lms_html(markdown: str) -> str:
    """Markdown as the HTML of a Moodle text: raw HTML escaped, math as TeX between `\\(`/`\\)`
    or `\\[`/`\\]` (`quizgen.render.markdown_to_html`); a one-paragraph text (a choice, a
    feedback) without its `<p>`. A plain `str`, so that an autoescaping template escapes it."""
    html = str(render.markdown_to_html(markdown, math="tex")).strip()
    inner = html.removeprefix("<p>").removesuffix("</p>")
    return inner if f"<p>{inner}</p>" == html and "<p>" not in inner else html


def moodle_category(title: str, variant: int) -> str:
    """The Moodle question category of a variant: `$course$/top/<title>/Variant <n>` (a `/` in
    the title doubled, as Moodle reads a literal slash in a category path)."""
    return f"$course$/top/{title.replace('/', '//')}/Variant {variant}"


@cache
def _environment() -> jinja2.Environment:
    """quizgen's output-template environment (`quizgen.render.environment`) plus the `gift`
    and `html` filters, as an overlay so that the shared environment is left as it is."""
    environment = render.environment().overlay()
    environment.filters = {**environment.filters, "gift": gift_escape, "html": lms_html}
    return environment


def _render(fmt: str, questions: list[dict[str, Any]], title: str, variant: int) -> bytes:
    """One variant rendered by the template of `fmt`.

    Raises:
        QuizgenError: a template error (names the template file).
    """
    title = " ".join(title.split())
    try:
        text = _environment().get_template(TEMPLATES[fmt]).render(
            heading=f"{title} (variant {variant})", category=moodle_category(title, variant),
            questions=questions, moodle_types=MOODLE_TYPES)
    except jinja2.TemplateError as error:
        raise QuizgenError(f"templates/{TEMPLATES[fmt]}: {error}") from error
    return (text.strip() + "\n").encode()


def _qti(questions: list[dict[str, Any]], title: str, variant: int) -> bytes:
    """The Canvas QTI zip of one variant, made by text2qti.

    Raises:
        ExportError: text2qti rejects the quiz (its message names the line).
    """
    # Imported here, only when QTI is asked: text2qti needs Python-Markdown (>= 3.4), which
    # no other format does.
    import text2qti.config
    import text2qti.err
    import text2qti.qti
    import text2qti.quiz
    import text2qti.xml_imsmanifest

    source = qti_source(questions, f"{' '.join(title.split())} (variant {variant})")
    # A fresh Config (not Config.load, which reads and writes ~/.text2qti.bespon): LaTeX becomes
    # Canvas equation images rendered by Canvas itself, code blocks are never run.
    config = text2qti.config.Config()
    try:
        quiz = text2qti.quiz.Quiz(source, config=config, source_name=f"variant-{variant}.txt")
        qti = text2qti.qti.QTI(quiz)
        # text2qti dates the manifest with today's local date: the same key would give other bytes
        # on another day or in another time zone.
        qti.imsmanifest_xml = text2qti.xml_imsmanifest.imsmanifest(
            manifest_identifier=qti.manifest_identifier,
            assessment_identifier=qti.assessment_identifier,
            dependency_identifier=qti.dependency_identifier, images=quiz.images,
            date=MANIFEST_DATE)
        data = qti.zip_bytes()
    except text2qti.err.Text2qtiError as error:
        raise ExportError(f"variant {variant}: text2qti: {error}") from error
    return _fixed_date_zip(data)


def qti_source(questions: list[dict[str, Any]], quiz_title: str) -> str:
    """The text2qti plain-text quiz of some questions: each question's title is its name, its
    points its points, its explanation the general feedback (`...`)."""
    lines = [f"Quiz title: {quiz_title}", ""]
    for number, question in enumerate(questions, 1):
        lines += [f"Title: {question['name']}", f"Points: {question['points']}",
                  _qti_block(f"{number}.", question["text"]),
                  *_qti_feedback(question["explanation"]), *_qti_answers(question), ""]
    return "\n".join(lines)


def _qti_feedback(feedback: str) -> list[str]:
    """The `...` feedback line(s) of a question or choice; none for empty feedback (text2qti
    rejects an empty `...`)."""
    return [_qti_block("...", feedback)] if feedback.strip() else []


def _qti_answers(question: dict[str, Any]) -> list[str]:
    """The answer lines of one question in text2qti's format."""
    if question["kind"] in ("single_choice", "multiple_choice"):
        lines = []
        for index, choice in enumerate(question["choices"]):
            if question["kind"] == "single_choice":
                marker = ("*" if choice["correct"] else "") + chr(ord("a") + index) + ")"
            else:
                marker = "[*]" if choice["correct"] else "[ ]"
            lines += [_qti_block(marker, choice["text"]), *_qti_feedback(choice["feedback"])]
        return lines
    if question["kind"] == "numeric":
        return [_qti_numerical(question["number"], question["tolerance"])]
    return [_qti_block("*", answer) for answer in question["answers"]]


def _qti_numerical(number: str, tolerance: str) -> str:
    """A numerical answer line; a short answer when text2qti cannot express the range (it
    refuses ranges that end within 1e-4 of zero, such as exactly 0)."""
    low, high = float(number) - float(tolerance), float(number) + float(tolerance)
    if min(abs(low), abs(high)) < QTI_SMALLEST_NUMBER:
        return _qti_block("*", number)
    return _qti_block("=", number if float(tolerance) == 0 else f"{number} +- {tolerance}")


def _qti_block(marker: str, markdown: str) -> str:
    """A text2qti element: the marker, then the Markdown indented under its first line."""
    width = max(4, len(marker) + 1)
    first, *rest = str(markdown).strip().split("\n")
    indent = " " * width
    return "\n".join([marker.ljust(width) + first, *(indent + line if line.strip() else ""
                                                    for line in rest)])


def _fixed_date_zip(data: bytes) -> bytes:
    """The zip `data` rewritten with every member dated `ZIP_DATE` and fixed permissions."""
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(output, "w") as target:
        for member in source.infolist():
            fixed = zipfile.ZipInfo(member.filename, date_time=ZIP_DATE)
            fixed.compress_type = member.compress_type
            fixed.create_system = 3
            fixed.external_attr = (0o40755 << 16 | 0x10) if member.is_dir() else 0o644 << 16
            target.writestr(fixed, source.read(member))
    return output.getvalue()


_WRITERS: dict[str, Callable[[list[dict[str, Any]], str, int], bytes]] = {
    "gift": partial(_render, "gift"), "moodle": partial(_render, "moodle"), "qti": _qti,
}
