"""Bank texts and the exam title are untrusted in HTML: raw HTML in a template's `stem`, `text`
or in `--title` is shown as text on the self-check page and in the handouts, never run (issue
reproduction 3). Checked by parsing the pages and by opening one in Chromium."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from playwright.sync_api import sync_playwright

from .conftest import run_cli
from .test_selfcheck import CHROMIUM, CHROMIUM_ARGS

SCRIPT = "<script>document.title = 'pwned'</script>"
IMAGE = "<img src=x onerror=\"document.title = 'pwned'\">"
TITLE = "Quiz <b onmouseover=alert(1)>bold</b>"

TEMPLATE = """\
title: Parameters
topic: dense
difficulty: 1
stem: {stem}
model:
  input_shape: [4]
  layers:
    - {{class_name: Dense, config: {{units: 2}}}}
asks:
  - fact: total_params
    text: {text}
"""


class Elements(HTMLParser):
    """Every start tag of a page and its attribute names."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, [name for name, _ in attrs]))


def elements(page: str) -> list[tuple[str, list[str]]]:
    parser = Elements()
    parser.feed(page)
    return parser.tags


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, str]:
    """The pages of a one-template bank whose stem and question text hold HTML payloads, in both
    modes: {path relative to the output folder: HTML}."""
    tmp = tmp_path_factory.mktemp("escaping")
    bank = tmp / "bank"
    bank.mkdir()
    stem = json.dumps(f"Consider {IMAGE} this model:")
    text = json.dumps(f"How many parameters `a<b` does it have? {SCRIPT} $x < y$")
    (bank / "hostile.yaml").write_text(TEMPLATE.format(stem=stem, text=text))
    written = {}
    for mode in ("selfcheck", "exam"):
        out = tmp / mode
        result = run_cli("generate", "--bank", str(bank), "--variants", "1", "--seed", "1",
                         "--format", "html,md", "--mode", mode, "--title", TITLE, "--out", str(out))
        assert result.exit_code == 0, result.output
        written |= {f"{mode}/{path.relative_to(out)}": path.read_text()
                    for path in out.rglob("*.html")}
    assert len(written) == 3, sorted(written)  # the self-check page, a handout, a solution page
    return written


def test_payloads_are_text_not_elements(pages):
    for name, page in pages.items():
        tags = elements(page)
        assert [tag for tag, _ in tags].count("script") == (0 if "handouts" in name else 2), name
        assert not [tag for tag, _ in tags if tag in ("img", "b")], name
        assert not [(tag, attrs) for tag, attrs in tags for attr in attrs if attr.startswith("on")], name
        # ...and they are shown to the student as written
        for payload in (SCRIPT, IMAGE, TITLE):
            escaped = payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            quoted = (escaped.replace('"', "&quot;"), escaped.replace('"', "&#34;"))
            assert any(form in page for form in quoted), (name, payload)


def test_code_spans_and_math_keep_their_characters(pages):
    page = pages["selfcheck/variant-1.html"]
    assert "<code>a&lt;b</code>" in page  # not a double-escaped &amp;lt;
    assert "<mo>&#x0003C;</mo>" in page  # $x < y$ as MathML


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_nothing_runs_in_chromium(pages, tmp_path):
    for name, page in pages.items():
        path = tmp_path / name.replace("/", "-")
        path.write_text(page)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            opened = browser.new_page()
            dialogs: list[str] = []

            def dismiss(dialog, seen=dialogs):
                seen.append(dialog.message)
                dialog.dismiss()

            opened.on("dialog", dismiss)
            opened.goto(path.as_uri())
            opened.wait_for_timeout(200)
            assert opened.title().startswith("Quiz <b onmouseover=alert(1)>bold</b>"), name
            assert opened.locator("img").count() == 0
            assert SCRIPT in opened.locator("main").inner_text(), name
            browser.close()
        assert dialogs == []
