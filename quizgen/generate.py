"""Generation: the whole pipeline from a question bank to the files of an exam.

`generate_exam` selects templates from the bank, assembles the variants (every answer from
Keras, through an `Oracle` with the persistent fact cache), renders each variant in each format,
exports the LMS formats and builds the answer key. It returns the files in memory
(`Exam.files`), for `quizgen.files.write_outputs` to write all at once; nothing is written here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from quizgen import families
from quizgen.assemble import Source, Variant, assemble
from quizgen.bank import load_bank, own_model_templates, select
from quizgen.blueprint import Blueprint, capacity, implicit_blueprint, load_blueprint
from quizgen.cache import FactCache, default_folder
from quizgen.errors import QuestionError, QuizgenError, TemplateError
from quizgen.key import build_key, dumps
from quizgen.lms import SUFFIXES, export
from quizgen.oracle import Oracle
from quizgen.questions import make_item
from quizgen.render import FORMATS, LAYOUTS, PDF, render, render_pdf
from quizgen.template import Template

#: Every output format: the documents of `quizgen.render`, then the LMS exports.
ALL_FORMATS = (*FORMATS, PDF, *SUFFIXES)

#: In exam mode with `pdf`: every variant's handout in one PDF, for one print job.
PRINT_FILE = "print/handouts.pdf"

#: Questions per variant when the selection does not say.
QUESTIONS = 10


@dataclass(frozen=True)
class Selection:
    """What an exam draws from: the slots of a `blueprint` file (`quizgen.blueprint`), the
    templates `quizgen.bank.select` picks (all but the classics by default), or the questions
    about instructors' own `models` (Python files, `quizgen.bank.own_model_templates`). With
    `run_model_files`, the bank's templates may take their model from a Python file."""

    bank: Path | None = None
    blueprint: Path | None = None
    tags: tuple[str, ...] = ()
    template_ids: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    difficulties: tuple[int, ...] = ()
    models: tuple[Path, ...] = ()
    run_model_files: bool = False

    @property
    def narrowed(self) -> bool:
        """Whether any option narrows the default selection."""
        return bool(self.tags or self.template_ids or self.topics or self.difficulties)

    @property
    def named(self) -> bool:
        """Whether the templates are named (by id or tag): the exam asks each of their
        questions, as the templates group them, instead of an implicit blueprint's slots."""
        return bool(self.tags or self.template_ids)


@dataclass(frozen=True)
class Exam:
    """A generated exam: its variants, its answer key (JSON-ready), the files to write
    (relative path → text or bytes), the number of templates drawn from and the oracle's
    cache (for its statistics)."""

    variants: list[Variant]
    key: dict[str, Any]
    files: dict[str, str | bytes]
    templates: int
    cache: FactCache


def _source(selection: Selection, oracle: Oracle) -> tuple[Source, int]:
    """What the exam is drawn from, and from how many templates.

    Raises:
        TemplateError: a bank, blueprint or selection error.
        ArchitectureError: Keras cannot build an instructor's model.
    """
    if selection.models:
        templates = _own_model_questions(selection.models, oracle)
        return templates, len(templates)
    bank = load_bank(selection.bank, selection.run_model_files)
    if selection.blueprint is not None:
        blueprint = load_blueprint(selection.blueprint, bank)
        used = {candidate.template.id for slot in blueprint.slots for candidate in slot.candidates}
        return blueprint, len(used)
    templates = select(bank, list(selection.tags), list(selection.template_ids),
                       list(selection.topics), list(selection.difficulties))
    return templates, len(templates)


def _own_model_questions(files: tuple[Path, ...], oracle: Oracle) -> list[Template]:
    """The templates about instructors' own models (`quizgen.bank.own_model_templates`) that
    can make an item on their file's model, in the forms it can carry (`_in_working_forms`;
    a template whose asks are made together, a summary table, is also tried whole), each
    tried once (its facts then cached for the variants): a summary table too long to fill in,
    too few kinds of statement to choose from or no Conv2D a formula fits leaves its
    template out.

    Raises:
        TemplateError: a file of whose model no question can be made (named, with why).
        ArchitectureError: Keras cannot build a file's model.
    """
    kept, why = [], {}
    for template in own_model_templates(list(files)):
        try:
            if families.asks_together(template):
                make_item(template, 0, oracle)
            kept.append(_in_working_forms(template, oracle))
        except QuestionError as error:
            why.setdefault(template.source_file, str(error))
    for file in files:
        if not any(template.source_file == file.name for template in kept):
            raise TemplateError(f"{file}: no question can be made about its model: "
                                f"{why.get(file.name)}")
    return kept


