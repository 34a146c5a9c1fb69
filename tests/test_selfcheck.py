"""The HTML self-check page (`quizgen generate --format html`) in a real headless Chromium: every
question judges right and wrong responses as quizgen.grade does, names the misconception of a
chosen distractor, opens its worked answer and counts into the score summary; the page makes no
request but its own file:// URL and raises no JavaScript error."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, sync_playwright

from quizgen import families, grade
from quizgen.key import KeyEntry
from quizgen.render import check_data

from .conftest import run_cli

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's Chromium at /usr/bin/chromium "
                                       "(apt-get install chromium)")

#: A response: the chosen option numbers for choice kinds, else the text typed.
Response = list[int] | str


@dataclass
class Exam:
    """A generated exam: its key entries and self-check pages (variant → path)."""

    entries: list[dict[str, Any]]
    pages: dict[int, Path]

    def of(self, variant: int) -> list[dict[str, Any]]:
        return [entry for entry in self.entries if entry["variant"] == variant]


def generate(out: Path, *args: str) -> Exam:
    result = run_cli("generate", "--format", "md,html", "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    entries = json.loads((out / "key.json").read_text())["questions"]
    variants = sorted({entry["variant"] for entry in entries})
    width = len(str(variants[-1]))
    pages = {n: out / f"variant-{n:0{width}d}.html" for n in variants}
    assert sorted(out.glob("variant-*.html")) == sorted(pages.values())
    return Exam(entries, pages)


@pytest.fixture(scope="module")
def exams(tmp_path_factory) -> list[Exam]:
    """Three variants of the default bank and the classic questions: self-check pages and the
    Markdown they are made from."""
    made = [generate(tmp_path_factory.mktemp("selfcheck"), "--variants", "3", "--seed", "5"),
            generate(tmp_path_factory.mktemp("classic"), "--tags", "classic")]
    kinds = Counter(entry["kind"] for exam in made for entry in exam.entries)
    assert {"single_choice", "numeric", "shape", "matrix"} <= set(kinds), kinds
    return made


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Visit:
    """An opened page and what it did: every request URL and every JavaScript error."""

    page: Page
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def section(self, entry: dict[str, Any]) -> Locator:
        return self.page.locator(f'section.question[data-id="{entry["id"]}"]')

    def close(self) -> None:
        """Close the page, asserting it made no request but its own file and raised no error."""
        self.page.close()
        assert self.requests and all(url.startswith("file://") for url in self.requests), self.requests
        assert self.errors == []


def visit(browser: Browser, path: Path) -> Visit:
    page = browser.new_page()
    opened = Visit(page)
    page.on("request", lambda request: opened.requests.append(request.url))
    page.on("pageerror", lambda error: opened.errors.append(f"pageerror: {error}"))
    page.on("console", lambda message: opened.errors.append(f"console: {message.text}")
            if message.type == "error" else None)
    page.goto(path.as_uri())
    return opened


def respond(section: Locator, entry: dict[str, Any], response: Response) -> str | None:
    """Give `response` to the question, click check, return the verdict's data-correct."""
    if isinstance(response, str):
        section.locator("input.answer").fill(response)
    else:
        options = section.locator(f'input[name="{entry["id"]}"]')
        assert options.count() == len(entry["choices"])
        for number in range(1, len(entry["choices"]) + 1):
            if number in response:
                options.nth(number - 1).check()
            elif entry["kind"] == "multiple_choice":
                options.nth(number - 1).uncheck()
    section.locator("button.check").click()
    return section.locator(".feedback").get_attribute("data-correct")


def python_score(entry: dict[str, Any], response: Response) -> float | None:
    """quizgen.grade's score of the response; None if rejected."""
    if isinstance(response, list):
        text = ",".join(str(number) for number in response)
        response = text or ("none" if entry["kind"] == "multiple_choice" else "")
    try:
        return grade.score(KeyEntry.from_json(entry), response)
    except grade.ResponseError:
        return None


def python_verdict(entry: dict[str, Any], response: Response) -> str | None:
    points = python_score(entry, response)
    return None if points is None else str(points == 1).lower()


def correct_options(entry: dict[str, Any]) -> list[int]:
    return [number for number, choice in enumerate(entry["choices"], 1) if choice["correct"]]


