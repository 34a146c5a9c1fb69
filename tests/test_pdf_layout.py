"""The layout of the printable PDFs (`--format pdf`, `quizgen.render.typeset`): a question stays
on one page (a page break falls only before a question) unless it is longer than a page, and a
group of questions on one model too, else it breaks between its questions; a code line too long
for the page wraps with its continuation indented deeper than the line, the bank's code lines
fit; and the blank pages of the print file say so."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pypdf
import pytest
import yaml

from quizgen.render import typeset
from quizgen.resources import data_dir

from .conftest import run_cli

MIDTERM = data_dir("question_bank") / "exams" / "cnn-midterm.yaml"
#: The midterm's slots whose questions are shorter than a page, with their answers too (the
#: "which code implements this architecture?" question lists four models: a page and more).
SHORT_SLOTS = ("dense-params", "conv-output", "conv-params", "pooling", "weights", "by-hand",
               "formula", "model-size")
VARIANTS = 3
BLANK = "This page is intentionally left blank."


@pytest.fixture(scope="module")
def exam(tmp_path_factory) -> Path:
    """The midterm's short slots in 3 variants, in exam mode, as PDF."""
    out = tmp_path_factory.mktemp("pdf-layout")
    blueprint = yaml.safe_load(MIDTERM.read_text())
    blueprint["slots"] = [slot for slot in blueprint["slots"] if slot["name"] in SHORT_SLOTS]
    (out / "exam.yaml").write_text(yaml.safe_dump(blueprint))
    result = run_cli("generate", "--exam", str(out / "exam.yaml"), "--variants", str(VARIANTS),
                     "--seed", "11", "--mode", "exam", "--format", "pdf", "--out", str(out / "pdf"))
    assert result.exit_code == 0, result.output
    return out / "pdf"


def page_texts(pdf: Path | bytes) -> list[str]:
    """The text of each page, as pypdf extracts it."""
    source = io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf
    return [page.extract_text() for page in pypdf.PdfReader(source).pages]


def content(text: str) -> str:
    """A page's text without its page number (the last line, or the first on a blank page)."""
    return re.sub(r"^\d+\n|\n?\d+$", "", text.strip())


def options(count: int, name: str = "option") -> str:
    """`count` numbered options, `name 1` to `name {count}`."""
    return "\n".join(f"{n}. {name} {n}" for n in range(1, count + 1)) + "\n"


def group(options_each: int) -> str:
    """A group of two questions on one model, as `exam.j2` writes it."""
    code = "\n".join(f"    layers.Dense({n})," for n in range(12))
    return (f"## Questions 2–3\n\nConsider the model:\n\n```python\nmodel = keras.Sequential([\n"
            f"{code}\n])\n```\n\n### Question 2\n\nHow many?\n\n{options(options_each, 'two')}\n"
            f"### Question 3\n\nHow many?\n\n{options(options_each, 'three')}")


def test_a_page_break_falls_only_before_a_question(exam):
    files = sorted(exam.glob("*/variant-*.pdf")) + [exam / "print" / "handouts.pdf"]
    assert len(files) == 2 * VARIANTS + 1
    for path in files:
        pages = [content(text) for text in page_texts(path)]
        starts = [index for index, text in enumerate(pages) if text.startswith("Midterm")]
        assert len(starts) == (VARIANTS if path.parent.name == "print" else 1), path
        for index, text in enumerate(pages):
            if index not in starts and text != BLANK:
                assert re.match(r"Question \d+ \(\d+ points\)\n", text), (path, index + 1, text)
        # ...and every question is there once per variant
        headings = re.findall(r"^Question (\d+) \(", "\n".join(pages), re.MULTILINE)
        assert headings == [str(n) for n in range(1, len(SHORT_SLOTS) + 1)] * len(starts), path


