"""Template texts are untrusted: they render in a Jinja2 sandbox, and never run anything."""

import json
import re
import textwrap
import time

import pytest

from quizgen.bank import load_template
from quizgen.errors import TemplateError
from quizgen.oracle import Oracle
from quizgen.questions import make_item
from quizgen.template import TEMPLATE_ENV, check_text, render_text

from .conftest import run_cli

PAYLOAD = "{{ cycler.__init__.__globals__.os.popen('touch SENTINEL').read() }}"

FIXED = """\
title: Parameters
topic: dense
difficulty: 1
model:
  input_shape: [4]
  layers:
    - {class_name: Dense, config: {units: 2}}
asks:
  - fact: total_params
    text: How many parameters does this model have?
"""


def write(folder, name, text):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def with_text(text: str) -> str:
    """`FIXED` with its ask's text replaced by `text` (a YAML double-quoted string)."""
    return FIXED.replace("How many parameters does this model have?", json.dumps(text))


def test_environment_is_the_immutable_sandbox():
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    assert isinstance(TEMPLATE_ENV, ImmutableSandboxedEnvironment)
    assert TEMPLATE_ENV.undefined is StrictUndefined


def test_render_refuses_python_internals(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TemplateError, match=r"^bad.yaml: asks\[0\].text: .*unsafe"):
        render_text(PAYLOAD, {}, "bad.yaml: asks[0].text")
    assert list(tmp_path.glob("S*")) == []


@pytest.mark.parametrize("text", [
    "{% set n = '__in' ~ 'it__' %}{{ cycler[n]['__glo' ~ 'bals__'].os.popen('touch S').read() }}",
    "{% set n = '__in' ~ 'it__' %}{{ (cycler|attr(n))['__glo' ~ 'bals__'] }}",
    "{{ ('{0.__class__}').format(1) }}",
    "{{ layer.update({'code': 1}) }}",
    "{{ [1].append(2) }}",
])
def test_render_refuses_what_only_shows_at_run_time(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check_text(text, "t.yaml: stem")  # nothing certain at load time
    with pytest.raises(TemplateError, match=r"^t.yaml: stem: unsafe: "):
        render_text(text, {"layer": {"code": "x"}}, "t.yaml: stem")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text, message", [
    ("{{ 1 / 0 }}", "cannot render: ZeroDivisionError"),
    ("{{ 'x' * 10**10 }}", "unsafe: repeating a sequence"),
    ("{{ [0] * 10**7 }}", "unsafe: repeating a sequence"),
    ("{{ 2 ** (10**8) }}", "unsafe: an integer of more than"),
    ("{% set ns = namespace(x=3) %}{% for i in range(64) %}{% set ns.x = ns.x * ns.x %}{% endfor %}"
     "{{ ns.x }}", "unsafe: an integer of more than"),
    ("{{ range(10**9) | list }}", "cannot render: OverflowError"),
    ("{{ layer + 1 }}", "cannot render: TypeError"),
    ("{{ nothing }}", "'nothing' is undefined"),
])
def test_render_failures_are_short_template_errors(text, message):
    start = time.perf_counter()
    with pytest.raises(TemplateError, match=r"^t.yaml: asks\[1\].text: ") as raised:
        render_text(text, {"layer": {"code": "x"}}, "t.yaml: asks[1].text")
    assert message in str(raised.value)
    assert len(str(raised.value)) < 300
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize("field", ["stem", "asks[0].text"])
def test_unsafe_text_is_refused_at_load(tmp_path, monkeypatch, field):
    monkeypatch.chdir(tmp_path)
    text = with_text(PAYLOAD) if field != "stem" \
        else FIXED.replace("asks:", f"stem: {json.dumps(PAYLOAD)}\nasks:")
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(TemplateError, match=rf"^bad.yaml: {re.escape(field)}: "
                                            r"unsafe: access to attribute '__\w+__' is unsafe"):
        load_template(path)
    assert list(tmp_path.glob("S*")) == []


@pytest.mark.parametrize("text, message", [
    ("{{ x|attr('__class__') }}", "unsafe: access to attribute '__class__'"),
    ("{{ layer._private }}", "unsafe: access to attribute '_private'"),
    ("{% include 'other.yaml' %}", "unsafe: include tags are not allowed"),
    ("{% extends 'other.yaml' %}", "unsafe: extends tags are not allowed"),
    ("{% import 'other.yaml' as o %}", "unsafe: import tags are not allowed"),
    ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "nested too deeply"),
    ("{{ layer.code", "Jinja2 syntax error"),
])
def test_texts_that_can_never_render_are_refused_at_load(text, message):
    with pytest.raises(TemplateError, match=r"^t.yaml: stem: ") as raised:
        check_text(text, "t.yaml: stem")
    assert message in str(raised.value)


def test_unsafe_text_found_at_run_time_names_file_and_field(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dynamic = "{% set n = '__in' ~ 'it__' %}{{ cycler[n]['__glo' ~ 'bals__'].os.popen('touch S').read() }}"
    template = load_template(write(tmp_path, "dynamic.yaml", with_text(dynamic)))
    with pytest.raises(TemplateError, match=r"^dynamic.yaml: asks\[0\].text: unsafe: "):
        make_item(template, 0, Oracle())
    assert list(tmp_path.glob("S*")) == []


def test_cli_refuses_an_unsafe_bank_without_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bank = tmp_path / "bank"
    bank.mkdir()
    write(bank, "bad.yaml", with_text(PAYLOAD))
    result = run_cli("generate", "--bank", str(bank), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "bad.yaml: asks[0].text: unsafe" in result.output and "Traceback" not in result.output
    assert list(tmp_path.glob("S*")) == []