def right_responses(entry: dict[str, Any]) -> list[Response]:
    """Spellings of the right answer that must be judged right."""
    kind, answer = entry["kind"], entry["answer"]
    if "choices" in entry:
        return [correct_options(entry)]
    if kind == "numeric":
        return [f"{answer:,}", str(answer), f" {answer} ", f"{answer:_}", f"{answer}.0"]
    if kind == "matrix":
        nudged = [[value + 1e-7 for value in row] for row in answer]
        return [json.dumps(answer), json.dumps(answer, separators=(",", ":")), json.dumps(nudged)]
    sizes = ["None" if size is None else str(size) for size in answer]
    spellings = [entry["answer_text"], f"[{', '.join(sizes)}]", ",".join(sizes), "x".join(sizes)]
    if answer[0] is None:
        rest = sizes[1:]
        spellings += ["x".join(rest), " × ".join(rest), f"({', '.join(rest)})", f"[{', '.join(rest)}]",
                      f"(null, {', '.join(rest)})", " X ".join(rest), "*".join(rest)]
    return spellings


def wrong_responses(entry: dict[str, Any]) -> list[Response]:
    """Readable responses that must be judged wrong."""
    kind, answer = entry["kind"], entry["answer"]
    if "choices" in entry:
        wrong = [number for number, choice in enumerate(entry["choices"], 1) if not choice["correct"]]
        return [[number] for number in wrong]
    if kind == "numeric":
        return [f"{answer + 1:,}", str(answer * 10 + 1)]
    if kind == "matrix":
        changed = [row[:] for row in answer]
        changed[0][0] += 1
        transposed = [list(column) for column in zip(*answer, strict=True)]
        return [json.dumps(changed), json.dumps(transposed + [[0] * len(answer)]),
                json.dumps(answer + answer[:1])]
    changed = [*answer[:-1], answer[-1] + 1]
    return [json.dumps(changed).replace("null", "None"), "x".join(str(s) for s in changed if s is not None)]


def unreadable_responses(entry: dict[str, Any]) -> list[Response]:
    """Responses that must be rejected (no verdict) rather than graded."""
    kind = entry["kind"]
    if kind == "single_choice":
        return [[]]
    if kind == "numeric":
        return ["", "twelve", "12 units"]
    if kind == "shape":
        return ["", "()", "(13, thirteen)", "13,,13"]
    if kind == "matrix":
        return ["", "[[1, 2], [3]]", "[1, 2]", '[["a"]]', "[[1, 2]"]
    return []


def every_page(exams: list[Exam]):
    for exam in exams:
        for variant, path in exam.pages.items():
            yield exam, variant, path


def test_pages_are_standalone_with_mathml(exams):
    for exam, variant, path in every_page(exams):
        page = path.read_text()
        assert "<link" not in page and " src=" not in page and "@import" not in page
        assert "url(" not in page
        ids = re.findall(r'<section class="question" data-id="([^"]+)">', page)
        assert ids == [entry["id"] for entry in exam.of(variant)]
        blob = re.search(r'<script type="application/json" id="quizgen-answers">(.*?)</script>', page, re.S)
        assert json.loads(blob[1]) == {entry["id"]: check_data(KeyEntry.from_json(entry))
                                       for entry in exam.of(variant)}
        shown = page.replace(blob[0], "")
        formulas = len(re.findall(r"\$[^$\n]+\$", path.with_suffix(".md").read_text()))
        assert formulas > 0 and shown.count("<math ") == formulas
        assert not re.search(r"\\(left|right|frac|cdot|max|lfloor|lceil)\b", shown)
    classic = exams[1].pages[1].read_text()
    for symbol in ("&#x0230A;", "&#x0230B;", "&#x02308;", "&#x02309;", "&#x000B7;", "<mo>max</mo>",
                   "<mfrac>"):
        assert symbol in classic, symbol


