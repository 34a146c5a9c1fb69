"""`quizgen generate --mode exam`: student handouts (OUT/handouts/) that hold no answer at all,
solutions (OUT/solutions/) that hold every answer, and the key at OUT/key.json."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pypandoc
import pytest

from quizgen import families
from quizgen.render import INSTRUCTIONS

from .conftest import run_cli

FORMATS = ("qmd", "md", "html")
TITLE = "Midterm: convolutional networks"


def generate(out: Path, *args: str) -> str:
    """Run `quizgen generate --mode exam` into `out`; return what it printed."""
    result = run_cli("generate", "--mode", "exam", "--title", TITLE, "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def exams(tmp_path_factory) -> list[Path]:
    """Three variants of the default bank and the classic questions, in exam mode."""
    made = [(tmp_path_factory.mktemp("exam"), ("--variants", "3", "--seed", "4")),
            (tmp_path_factory.mktemp("classic"), ("--tags", "classic"))]
    for out, args in made:
        printed = generate(out, *args)
        for folder in ("handouts", "solutions"):
            for fmt in FORMATS:
                assert f"{out}/{folder}/variant-*.{fmt:<4}" in printed
    return [out for out, _ in made]


def entries(out: Path) -> list[dict[str, Any]]:
    return json.loads((out / "key.json").read_text())["questions"]


def variants(out: Path) -> dict[int, list[dict[str, Any]]]:
    by_variant: dict[int, list[dict[str, Any]]] = {}
    for entry in entries(out):
        by_variant.setdefault(entry["variant"], []).append(entry)
    return by_variant


def document(out: Path, folder: str, variant: int, fmt: str) -> Path:
    width = len(str(max(variants(out))))
    return out / folder / f"variant-{variant:0{width}d}.{fmt}"


def readable(path: Path) -> str:
    """The text a reader sees: HTML without its tags and entities, Markdown as is."""
    text = path.read_text()
    return html.unescape(re.sub(r"<[^>]+>", "", text)) if path.suffix == ".html" else text


def fragments(entry: dict[str, Any]) -> list[str]:
    """Distinctive plain-text pieces of an entry's explanation (no math, code or markup), except
    those also printed with the question (e.g. a quoted option)."""
    printed = "\n".join([entry["stem"], entry["code"], entry["text"],
                         *(choice["text"] for choice in entry.get("choices", []))])
    pieces = re.split(r"\$[^$]*\$|`[^`]*`|\*\*|\n|\||[“”]", entry["explanation"])
    kept = [piece.strip(" .,:;*") for piece in pieces]
    return [piece for piece in kept if len(piece) >= 30 and piece not in printed]


def answers(page: str) -> dict[str, Any]:
    """The answers a self-check page embeds for its script."""
    blob = re.search(r'<script type="application/json" id="quizgen-answers">(.*?)</script>', page, re.S)
    return json.loads(blob[1])


def misconceptions(entry: dict[str, Any]) -> list[str]:
    return [families.describe(choice["misconception"])
            for choice in entry.get("choices", []) if choice["misconception"]]


def answer_lines(entry: dict[str, Any]) -> list[str]:
    """How the answer is printed in a solution (Markdown)."""
    numbers = ", ".join(str(n) for n, choice in enumerate(entry.get("choices", []), 1) if choice["correct"])
    if entry["kind"] == "multiple_choice":
        return [f"**{numbers or 'none'}**"]
    if entry["kind"] == "single_choice":
        separator = "\n\n" if "\n" in entry["answer_text"] else " — "
        return [f"**{numbers}**{separator}{entry['answer_text']}"]
    return [f"**{entry['answer_text']}**"]


def answer_near_the_word(entry: dict[str, Any], text: str) -> bool:
    """Whether `answer_text` follows the word "answer" on the same line (the instructions,
    which say how to answer, aside)."""
    for instruction in INSTRUCTIONS.values():
        text = text.replace(instruction, "")
    pattern = r"answer\b[^\n]{0,60}?" + re.escape(entry["answer_text"].splitlines()[0])
    return re.search(pattern, text, re.IGNORECASE) is not None


def stringify(inlines: list[dict[str, Any]]) -> str:
    """The text of pandoc inlines made of words and spaces."""
    return "".join(inline["c"] if inline["t"] == "Str" else " " for inline in inlines)


def test_layout_and_key(exams):
    for out in exams:
        numbers = sorted(variants(out))
        expected = {f"{folder}/{document(out, folder, n, fmt).name}"
                    for folder in ("handouts", "solutions") for n in numbers for fmt in FORMATS}
        written = {str(path.relative_to(out)) for path in out.rglob("*") if path.is_file()}
        assert written == expected | {"key.json", ".quizgen-generate.json"}


def test_handouts_hold_no_answer(exams):
    checked = 0
    for out in exams:
        for number, questions in variants(out).items():
            for fmt in FORMATS:
                raw = document(out, "handouts", number, fmt).read_text()
                text = readable(document(out, "handouts", number, fmt))
                for marker in ("<details", "callout", ":::", "quizgen-answers", "<script",
                               "Expand to see the answer", "Recommended reading", "Common mistakes"):
                    assert marker not in raw, (fmt, marker)
                for entry in questions:
                    assert fragments(entry), entry["id"]
                    for fragment in fragments(entry):
                        assert fragment not in text, (fmt, entry["id"], fragment)
                    for description in misconceptions(entry):
                        assert description not in text, (fmt, entry["id"], description)
                    for line in answer_lines(entry):
                        assert line not in raw, (fmt, entry["id"], line)
                    assert not answer_near_the_word(entry, text), (fmt, entry["id"])
                    checked += 1
    assert checked == len(FORMATS) * sum(len(entries(out)) for out in exams)


def test_solutions_hold_every_answer(exams):
    for out in exams:
        for number, questions in variants(out).items():
            for fmt in FORMATS:
                raw = document(out, "solutions", number, fmt).read_text()
                text = readable(document(out, "solutions", number, fmt))
                marker = {"qmd": ".callout-note", "md": "<details>", "html": "<details>"}[fmt]
                assert raw.count(marker) == len(questions)
                for entry in questions:
                    for fragment in fragments(entry):
                        assert fragment in text, (fmt, entry["id"], fragment)
                    if fmt == "html":  # the self-check page: feedback on every distractor
                        choices = answers(raw)[entry["id"]].get("choices", [])
                        feedback = [choice["feedback"] for choice in choices if choice["feedback"]]
                        assert feedback == misconceptions(entry)
                    else:
                        assert all(line in raw for line in answer_lines(entry)), (fmt, entry["id"])


def test_handouts_have_name_id_and_variant_code(exams):
    for out in exams:
        for number in variants(out):
            for fmt in FORMATS:
                text = readable(document(out, "handouts", number, fmt))
                assert re.search(r"Name:\**\s+_{20,}", text), fmt
                assert re.search(r"Student ID:\**\s+_{10,}", text), fmt
                assert re.search(rf"Variant:\**\s+{number}\b", text), fmt
                assert TITLE in text
                assert not re.search(r"Name:\**\s+_{20,}",
                                     readable(document(out, "solutions", number, fmt)))


def test_pandoc_reads_the_handouts(exams):
    for out in exams:
        for number, questions in variants(out).items():
            path = document(out, "handouts", number, "qmd")
            parsed = json.loads(pypandoc.convert_file(str(path), "json", format="markdown"))
            assert stringify(parsed["meta"]["title"]["c"]) == TITLE
            assert stringify(parsed["meta"]["subtitle"]["c"]) == f"Variant {number}"
            assert [block for block in parsed["blocks"] if block["t"] == "Div"] == []
            headers = [block for block in parsed["blocks"] if block["t"] == "Header"]
            assert len(headers) >= len({entry["stem"] + entry["code"] for entry in questions})
            plain = pypandoc.convert_file(str(path), "plain", format="markdown")
            assert "Student ID:" in plain and f"Variant: {number}" in plain


def test_exam_mode_is_byte_identical_and_honours_formats(tmp_path, exams):
    again = tmp_path / "again"
    generate(again, "--variants", "3", "--seed", "4")
    for path in exams[0].rglob("*"):
        if path.is_file():
            assert (again / path.relative_to(exams[0])).read_bytes() == path.read_bytes(), path
    only_md = tmp_path / "md"
    generate(only_md, "--variants", "2", "--seed", "4", "--format", "md,html")
    names = sorted(str(path.relative_to(only_md)) for path in only_md.rglob("*") if path.is_file())
    assert names == [".quizgen-generate.json", "handouts/variant-1.html", "handouts/variant-1.md",
                     "handouts/variant-2.html",
                     "handouts/variant-2.md", "key.json", "solutions/variant-1.html",
                     "solutions/variant-1.md", "solutions/variant-2.html", "solutions/variant-2.md"]
    handout = "handouts/variant-1.md"
    assert (only_md / handout).read_bytes() == (exams[0] / handout).read_bytes()
