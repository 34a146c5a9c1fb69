"""The `quizgen` command line: generate, list, inspect.

Every `QuizgenError` is printed as one message (no traceback) and exits with status 1.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from quizgen import __version__
from quizgen.cache import CACHE_ENV
from quizgen.errors import QuizgenError

DEFAULT_OUT = Path("build")


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _progress(label: str, **options: Any) -> Callable[[Iterable], Iterator]:
    """A wrapper of an iterable that shows a progress bar labelled `label` on stderr while it
    is consumed (`options` go to `click.progressbar`)."""

    def wrap(items: Iterable) -> Iterator:
        with click.progressbar(items, label=label, file=sys.stderr, **options) as bar:
            yield from bar

    return wrap


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """quizgen's cache warnings as one line `warning: …` on stderr; others as Python shows them."""
    from quizgen.cache import CacheWarning

    if issubclass(category, CacheWarning):
        click.secho(f"warning: {message}", fg="yellow", err=True)
    else:
        _PYTHON_SHOWWARNING(message, category, filename, lineno, file, line)


_PYTHON_SHOWWARNING = warnings.showwarning
warnings.showwarning = _show_warning


class QuizgenGroup(click.Group):
    """A click group that prints quizgen's errors cleanly and exits non-zero."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except QuizgenError as error:
            click.secho(f"error: {error}", fg="red", err=True)
            sys.exit(1)


@click.group(cls=QuizgenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="quizgen")
def main() -> None:
    """Generate exams about neural networks whose every answer is computed by Keras.

    \b
    Typical use:
      quizgen generate --variants 30 --seed 7      # 30 unique variants + key.json in build/
      quizgen list                                 # the templates of the bundled bank
      quizgen inspect my_model.py                  # what model.summary() says, as data
    """


@main.command()
@click.option("--bank", type=click.Path(path_type=Path, file_okay=False),
              help="Folder of YAML question templates  [default: the bundled question bank]")
@click.option("--exam", "blueprint", metavar="EXAM.yaml", type=click.Path(path_type=Path, dir_okay=False),
              help="An exam blueprint: title, course, duration, instructions and slots (pool of "
              "templates, response form, points), filled in the same order in every variant. "
              "Example: question_bank/exams/cnn-midterm.yaml. Replaces --questions, --tags, "
              "--template, --topic, --difficulty and --title.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Exam seed: the same seed gives byte-identical outputs.")
@click.option("--variants", type=click.IntRange(min=1), default=1, show_default=True,
              help="Number of exam variants (e.g. one per student).")
@click.option("--questions", type=click.IntRange(min=1),
              help="Questions per variant  [default: 10, or every fact of the selection if it "
              "has fewer; with --model, every fact of your models; with --tags or --template, "
              "every question of every chosen template once, but at least 10 where templates "
              "draw their models (a fixed model's questions are asked once)]")
@click.option("--tags", help="Only templates carrying all these comma-separated tags "
              "(e.g. 'classic' for the seed questions; by default all but classic).")
@click.option("--template", "template_ids", help="Only these comma-separated template ids.")
@click.option("--topic", "topics", help="Only templates of these comma-separated topics "
              "(see `quizgen list`).")
@click.option("--difficulty", "difficulties", help="Only templates of these comma-separated "
              "difficulties (1 to 3).")
@click.option("--format", "formats",
              help="Comma-separated output formats: qmd, md, html, pdf (one file per variant; html is a "
              "standalone page: the interactive self-check page, or a plain page for handouts; "
              "pdf is typeset offline by Typst, and in exam mode every handout is also in "
              "OUT/print/handouts.pdf); gift, moodle, qti (LMS imports under OUT/lms/).  "
              "[default: qmd,md; with --mode "
              "exam: qmd,md,html]")
@click.option("--mode", type=click.Choice(["selfcheck", "exam"]), default="selfcheck",
              show_default=True,
              help="selfcheck: the variants with their answers in OUT/; exam: student handouts "
              "without any answer (name and student ID blanks, variant code) in OUT/handouts/, "
              "and the same with answers in OUT/solutions/.")
@click.option("--title", default="Neural networks quiz", show_default=True,
              help="Document title.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=DEFAULT_OUT,
              show_default=True, help="Output folder.")
@click.option("--jobs", type=click.IntRange(min=1), default=os.cpu_count() or 1,
              show_default="the machine's cores",
              help="Worker processes building models (each imports Keras once); 1 runs serially. "
              "The outputs do not depend on it.")
@click.option("--executor", type=click.Choice(["process", "dask"]), default="process",
              show_default=True,
              help="process: --jobs local worker processes; dask: the workers of the Dask "
              "scheduler at --scheduler (needs `pip install \"quizgen[dask]\"`). The outputs "
              "do not depend on it.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Address of the Dask scheduler for --executor dask, e.g. tcp://10.0.0.5:8786.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the persistent fact cache "
              f"(${CACHE_ENV}, default ~/.cache/quizgen).")
@click.option("--model", "models", metavar="FILE.py", multiple=True,
              type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Ask about your own model instead of the bank: a Python file that defines "
              "`model` (a keras.Sequential, or a functional model of one output and one or "
              "more inputs), as for `quizgen inspect`. The file is RUN as Python (it is your code) "
              "and shown verbatim as the "
              "question's code; layers are named as model.summary() prints them. Repeat for "
              "several files. Replaces --bank, --tags, --template, --topic and --difficulty.")
@click.option("--run-model-files", is_flag=True,
              help="Let the bank's templates take their model from a Python file "
              "(`model: {file: model.py}`), which is RUN as Python: only for a bank you trust "
              "(the bundled bank's files always run).")
def generate(bank: Path | None, blueprint: Path | None, seed: int, variants: int,
             questions: int | None, tags: str | None,
             template_ids: str | None, topics: str | None, difficulties: str | None,
             formats: str | None, mode: str, title: str, out: Path, jobs: int, executor: str,
             scheduler: str | None, no_cache: bool, models: tuple[Path, ...],
             run_model_files: bool) -> None:
    """Write exam variants (.qmd, .md, .html) and the answer key (key.json) to OUT.

    Without --exam, the selection (the bank, --topic, --difficulty) makes an implicit
    blueprint: slots in proportion to each topic's templates, each of one response form, the
    same in every variant, no fact asked twice. --template and --tags ask every question of
    the named templates instead, as the templates group them.

    In exam mode every variant is written twice: as a student handout without any answer
    (OUT/handouts/) and with its answers (OUT/solutions/).

    Every answer comes from Keras building the model of its question (shapes and parameter
    counts from its symbolic build; a forward pass where a value is asked: by-hand outputs,
    statement probes); `quizgen verify` executes every key's models on data. All files
    are rendered in memory first and then written as one set: the files of the previous run
    in OUT (listed in OUT/.quizgen-generate.json) are replaced or removed; a file quizgen did
    not write, or one changed since, is never touched (the run stops with a message).
    """
    if executor == "dask" and not scheduler:
        raise click.UsageError("--executor dask needs --scheduler ADDRESS "
                               "(e.g. --scheduler tcp://10.0.0.5:8786)")
    if executor != "dask" and scheduler:
        raise click.UsageError("--scheduler is only used with --executor dask")
    from quizgen.files import write_outputs
    from quizgen.generate import PRINT_FILE, Selection, generate_exam
    from quizgen.lms import SUFFIXES
    from quizgen.render import DEFAULT_FORMATS, FORMATS, LAYOUTS, PDF

    try:
        levels = tuple(int(level) for level in _split(difficulties))
    except ValueError:
        raise click.BadParameter("whole numbers from 1 to 3", param_hint="--difficulty") from None
    selection = Selection(bank, blueprint, tuple(_split(tags)), tuple(_split(template_ids)),
                          tuple(_split(topics)), levels, models, run_model_files)
    if blueprint is not None and (selection.narrowed or questions is not None or models):
        raise click.UsageError("--exam gives the questions: leave out --questions, --tags, "
                               "--template, --topic, --difficulty and --model")
    if models and (selection.narrowed or bank is not None):
        raise click.UsageError("--model asks about your files: leave out --bank, --tags, "
                               "--template, --topic and --difficulty")
    chosen = tuple(_split(formats)) if formats is not None else DEFAULT_FORMATS[mode]
    exam = generate_exam(selection, seed, variants, questions, chosen, mode, title,
                         cache=not no_cache, jobs=jobs, scheduler=scheduler,
                         progress=_progress("Building models", length=variants,
                                            show_pos=True)
                         if variants > 1 else iter,
                         rendering=_progress("Rendering documents", show_pos=True) if PDF in chosen
                         else iter)
    written = write_outputs(out, exam.files, "generate")
    count = len(exam.key["questions"])
    made = len(exam.variants)
    click.echo(f"Wrote {made} variant(s), {count} questions, from {exam.templates} "
               f"template(s) to {out}/:")
    for folder, handout in LAYOUTS[mode]:
        for fmt in (fmt for fmt in chosen if fmt in (*FORMATS, PDF)):
            what = ("no answers" if handout else "self-check pages" if fmt == "html"
                    else "with answers")
            click.echo(f"  {out}/{folder}variant-*.{fmt:<4}   {made} file(s), {what}")
    if PRINT_FILE in exam.files:
        click.echo(f"  {out}/{PRINT_FILE}   every handout, for one print job")
    for fmt in chosen:
        if fmt in SUFFIXES:
            click.echo(f"  {out}/lms/variant-*{SUFFIXES[fmt]}   {made} file(s)")
    click.echo(f"  {out}/key.json       answer key ({count} entries)")
    _report_removed(written.removed)
    where = (f"from {exam.cache.folder}" if exam.cache.folder
             else f"(off: {exam.cache.problem})" if exam.cache.problem else "(--no-cache)")
    click.echo(f"Fact cache: {exam.cache.stats.hits} entries read {where}, "
               f"{exam.cache.stats.misses} computed")


@main.command(name="list")
@click.option("--bank", type=click.Path(path_type=Path, file_okay=False),
              help="Folder of YAML question templates  [default: the bundled question bank]")
def list_templates(bank: Path | None) -> None:
    """List the question templates, one per line: id, difficulty, topic, tags, title."""
    from quizgen.bank import load_bank

    templates = load_bank(bank)
    width = max(len(template.id) for template in templates)
    for template in templates:
        tags = ",".join(template.tags)
        click.echo(f"{template.id:<{width}}  d{template.difficulty}  {template.topic:<20} "
                   f"{tags:<28} {template.title}")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def inspect(file: str, as_json: bool) -> None:
    """Show what model.summary() says about the `model` defined in FILE (a Python file).

    Rows: name, class_name, output_shape (None for the batch axis), params; then the total,
    trainable and non-trainable parameter counts, and the Keras version and backend.
    """
    from quizgen import oracle
    from quizgen.facts import format_answer

    facts = oracle.summary(oracle.load_user_model(file))
    if as_json:
        click.echo(json.dumps(facts, indent=2))
        return
    rows = [(f"{row['name']} ({row['class_name']})", _shape_text(row["output_shape"]),
             f"{row['params']:,}") for row in facts["layers"]]
    widths = [max(len(header), *(len(row[i]) for row in rows)) for i, header in
              enumerate(("Layer (type)", "Output Shape", "Param #"))]
    for row in [("Layer (type)", "Output Shape", "Param #"), *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    for field, label in (("total_params", "Total params"), ("trainable_params", "Trainable params"),
                         ("non_trainable_params", "Non-trainable params")):
        click.echo(f"{label}: {format_answer(facts[field])}")
    click.echo(f"Keras {facts['keras_version']} ({facts['backend']} backend)")


def _shape_text(shape: list | None) -> str:
    """`(None, 26, 26, 32)`; several outputs joined by commas; `?` for a layer never called."""
    from quizgen.facts import format_answer

    if shape is None:
        return "?"
    if shape and isinstance(shape[0], list):
        return ", ".join(_shape_text(part) for part in shape)
    return format_answer(tuple(shape))


@main.command(name="grade")
@click.option("--key", "key_file", metavar="KEY.json", required=True,
              type=click.Path(path_type=Path, dir_okay=False), help="The exam's answer key.")
@click.option("--responses", metavar="FILE.csv", required=True, multiple=True,
              type=click.Path(path_type=Path, dir_okay=False),
              help="The class's answers: quizgen's CSV (columns student_id, variant, q1…qN), or "
                   "an LMS report (see --from). Repeat it to grade several files (one report "
                   "per quiz) as one class.")
@click.option("--from", "source", type=click.Choice(["csv", "moodle", "canvas"]), default="csv",
              show_default=True,
              help="The responses file's layout: quizgen's CSV, Moodle's quiz Responses report "
                   "(downloaded with the question text) or Canvas' quiz Student Analysis report, "
                   "of a quiz imported from `quizgen generate --format moodle,gift,qti`.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=DEFAULT_OUT,
              show_default=True, help="Output folder.")
def grade_class(key_file: Path, responses: tuple[Path, ...], source: str, out: Path) -> None:
    """Grade a class's responses against KEY.json.

    Writes grades.csv (score and points per question of each student), report.md (with
    report-histogram.svg) and a self-contained report.html (class summary, score histogram,
    item analysis) to OUT. Rows that cannot be graded (malformed, or from an LMS a response
    that cannot be mapped to the key) are reported by CSV line number and skipped; the
    responses file is only read.
    """
    from quizgen.gradebook import grade_responses

    run = grade_responses(_load_key(key_file), responses, out, source)
    for row in run.skipped:
        click.secho(f"skipped {row.where}: {row.reason}", fg="yellow", err=True)
    skipped = f", skipped {len(run.skipped)} row(s)" if run.skipped else ""
    names = ", ".join(str(path) for path in responses)
    click.echo(f"Graded {len(run.students)} student(s) from {names}{skipped}; wrote:")
    for path in run.files:
        click.echo(f"  {path}")
    _report_removed(run.removed)


def _report_removed(removed: tuple[Path, ...]) -> None:
    """Say which files of the previous run in the output folder were removed."""
    if removed:
        names = ", ".join(path.name for path in removed[:5]) + (", …" if len(removed) > 5 else "")
        click.echo(f"Removed {len(removed)} file(s) of the previous run that this one does not "
                   f"write: {names}")


def _load_key(path: Path, entries: bool = True) -> dict:
    """Read and schema-check a key.json (with `entries` False only its envelope: `verify`
    checks each entry on its own); errors name the file (and field)."""
    from quizgen.key import validate, validate_envelope

    try:
        key = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise QuizgenError(f"{path}: cannot read: {error.strerror}") from error
    except json.JSONDecodeError as error:
        raise QuizgenError(f"{path}: not JSON: {error}") from error
    (validate if entries else validate_envelope)(key, str(path))
    return key


@main.command()
@click.argument("key_file", metavar="KEY.json", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--against", "old_file", metavar="OLD.json",
              type=click.Path(path_type=Path, dir_okay=False),
              help="An earlier key of the same exam: list the questions whose answer changed.")
@click.option("--model", "models", metavar="FILE.py", multiple=True,
              type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="An instructor's model file the key's questions show (generate --model): "
              "RUN as Python (your code) to check that it is the code shown and builds the "
              "key's model. Repeat for several files.")
def verify(key_file: Path, old_file: Path | None, models: tuple[Path, ...]) -> None:
    """Re-derive every answer of KEY.json with Keras and the closed forms.

    Rebuilds each recorded model (bypassing the fact cache), recomputes the asked fact, and
    checks the choices (one correct, equal to the answer; distractors distinct and wrong).
    Prints one line per failing entry and exits 1 if any; with --against, also prints the
    regrade list. The code of a question about an instructor's own model is that file: a key
    is never run, so it is checked only against the files given with --model.
    """
    from quizgen.bank import read_model_file
    from quizgen.verify import regrade, verify_key

    key = _load_key(key_file, entries=False)
    old = _load_key(old_file, entries=False) if old_file else None
    files = {path.name: read_model_file(path, "--model")[:2] for path in models}
    report = verify_key(key, _progress("Re-executing models"), files)
    for finding in report.findings:
        click.echo(f"FAIL {finding}")
    if report.unrun:
        click.echo(f"note: the code of some questions is an instructor's file "
                   f"({', '.join(report.unrun)}), not run (a key is untrusted); its model, as "
                   "the key records it, was verified; pass --model FILE.py to check the file")
    if report.drift:
        click.echo(f"note: key written with Keras {report.recorded_keras}; verified with "
                   f"Keras {report.installed_keras}")
    if old is not None:
        changed = regrade(key, old)
        click.echo(f"{len(changed)} question(s) changed since {old_file}:")
        for finding in changed:
            click.echo(f"  {finding}")
    failed = len({finding.id for finding in report.findings})
    click.echo(f"{report.checked - failed} of {report.checked} entries verified"
               + (f", {failed} failed" if failed else ""))
    if failed:
        sys.exit(1)


@main.command()
@click.argument("template_ids", nargs=-1, metavar="[TEMPLATE]...")
@click.option("--seeds", type=click.IntRange(min=1), default=50, show_default=True,
              help="Seeds per template.")
@click.option("--bank", type=click.Path(path_type=Path, file_okay=False),
              help="Folder of YAML question templates  [default: the bundled question bank]")
@click.option("--exam", "exam_path", type=click.Path(path_type=Path, dir_okay=False),
              help="An exam blueprint (YAML): make SEEDS variants of it and print, per slot, "
                   "the spread of the difficulty features over them.")
def stress(template_ids: tuple[str, ...], seeds: int, bank: Path | None,
           exam_path: Path | None) -> None:
    """Stress-test templates (all by default) over many seeds.

    For each seed: sample, execute with Keras, render, and verify the key entries (answer =
    Keras = closed form; choices distinct, exactly one right for the instance, each distractor
    the value its labelled mistake gives; no degenerate value; no text defect). Prints a table
    per template (failures, of which ambiguous items, label mismatches and text defects; pool
    size, duplicates, chi-square p-value of the correct option's position, time per variant)
    and exits 1 on any failure.

    With --exam, makes SEEDS variants of the exam instead and prints, per slot, its difficulty
    band and the lowest, median and highest value of each difficulty feature over the variants.
    """
    from quizgen.bank import load_bank, select
    from quizgen.stress import stress as run_stress
    from quizgen.stress import table

    templates = load_bank(bank)
    if exam_path is not None:
        _exam_spread(exam_path, templates, seeds)
        return
    chosen = select(templates, ids=list(template_ids)) if template_ids else templates

    results = run_stress(chosen, seeds, _progress("Stress-testing templates",
                                                  item_show_func=lambda t: t.id if t else ""))
    click.echo(table(results))
    failures = [f"{r.template}: {failure}" for r in results for failure in r.failures]
    for failure in failures:
        click.echo(f"FAIL {failure}")
    if failures:
        sys.exit(1)


def _exam_spread(exam_path: Path, templates: list, variants: int) -> None:
    """`quizgen stress --exam`: the per-slot spread of difficulty features over `variants`."""
    from quizgen.blueprint import load_blueprint
    from quizgen.stress import exam_spread, spread_table

    blueprint = load_blueprint(exam_path, templates)
    click.echo(spread_table(exam_spread(blueprint, variants,
                                        _progress("Making variants", length=variants))))