def test_blank_pages_of_the_print_file_say_so_and_no_other_page_does(exam):
    handouts = [page_texts(exam / "handouts" / f"variant-{n}.pdf") for n in range(1, VARIANTS + 1)]
    odd = sum(len(pages) % 2 for pages in handouts[:-1])  # each is followed by a blank page
    assert odd, "the fixture should have a variant of an odd number of pages, not the last"
    pages = page_texts(exam / "print" / "handouts.pdf")
    assert len(pages) == sum(len(variant) for variant in handouts) + odd
    blank = [index for index, text in enumerate(pages) if BLANK in text]
    assert len(blank) == odd
    for index in blank:
        assert content(pages[index]) == BLANK
        assert index % 2 == 1 and "Name:" in pages[index + 1]  # before a variant's first page
    assert not any(BLANK in text for variant in handouts for text in variant)
    assert all(content(text) for index, text in enumerate(pages) if index not in blank)


def code_lines(pdf: bytes) -> list[tuple[int, str]]:
    """Each visual line of code (monospace text) on the first page, top to bottom: its first
    column, counted in characters from the code's left edge (where the code's first line,
    `model = ...`, starts), and its text without spaces."""
    runs: list[tuple[float, float, str]] = []  # (y, x, text)

    def visit(text, cm, tm, font, size):
        if text.strip() and font and "Mono" in font["/BaseFont"]:
            runs.append((round(cm[5], 1), cm[4], text.strip()))

    pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    (_, left, first), (_, equals, _) = runs[:2]
    assert first == "model", runs[:2]
    width = (equals - left) / len("model ")
    lines: dict[float, list[tuple[float, str]]] = {}
    for y, x, text in runs:
        lines.setdefault(y, []).append((x, text))
    return [(round((min(lines[y])[0] - left) / width), "".join(t for _, t in sorted(lines[y])))
            for y in sorted(lines, reverse=True)]


def test_a_long_code_line_wraps_with_its_continuation_indented():
    long = "    layers.Conv2D(" + ", ".join(f"arg{i}={i}" for i in range(30)) + "),"
    pdf = typeset([f"# Title\n\n```python\nmodel = keras.Sequential([\n{long}\n"
                   "    layers.Dense(10),\n])\n```\n"])
    lines = code_lines(pdf)
    columns = [column for column, _ in lines]
    assert columns[:2] == [0, 4] and columns[-2:] == [4, 0], lines
    # the long line on several lines, each continuation 4 columns deeper than the line
    assert len(columns) >= 6 and set(columns[2:-2]) == {8}, lines
    assert "".join(text for _, text in lines[1:-2]) == long.replace(" ", "")
    assert lines[-2][1] == "layers.Dense(10),"


def test_code_lines_of_100_characters_fit_in_an_option_too():
    line = ('model.add(layers.Conv2D(16, kernel_size=(3, 3), strides=(2, 2), padding="valid", '
            'activation="relu"))')  # one of the bank's longest
    assert len(line) == 100
    pdf = typeset([f"# Title\n\n1. one\n2. ```python\n   model = keras.Sequential()\n   {line}\n"
                   "   ```\n"])
    assert code_lines(pdf) == [(0, "model=keras.Sequential()"), (0, line.replace(" ", ""))]


def test_a_question_longer_than_a_page_breaks_and_loses_nothing():
    pages = page_texts(typeset([f"# Title\n\n## Question 1 (1 point)\n\nWhich?\n\n{options(120)}"]))
    assert len(pages) >= 3
    text = "\n".join(pages)
    assert all(f"option {n}\n" in text for n in range(1, 121))
    assert pages[0].startswith("Title\nQuestion 1 (1 point)\nWhich?\n1. option 1\n")


def test_a_group_of_questions_moves_to_the_next_page_whole():
    pages = page_texts(typeset([f"# Title\n\n## Question 1\n\nWhich?\n\n{options(28)}\n{group(4)}"]))
    assert len(pages) == 2 and "Question 1\n" in pages[0] and "option 28" in pages[0]
    assert pages[1].startswith("Questions 2–3\n") and "three 4" in pages[1]


def test_a_group_longer_than_a_page_breaks_only_between_its_questions():
    pages = page_texts(typeset([f"# Title\n\n## Question 1\n\nWhich?\n\n{options(6)}\n{group(24)}"]))
    assert len(pages) == 2
    # the group's stem and code stay with its first question
    assert "Questions 2–3\n" in pages[0] and "two 24" in pages[0] and "Question 3" not in pages[0]
    assert pages[1].startswith("Question 3\n") and "three 24" in pages[1]