def _in_working_forms(template: Template, oracle: Oracle) -> Template:
    """`template` with each value ask offering only the response forms in which its question
    can be made on the template's fixed model, each tried once (a Dense layer's output shape
    has too few executed mistakes for a single choice: it is asked as a free response).

    Raises:
        QuestionError: an ask can be made in none of its forms (the last error).
    """
    asks = []
    for ask in template.asks:
        working, error = [], None
        for form in families.forms(template, ask):
            try:
                make_item(replace(template, asks=(families.in_form(template, ask, form),)), 0, oracle)
            except QuestionError as failed:
                error = failed
                continue
            working.append(form)
        if not working:
            raise error
        asks.append(families.in_forms(template, ask, working))
    return replace(template, asks=tuple(asks))


def _documents(made: list[Variant], formats: tuple[str, ...], mode: str, title: str,
               blueprint: Blueprint | None) -> list[tuple[str, Callable[[], str | bytes]]]:
    """The documents of the exam, each as (file name, what renders it): every variant in each
    asked format and in each folder of the mode's layout; with `pdf` in exam mode, also every
    handout in one print file, `print/handouts.pdf`."""
    width = len(str(len(made)))
    wanted = [fmt for fmt in formats if fmt in FORMATS or fmt == PDF]
    documents: list[tuple[str, Callable[[], str | bytes]]] = [
        (f"{folder}variant-{v.number:0{width}d}.{fmt}",
         partial(render_pdf, [v], title, handout, blueprint) if fmt == PDF
         else partial(render, v, fmt, title, handout, blueprint))
        for folder, handout in LAYOUTS[mode] for v in made for fmt in wanted]
    if PDF in formats and mode == "exam":
        documents.append((PRINT_FILE, partial(render_pdf, made, title, True, blueprint)))
    return documents


def generate_exam(selection: Selection, seed: int, variants: int, questions: int | None,
                  formats: tuple[str, ...], mode: str, title: str, cache: bool = True,
                  jobs: int = 1, scheduler: str | None = None,
                  progress: Callable[[Iterable], Iterable] = iter,
                  rendering: Callable[[Iterable], Iterable] = iter) -> Exam:
    """The files of an exam: `variants` variants, each of one question per slot of the
    selection's blueprint (titled by it); with templates named by id or tag, of `questions`
    questions (default: every question of every chosen template once, but at least 10);
    otherwise of the `questions` questions (default 10, or as many as the selection has facts
    if fewer; about instructors' own models, as many as they have facts) of the implicit
    blueprint of the selected templates (`quizgen.blueprint.implicit_blueprint`: topics
    balanced, no fact asked twice, the same slots in every variant), in
    each of `formats` (`ALL_FORMATS`), laid out for `mode` (`selfcheck` or `exam`), and
    `key.json`. `cache`, `jobs` and `scheduler` say how facts are computed
    (`quizgen.assemble.assemble`); they change no output. `progress` wraps the stream of
    finished variants, `rendering` the list of documents to render (`_documents`).

    Raises:
        QuizgenError: an unknown format or mode, a bank or selection error, or items that
            failed (all listed together).
    """
    unknown = [fmt for fmt in formats if fmt not in ALL_FORMATS]
    if unknown or not formats:
        raise QuizgenError(f"--format: choose from {', '.join(ALL_FORMATS)}")
    if mode not in LAYOUTS:
        raise QuizgenError(f"--mode: choose from {', '.join(LAYOUTS)}")
    oracle = Oracle(FactCache(default_folder() if cache else None))
    source, count = _source(selection, oracle)
    blueprint = source if isinstance(source, Blueprint) else None
    if blueprint is not None:
        questions, title = len(blueprint.slots), blueprint.title
    elif selection.named:
        questions = questions or max(QUESTIONS, sum(len(t.asks) for t in source))
    else:
        if not selection.models:
            questions = questions or min(QUESTIONS, capacity(source))
        source = blueprint = implicit_blueprint(source, questions, seed, title)
        questions = sum(slot.questions for slot in blueprint.slots)
    made = assemble(source, seed, variants, questions, oracle, progress, jobs, scheduler)
    files: dict[str, str | bytes] = {
        name: make() for name, make in rendering(_documents(made, formats, mode, title, blueprint))}
    key = build_key(made, seed)
    for fmt in formats:
        if fmt in SUFFIXES:
            files |= export(key, fmt, title)
    files["key.json"] = dumps(key)
    return Exam(made, key, files, count, oracle.cache)
