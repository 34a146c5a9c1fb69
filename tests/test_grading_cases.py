"""One table of grading cases, tests/grading_cases.json, for the two graders that must agree:
`quizgen.grade.score`, which grades a class's CSV, and the self-check page's JavaScript judge
(templates/_selfcheck.js, run in Debian's Chromium on a generated page, its own script run again
with its judge handed out as `window.quizgenJudge`).

Each case holds a key-entry-like `entry` (the fields the graders read: kind, answer, tolerance,
choices with their correct flags), the `response` as a student types it (a CSV cell, or the page's
text box), for choice kinds the options `clicked` on the page for the same answer (null when it
cannot be given there, such as an option number that is not on the page), and the score a
careful instructor expects (`expected`: 0 to 1, or "rejected" for an unreadable response; `why`
says why when it is not obvious). A failure names the grader that disagrees with the table and
what the other one says.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from quizgen import grade
from quizgen.key import KeyEntry
from quizgen.render import check_data

from .conftest import key_entry, run_cli

CASES: list[dict[str, Any]] = json.loads(Path(__file__).with_name("grading_cases.json").read_text("utf-8"))
REJECTED = "rejected"
CHOICE_KINDS = {"single_choice", "multiple_choice"}
#: The cases the page can be given: every typed one, and the choice ones that can be clicked.
PAGE_CASES = [case for case in CASES
              if case["entry"]["kind"] not in CHOICE_KINDS or case["clicked"] is not None]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

#: Runs one case through the page's judge. A typed response goes through a text box as the
#: page's `input.answer` (its value is what the page's script reads); a clicked one is the list of
#: the option numbers checked, as the page's script collects them. Returns the score, "rejected"
#: for a ResponseError, or "crash: ..." for any other error.
JUDGE = """([entry, given, typed]) => {
  const judge = window.quizgenJudge;
  let response = given;
  if (typed) {
    const box = document.createElement("input");
    box.type = "text";
    box.value = given;
    response = box.value;
  }
  try {
    return judge.score(entry, response);
  } catch (error) {
    return error instanceof judge.ResponseError ? "rejected" : `crash: ${error}`;
  }
}"""


#: The page's own checking script (the one that defines `ResponseError`).
PAGE_SCRIPT = "[...document.scripts].map(s => s.textContent).find(t => t.includes('ResponseError'))"


def exposed(script: str) -> str:
    """The page's script, which keeps its judge inside one function, with the judge handed out
    as `window.quizgenJudge` at the end of that function."""
    end = script.rindex("})();")
    return script[:end] + "window.quizgenJudge = Object.freeze({ score, ResponseError });\n" + script[end:]


def entry_of(case: dict[str, Any]) -> KeyEntry:
    """The case's entry as the graders take it: a KeyEntry read from its key.json fields (the
    fields no grader reads are placeholders)."""
    return key_entry(copy.deepcopy(case["entry"]))


def case_id(case: dict[str, Any]) -> str:
    return case["name"]


def agrees(got: float | str, expected: float | str) -> bool:
    if isinstance(expected, str) or isinstance(got, str):
        return got == expected
    return got == pytest.approx(expected, abs=1e-9)


def python_result(case: dict[str, Any]) -> float | str:
    """quizgen.grade.score of the case's response: the score, "rejected", or "crash: ..."."""
    try:
        return grade.score(entry_of(case), case["response"])
    except grade.ResponseError:
        return REJECTED
    except Exception as error:  # a crash is reported as what the grader did, not as a test error
        return f"crash: {type(error).__name__}: {error}"


def describe(case: dict[str, Any], grader: str, got: float | str, other: str) -> str:
    why = f" ({case['why']})" if "why" in case else ""
    return (f"{grader} disagrees with the table on case {case['name']!r}: it gives {got!r}, "
            f"expected {case['expected']!r}{why}; {other}")


def test_the_table_is_well_formed_and_covers_every_kind():
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names)), "case names must be unique (they are the test ids)"
    assert {case["entry"]["kind"] for case in CASES} == CHOICE_KINDS | {"numeric", "shape", "matrix"}
    for case in CASES:
        entry, expected = case["entry"], case["expected"]
        assert expected == REJECTED or (isinstance(expected, int | float) and 0 <= expected <= 1), case
        assert isinstance(case["response"], str), case
        if entry["kind"] in CHOICE_KINDS:
            assert "clicked" in case and "tolerance" not in entry, case
            assert case["clicked"] is None or case["clicked"] == sorted(set(case["clicked"])), case
        else:
            assert "clicked" not in case and "choices" not in entry, case
            # As in key.json, whose schema requires a numeric entry's tolerance; a matrix entry
            # may have none (key.json writes none), and then each grader's default is tested.
            assert entry["kind"] != "numeric" or "tolerance" in entry, case
    responses = {(case["entry"]["kind"], case["response"]) for case in CASES}
    for needed in [("numeric", "34,826"), ("numeric", "34 826"), ("numeric", "twelve"),
                   ("shape", "(None, 13, 13, 32)"), ("shape", "13x13x32"), ("shape", "[13, 13, 32]"),
                   ("shape", "13 × 13 × 32"), ("shape", "(32,)"), ("shape", "(32)"),
                   ("matrix", "[[2, 2, 3], [1, 2, 1]]"), ("multiple_choice", "none")]:
        assert needed in responses, needed
    assert any(0 < case["expected"] < 1 for case in CASES if case["entry"]["kind"] == "multiple_choice")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_python_grader(case):
    got = python_result(case)
    assert agrees(got, case["expected"]), describe(case, "quizgen.grade.score", got,
                                                   "see test_page_grader for the page's judge")


@pytest.fixture(scope="module")
def judge_page(tmp_path_factory):
    """A generated self-check page, opened in Chromium; asserts at the end that it raised no
    JavaScript error."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    out = tmp_path_factory.mktemp("judge")
    result = run_cli("generate", "--format", "html", "--variants", "1", "--questions", "1", "--seed", "1",
                     "--out", str(out))
    assert result.exit_code == 0, result.output
    (path,) = out.glob("variant-*.html")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(path.as_uri())
        page.add_script_tag(content=exposed(page.evaluate(PAGE_SCRIPT)))
        assert page.evaluate("typeof window.quizgenJudge?.score") == "function"
        yield page
        browser.close()
    assert errors == []


@pytest.mark.parametrize("case", PAGE_CASES, ids=case_id)
def test_page_grader(case, judge_page):
    typed = case["entry"]["kind"] not in CHOICE_KINDS
    given = case["response"] if typed else case["clicked"]
    got = judge_page.evaluate(JUDGE, [check_data(entry_of(case)), given, typed])
    assert agrees(got, case["expected"]), describe(
        case, "the page's JavaScript judge (templates/_selfcheck.js)", got,
        f"given {given!r}; quizgen.grade.score gives {python_result(case)!r}")
