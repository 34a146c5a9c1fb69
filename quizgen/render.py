"""Renderers: exam variants to Quarto (`.qmd`), Markdown (`.md`) and standalone HTML (`.html`).

The output templates live in the bundled `templates/` folder. `exam.qmd.j2` and `exam.md.j2` share
the body `exam.j2`. An HTML page (`page.html.j2`, or `selfcheck.html.j2` with the self-check
script) holds the body `exam.html.j2`, whose structure is HTML written by quizgen; the texts in it
(stems, questions, options, answers, explanations) are the Markdown pieces of the `.md` output
rendered by markdown-it-py with raw HTML *escaped*: a bank's `<script>` or `<img onerror=…>` is
shown as text, never run. Every `$...$` and `$$...$$` becomes MathML at build time (latex2mathml);
the page makes no network request and works from `file://`.

Each variant renders either with its answers (the self-check page for HTML) or as a student
handout (`handout=True`): blanks for name and student ID, and no answer, explanation or
misconception anywhere in the file.

Jinja2 runs with `StrictUndefined` (a missing variable fails instead of rendering blank) and
autoescaping for HTML/XML templates.
"""

from __future__ import annotations

import re
import tempfile
from functools import cache
from typing import Any

import jinja2
from latex2mathml.converter import convert as latex_to_mathml
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markupsafe import Markup
from mdit_py_plugins.dollarmath import dollarmath_plugin

from quizgen.assemble import Variant
from quizgen.blueprint import Blueprint
from quizgen.errors import QuizgenError
from quizgen.family import Question
from quizgen.grade import MATRIX_TOLERANCE
from quizgen.key import KeyEntry, question_entry
from quizgen.oracle import versions
from quizgen.resources import data_dir
from quizgen.template import fenced

#: Text output formats, one file per variant.
FORMATS = ("qmd", "md", "html")

#: The printable format: one PDF per variant, typeset by Typst (`typeset`).
PDF = "pdf"

#: Pandoc's Markdown as a bank's texts may use it: without raw HTML, TeX or Typst (a text
#: cannot inject code into the typesetter), citations or a metadata block.
PANDOC_MARKDOWN = "markdown-raw_attribute-raw_html-raw_tex-citations-yaml_metadata_block"

#: The Typst set-up of every PDF: A4; code in a smaller font (a line of 100 characters fits) on a
#: grey ground, never split over two pages, a longer line wrapped with its continuation 4
#: columns deeper than the line; a page between a variant's end and the next variant's start
#: (`TYPST_NEXT_VARIANT`) says it is left blank; `typeset` numbers each variant's pages from 1.
#:
#: `questions(body)` (`typeset` calls it on each document) keeps each question on one page: it
#: splits the document before each heading of level 1 or 2 (a question, or a group of questions
#: on one model) and a group before each heading of level 3 but the first (the group's stem and
#: code stay with its first question); each part is a block that breaks over pages only when it
#: is longer than a page.
TYPST_PREAMBLE = """\
#set document(date: none)
#set page(paper: "a4", margin: (x: 2cm, y: 2.2cm), numbering: "1", foreground: context {
  let pages(label) = query(label).map(marker => marker.location().page())
  let blank = pages(<variant-end>).zip(pages(<variant-start>))
    .any(((end, start)) => end < here().page() and here().page() < start)
  if blank { place(center + horizon, text(size: 9pt)[This page is intentionally left blank.]) }
})
#set text(size: 10.5pt)
#set par(justify: false)
#show raw: set text(size: 8.5pt)
#show raw.where(block: true): set text(size: 7.5pt)
#show raw.where(block: true): it => {
  show raw.line: line => context {
    let indent = line.text.len() - line.text.trim(at: start).len()
    box(width: 100%, par(hanging-indent: (indent + 4) * measure("0").width, line))
  }
  block(fill: luma(245), inset: 6pt, radius: 2pt, width: 100%, breakable: false, it)
}
#let horizontalrule = line(length: 100%)
#let keep(children) = layout(size => {
  let body = children.join()
  block(breakable: measure(body, width: size.width).height > size.height, body)
})
#let sections(children, depth) = {
  let parts = ((),)
  for child in children {
    if child.func() == heading and child.depth <= depth and parts.last() != () { parts.push(()) }
    parts.last().push(child)
  }
  parts
}
#let questions(body) = for part in sections(body.fields().at("children", default: (body,)), 2) {
  let group = sections(part, 3)
  if group.len() == 1 { keep(part) } else {
    keep(((group.at(0) + group.at(1),) + group.slice(2)).map(keep))
  }
}
"""