def test_right_answers_are_judged_right_and_open_the_explanation(exams, browser):
    for exam, variant, path in every_page(exams):
        opened = visit(browser, path)
        for entry in exam.of(variant):
            section = opened.section(entry)
            details = section.locator("details")
            assert details.evaluate("element => element.open") is False
            for response in right_responses(entry):
                assert python_verdict(entry, response) == "true", (entry["id"], response)
                assert respond(section, entry, response) == "true", (entry["id"], response)
                assert details.evaluate("element => element.open") is True
                details.evaluate("element => { element.open = false; }")
            feedback = section.locator(".feedback").inner_text()
            assert feedback.startswith("Correct.") and "Common mistake" not in feedback
        opened.close()


def test_wrong_answers_are_judged_wrong_and_name_the_misconception(exams, browser):
    for exam, variant, path in every_page(exams):
        opened = visit(browser, path)
        for entry in exam.of(variant):
            section = opened.section(entry)
            for response in wrong_responses(entry):
                assert python_verdict(entry, response) == "false", (entry["id"], response)
                assert respond(section, entry, response) == "false", (entry["id"], response)
                assert section.locator("details").evaluate("element => element.open") is True
                named = section.locator(".feedback .misconception")
                if "choices" not in entry:
                    assert named.count() == 0
                    continue
                label = entry["choices"][response[0] - 1]["misconception"]
                assert named.count() == 1 and named.get_attribute("data-misconception") == label
                assert families.describe(label) in named.inner_text()
                assert label not in named.inner_text()  # the internal id is never shown
                assert f"(option {response[0]})" in named.inner_text()
        opened.close()


def test_unreadable_responses_are_rejected_not_graded(exams, browser):
    for exam, variant, path in every_page(exams):
        opened = visit(browser, path)
        for entry in exam.of(variant):
            section = opened.section(entry)
            for response in unreadable_responses(entry):
                assert python_verdict(entry, response) is None, (entry["id"], response)
                assert respond(section, entry, response) is None, (entry["id"], response)
                feedback = section.locator(".feedback")
                assert "invalid" in feedback.get_attribute("class") and feedback.inner_text()
                assert section.locator("details").evaluate("element => element.open") is False
        assert opened.page.locator(".score").get_attribute("data-checked") == "0"
        opened.close()


def test_multiple_choice_partial_credit_matches_grade(exams, browser):
    pages = [(exam, variant, path) for exam, variant, path in every_page(exams)
             if any(entry["kind"] == "multiple_choice" for entry in exam.of(variant))]
    if not pages:
        pytest.skip("no multiple_choice question in the generated exams")
    for exam, variant, path in pages:
        opened = visit(browser, path)
        summary = opened.page.locator(".score")
        last: dict[str, float] = {}
        for entry in (entry for entry in exam.of(variant) if entry["kind"] == "multiple_choice"):
            section = opened.section(entry)
            count = len(entry["choices"])
            correct = correct_options(entry)
            wrong = [number for number in range(1, count + 1) if number not in correct]
            for response in ([], correct[:1], correct + wrong[:1], list(range(1, count + 1)), correct):
                last[entry["id"]] = python_score(entry, response)
                assert respond(section, entry, response) == str(last[entry["id"]] == 1).lower()
                assert float(summary.get_attribute("data-score")) == pytest.approx(sum(last.values()),
                                                                                   abs=0.01)
            section.locator("button.check").click()  # the same response again counts once
            assert summary.get_attribute("data-checked") == str(len(last))
            assert float(summary.get_attribute("data-score")) == pytest.approx(sum(last.values()), abs=0.01)
        opened.close()


def test_score_summary_counts_the_last_check_of_each_question(exams, browser):
    for exam, variant, path in every_page(exams):
        opened = visit(browser, path)
        summary = opened.page.locator(".score")
        entries = exam.of(variant)
        total, expected = len(entries), 0.0
        assert summary.inner_text() == f"Score: 0 of {total} (0 of {total} questions checked)"
        for checked, entry in enumerate(entries, 1):
            section = opened.section(entry)
            respond(section, entry, right_responses(entry)[0])
            final = right_responses(entry)[0] if checked % 3 else wrong_responses(entry)[0]
            respond(section, entry, final)
            expected += python_score(entry, final)
            score = f"{expected:g}"
            assert summary.get_attribute("data-score") == score
            assert summary.get_attribute("data-checked") == str(checked)
            assert summary.inner_text() == (f"Score: {score} of {total} "
                                            f"({checked} of {total} questions checked)")
        assert 0 < expected < total
        opened.close()

