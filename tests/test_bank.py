"""Malformed templates and impossible architectures give clear errors naming file and field."""

import textwrap

import pytest

from quizgen.bank import load_bank, load_template, select
from quizgen.errors import ArchitectureError, BatchError, TemplateError
from quizgen.oracle import Oracle
from quizgen.questions import make_item

from .conftest import run_cli

GOOD = """\
title: Parameters
topic: dense
difficulty: 1
model: {sampler: mlp}
asks:
  - fact: params
    layer: {class_name: [Dense]}
    text: How many parameters does `{{ layer.code }}` have?
"""


def write(folder, name, text):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize("text, message", [
    ("title: [unclosed\n", "bad.yaml: invalid YAML"),
    (GOOD.replace("fact: params", "fact: paramz"), "bad.yaml: asks[0].fact: 'paramz' is not one of"),
    (GOOD.replace("difficulty: 1", "difficulty: 7"), "bad.yaml: difficulty: 7 is greater than"),
    (GOOD.replace("    layer: {class_name: [Dense]}\n", ""), "bad.yaml: asks[0]: 'layer' is a required"),
    (GOOD.replace("{{ layer.code }}", "{{ layer.code"), "bad.yaml: asks[0].text: Jinja2 syntax error"),
    (GOOD.replace("title: Parameters\n", ""), "bad.yaml: (top level): 'title' is a required"),
    ("- just\n- a list\n", "bad.yaml: (top level): ['just', 'a list'] is not of type 'object'"),
])
def test_malformed_template_names_file_and_field(tmp_path, text, message):
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(TemplateError) as raised:
        load_template(path)
    assert message in str(raised.value)


def test_bank_reports_every_bad_file_together(tmp_path):
    write(tmp_path, "good.yaml", GOOD)
    write(tmp_path, "bad-1.yaml", GOOD.replace("fact: params", "fact: nope"))
    write(tmp_path, "bad-2.yaml", "title: [\n")
    with pytest.raises(BatchError) as raised:
        load_bank(tmp_path)
    assert len(raised.value.failures) == 2
    assert "bad-1.yaml" in str(raised.value) and "bad-2.yaml" in str(raised.value)


def test_undefined_variable_in_text_is_named(tmp_path):
    path = write(tmp_path, "undefined.yaml", GOOD.replace("layer.code", "layer.colour"))
    with pytest.raises(TemplateError, match=r"undefined.yaml: asks\[0\].text: .*colour"):
        make_item(load_template(path), 0, Oracle())


def test_unknown_sampler_option_is_named(tmp_path):
    path = write(tmp_path, "options.yaml", GOOD.replace("{sampler: mlp}",
                                                        "{sampler: mlp, options: {depth: 3}}"))
    with pytest.raises(TemplateError, match="sampler 'mlp': bad options"):
        make_item(load_template(path), 0, Oracle())


IMPOSSIBLE = """\
title: Impossible
topic: convolution
difficulty: 1
model:
  input_shape: [4, 4, 1]
  layers:
    - {class_name: Conv2D, config: {filters: 2, kernel_size: 5}}
asks:
  - fact: total_params
    text: How many parameters?
"""


def test_impossible_fixed_architecture(tmp_path):
    path = write(tmp_path, "impossible.yaml", IMPOSSIBLE)
    with pytest.raises(ArchitectureError, match="impossible.yaml: its fixed model"):
        make_item(load_template(path), 0, Oracle())


def test_cli_reports_bad_bank_without_traceback_and_keeps_old_output(tmp_path):
    bank = tmp_path / "bank"
    bank.mkdir()
    write(bank, "impossible.yaml", IMPOSSIBLE)
    out = tmp_path / "out"
    out.mkdir()
    (out / "key.json").write_text("previous key")
    result = run_cli("generate", "--bank", str(bank), "--out", str(out))
    assert result.exit_code == 1
    assert "impossible.yaml" in result.output and "zero or negative" in result.output
    assert "Traceback" not in result.output
    assert (out / "key.json").read_text() == "previous key"
    assert sorted(path.name for path in out.iterdir()) == ["key.json"]


def test_missing_bank_folder(tmp_path):
    result = run_cli("list", "--bank", str(tmp_path / "nowhere"))
    assert result.exit_code == 1 and "no such question bank folder" in result.output


def test_list_one_template_per_line(bank):
    result = run_cli("list")
    lines = result.output.strip().splitlines()
    assert len(lines) == len(bank)
    assert lines[0].split()[0] == bank[0].id


def test_default_selection_leaves_classics_out(bank):
    assert all("classic" not in t.tags for t in select(bank))
    assert {t.id for t in select(bank, ["classic"])} == {t.id for t in bank if "classic" in t.tags}