#: Between two variants of a print file: a new sheet (an odd page), pages numbered from 1; the
#: labels mark where a page left blank for that would be (`TYPST_PREAMBLE` says so on it).
TYPST_NEXT_VARIANT = """
#metadata(none) <variant-end>
#pagebreak(to: "odd")
#metadata(none) <variant-start>
#counter(page).update(1)
"""

#: Where each `--mode` puts the documents of a variant: (folder prefix, rendered as handout).
LAYOUTS = {
    "selfcheck": (("", False),),
    "exam": (("handouts/", True), ("solutions/", False)),
}

#: The formats each mode writes when none are asked for.
DEFAULT_FORMATS = {"selfcheck": ("qmd", "md"), "exam": FORMATS}

INSTRUCTIONS = {
    "numeric": "Answer with a whole number.",
    "shape": "Answer with a shape written as a tuple, for example (None, 9, 9, 5) or (7, 2).",
    "matrix": "Answer with the matrix row by row, for example [[1, 2], [3, 4]].",
}


_UNKNOWN_COMMAND = re.compile(r">(\\[A-Za-z]+)<")


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the bundled output templates, with the `markdown` filter
    (`markdown_to_html`) and `fenced` (`quizgen.template.fenced`)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(data_dir("templates")),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "xml", "html.j2", "xml.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["markdown"] = markdown_to_html
    env.filters["fenced"] = fenced
    return env


def _answer_line(question: Question) -> str:
    """The answer in bold: the correct option number(s), then for a single choice its text (in
    a paragraph of its own if it has several lines, e.g. code)."""
    if not question.choices:
        return f"**{question.answer_text}**"
    numbers = ", ".join(str(i) for i, choice in enumerate(question.choices, 1) if choice.correct)
    if question.kind == "multiple_choice":
        return f"**{numbers or 'none'}**"
    separator = "\n\n" if "\n" in question.answer_text else " — "
    return f"**{numbers}**{separator}{question.answer_text}"


def points_text(points: float) -> str:
    """`1 point`, `10 points`, `2.5 points`."""
    number = f"{points:g}"
    return f"{number} point{'' if points == 1 else 's'}"


def _question_context(entry: KeyEntry, question: Question, points: str | None) -> dict[str, Any]:
    label = f"Question {entry.position}" + (f" ({points})" if points else "")
    return {
        "id": entry.id,
        "position": entry.position,
        "label": label,
        "text": question.text,
        "choices": [choice.text for choice in question.choices],
        "input": "checkbox" if question.kind == "multiple_choice" else "radio",
        "instruction": INSTRUCTIONS.get(question.kind, ""),
        "answer_line": _answer_line(question),
        "explanation": question.explanation,
        "reading": question.reading,
    }


def check_data(entry: KeyEntry) -> dict[str, Any]:
    """What the self-check page's script needs to judge a response to the key entry `entry`: its
    `kind` and, for choice kinds, each choice's `correct`, `misconception` label and `feedback`,
    else the `answer` and its `tolerance` (the key's; `MATRIX_TOLERANCE` for matrices, else 0)."""
    if entry.choices:
        return {"kind": entry.kind, "choices": [
            {"correct": choice.correct, "misconception": choice.misconception,
             "feedback": choice.feedback} for choice in entry.choices]}
    default = MATRIX_TOLERANCE if entry.kind == "matrix" else 0
    return {"kind": entry.kind, "answer": entry.answer,
            "tolerance": default if entry.tolerance is None else entry.tolerance}


