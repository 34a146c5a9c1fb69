"""Renderers: exam variants to Quarto (`.qmd`) and Markdown (`.md`) with Jinja2.

The output templates live in the bundled `templates/` folder (`exam.qmd.j2`, `exam.md.j2`, which
share `exam.j2`). Jinja2 runs with `StrictUndefined` (a missing variable fails instead of
rendering blank) and autoescaping for HTML/XML templates.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from quizgen.assemble import Variant
from quizgen.errors import QuizgenError
from quizgen.questions import Question
from quizgen.resources import data_dir

#: Output formats and the template that renders each.
FORMATS = {"qmd": "exam.qmd.j2", "md": "exam.md.j2"}

INSTRUCTIONS = {
    "numeric": "Answer with a whole number.",
    "shape": "Answer with a shape written as a tuple, for example (None, 4, 4, 8) or (3, 3, 1, 8).",
    "matrix": "Answer with the matrix row by row, for example [[1, 2], [3, 4]].",
}


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the bundled output templates."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(data_dir("templates")),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "xml", "html.j2", "xml.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _answer_line(question: Question) -> str:
    if question.choices:
        number = next(i for i, choice in enumerate(question.choices, 1) if choice.correct)
        return f"**{number}** — {question.answer_text}"
    return f"**{question.answer_text}**"


def _question_context(position: int, question: Question) -> dict[str, Any]:
    return {
        "position": position,
        "text": question.text,
        "choices": [choice.text for choice in question.choices],
        "instruction": INSTRUCTIONS.get(question.kind, ""),
        "answer_line": _answer_line(question),
        "explanation": question.explanation,
        "reading": question.reading,
    }


def variant_context(variant: Variant, title: str) -> dict[str, Any]:
    """The template variables of one variant: `title`, `variant` and `groups`, each group one
    model (`heading`, `stem`, `code`) with its `questions`."""
    groups: list[dict[str, Any]] = []
    current = None
    for position, item, question in variant.numbered():
        if item is not current:
            current = item
            groups.append({"stem": item.stem, "code": item.code, "questions": []})
        groups[-1]["questions"].append(_question_context(position, question))
    for group in groups:
        first, last = group["questions"][0]["position"], group["questions"][-1]["position"]
        group["heading"] = f"Question {first}" if first == last else f"Questions {first}–{last}"
    return {"title": title, "variant": variant.number, "groups": groups}


def render(variant: Variant, fmt: str, title: str) -> str:
    """One variant as a document of format `fmt` (`qmd` or `md`).

    Raises:
        QuizgenError: unknown format, or a template error (names the template file).
    """
    if fmt not in FORMATS:
        raise QuizgenError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    try:
        template = environment().get_template(FORMATS[fmt])
        text = template.render(**variant_context(variant, title))
    except jinja2.TemplateError as error:
        raise QuizgenError(f"templates/{FORMATS[fmt]}: {error}") from error
    return text.strip() + "\n"