def _exam_context(exam: Blueprint | None, variant: Variant) -> dict[str, Any] | None:
    """What the head of a blueprint's documents prints: `course`, `date`, `duration`,
    `total_points`, `instructions`, the answer conventions of the question kinds the variant
    has (`kinds`), and the Keras version and backend the answers were computed with."""
    if exam is None:
        return None
    keras_version, backend = versions()
    return {"course": exam.course, "date": exam.date, "duration": exam.duration,
            "total_points": points_text(exam.total_points), "instructions": exam.instructions,
            "kinds": sorted({question.kind for _, _, question in variant.numbered()}),
            "matrix_tolerance": f"{MATRIX_TOLERANCE:.6f}", "keras_version": keras_version,
            "backend": backend}


def variant_context(variant: Variant, title: str, handout: bool = False,
                    exam: Blueprint | None = None) -> dict[str, Any]:
    """The template variables of one variant: `title`, `variant`, `handout`, `exam` (the head of
    a blueprint's documents, `_exam_context`, or None), `groups` (each group one model:
    `heading`, `stem`, `code` and its `questions`, each with its `label`, "Question 3 (10
    points)" when the exam has points) and `answers` (`check_data` by question id)."""
    groups: list[dict[str, Any]] = []
    answers: dict[str, dict[str, Any]] = {}
    current = None
    for position, item, question in variant.numbered():
        entry = question_entry(variant.number, position, item, question,
                               *variant.placement(position))
        answers[entry.id] = check_data(entry)
        if item is not current:
            current = item
            groups.append({"stem": item.stem, "code": item.code, "questions": []})
        points = points_text(entry.points) if variant.slots else None
        groups[-1]["questions"].append(_question_context(entry, question, points))
    for group in groups:
        questions = group["questions"]
        first, last = questions[0]["position"], questions[-1]["position"]
        group["heading"] = questions[0]["label"] if first == last else f"Questions {first}–{last}"
    return {"title": title, "variant": variant.number, "handout": handout,
            "exam": _exam_context(exam, variant), "groups": groups, "answers": answers}


def _mathml(latex: str, options: dict[str, Any]) -> str:
    """A `$...$` (or, with `display_mode`, `$$...$$`) formula as MathML.

    Raises:
        QuizgenError: latex2mathml cannot parse the formula or does not know a command in it.
    """
    try:
        mathml = latex_to_mathml(latex, display="block" if options["display_mode"] else "inline")
    except Exception as error:  # latex2mathml's errors share no base class
        raise QuizgenError(f"math ${latex}$: latex2mathml cannot convert it: {error!r}") from error
    unknown = _UNKNOWN_COMMAND.search(mathml)
    if unknown:
        raise QuizgenError(f"math ${latex}$: latex2mathml does not know {unknown[1]}")
    return mathml


def _tex(latex: str, options: dict[str, Any]) -> str:
    """A `$...$` formula as HTML-escaped TeX in the delimiters MathJax reads by default, which
    Moodle's MathJax filter renders as imported: `\\(...\\)` inline, `\\[...\\]` for a
    `$$...$$` (`display_mode`) formula (MathJax docs, "TeX and LaTeX input": `$...$` is off by
    default)."""
    opening, closing = ("\\[", "\\]") if options["display_mode"] else ("\\(", "\\)")
    return escapeHtml(f"{opening}{latex}{closing}")


#: How `markdown_to_html` writes a formula: as MathML, or as TeX for MathJax.
MATH_RENDERERS = {"mathml": _mathml, "tex": _tex}


@cache
def _markdown(math: str) -> MarkdownIt:
    """CommonMark with tables and `$` math rendered by `MATH_RENDERERS[math]`; raw HTML is
    escaped (shown as text) and links with a `javascript:`/`vbscript:`/`file:`/`data:` URL
    stay text (markdown-it's `validateLink`)."""
    return MarkdownIt("commonmark", {"html": False}).enable("table").use(
        dollarmath_plugin, renderer=MATH_RENDERERS[math])


def markdown_to_html(text: str, math: str = "mathml") -> Markup:
    """Markdown (with `$` math) as HTML in which every raw HTML tag of `text` is escaped; each
    formula as MathML, or with `math="tex"` as TeX between `\\(`/`\\)` or `\\[`/`\\]` (the
    page then needs MathJax, as an LMS has).

    Raises:
        QuizgenError: a formula cannot be converted to MathML.
    """
    return Markup(_markdown(math).render(str(text)))


def typeset(documents: list[str]) -> bytes:
    """One PDF of Markdown `documents` (as `exam.pdf.j2` renders them, with `$` math), each
    from a new odd page, each question whole on a page: pandoc converts each to Typst markup
    (`PANDOC_MARKDOWN`: raw HTML, TeX and Typst in a text stay text; brackets are escaped, so
    the markup is safe as the content argument of `questions`, see `TYPST_PREAMBLE`), the
    bundled Typst compiler (PyPI `typst`) typesets them with its embedded fonts only, in an
    empty project folder (a text can read no file), dated nothing: the same documents give the
    same bytes.

    Raises:
        QuizgenError: pandoc or Typst fails (the message quotes its error).
    """
    import pypandoc
    import typst

    try:
        bodies = [pypandoc.convert_text(document, "typst", format=PANDOC_MARKDOWN)
                  for document in documents]
    except (RuntimeError, OSError) as error:
        raise QuizgenError(f"pandoc cannot convert a document to Typst: {error}") from error
    source = TYPST_PREAMBLE + TYPST_NEXT_VARIANT.join(f"#questions[{body}]" for body in bodies)
    with tempfile.TemporaryDirectory(prefix="quizgen-typst-") as root:
        try:
            return typst.compile(source.encode("utf-8"), root=root, ignore_system_fonts=True)
        except Exception as error:  # typst raises TypstError, or RuntimeError for a panic
            raise QuizgenError(f"Typst cannot typeset a document: {error}") from error


def render_pdf(variants: list[Variant], title: str, handout: bool = False,
               exam: Blueprint | None = None) -> bytes:
    """`variants` as one PDF (see `typeset`): each as a student handout, or with its answers
    (one variant per file, or a class's handouts in one print file).

    Raises:
        QuizgenError: a template, pandoc or Typst error.
    """
    return typeset([_render_template("exam.pdf.j2", variant_context(variant, title, handout, exam))
                    for variant in variants])


def _template(fmt: str, handout: bool) -> str:
    """The template of a document: its Markdown, or for HTML the page."""
    if fmt != "html":
        return f"exam.{fmt}.j2"
    return "page.html.j2" if handout else "selfcheck.html.j2"


def _render_template(name: str, context: dict[str, Any]) -> str:
    try:
        return environment().get_template(name).render(**context)
    except jinja2.TemplateError as error:
        raise QuizgenError(f"templates/{name}: {error}") from error


def render(variant: Variant, fmt: str, title: str, handout: bool = False,
           exam: Blueprint | None = None) -> str:
    """One variant as a document of format `fmt` (`qmd`, `md` or `html`): with its answers (for
    `html` the interactive self-check page), or as a student handout without any answer; for
    an exam drawn from a blueprint, headed by its course, date, duration, total points,
    instructions and answer conventions, with each question's points.

    Raises:
        QuizgenError: unknown format, a template error (names the template file), or a formula
            that cannot be converted to MathML.
    """
    if fmt not in FORMATS:
        raise QuizgenError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    context = variant_context(variant, title, handout, exam)
    return _render_template(_template(fmt, handout), context).strip() + "\n"
