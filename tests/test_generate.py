"""`quizgen generate` end to end: 30 variants, a key that Keras confirms, pandoc-readable Quarto,
byte-identical reruns, balanced answer positions."""

import copy
import json
import re
import subprocess
import sys
from collections import Counter
from types import SimpleNamespace

import jsonschema
import keras
import numpy as np
import pypandoc
import pytest
import sympy

from quizgen.key import schema
from quizgen.spec import ModelSpec

from .conftest import run_cli
from .test_statements import independent_truth


def rebuild(model_json):
    """The recorded model, rebuilt with keras.layers.deserialize, or a functional one with
    keras.Model.from_config (the key's recipes; independent of quizgen)."""
    if "input_layers" in model_json:
        return keras.Model.from_config(copy.deepcopy(model_json))
    return keras.Sequential([keras.Input(shape=model_json["input_shape"])] +
                            [keras.layers.deserialize(layer) for layer in model_json["layers"]])


def keras_answer(model, entry):
    count = lambda weights: sum(int(w.numpy().size) for w in weights)  # noqa: E731
    fact = entry["fact"]
    if fact == "total_params":
        return model.count_params()
    if fact == "trainable_params":
        return count(model.trainable_weights)
    if fact == "non_trainable_params":
        return count(model.non_trainable_weights)
    # a functional model's layers by the names its config (and model.summary()) gives them
    layer = (model.get_layer(entry["layer_name"]) if "input_layers" in entry["model"]
             else model.layers[entry["layer"]])
    if fact == "params":
        return layer.count_params()
    if fact == "weight_shape":
        return [int(d) for w in layer.weights if w.name == entry["weight"] for d in w.shape]
    shape = list(layer.output.shape)
    if "axis" in entry:
        return shape[{"height": 1, "width": 2, "channels": 3}[entry["axis"]]]
    return shape


def test_thirty_variants_of_ten_questions(exam, key):
    jsonschema.validate(key, schema())
    by_variant = Counter(entry["variant"] for entry in key["questions"])
    assert sorted(by_variant) == list(range(1, 31))
    assert min(by_variant.values()) >= 10
    ids = [entry["id"] for entry in key["questions"]]
    assert len(ids) == len(set(ids))
    assert key["keras_version"] == keras.__version__ and key["seed"] == 7
    for number in range(1, 31):
        assert (exam / f"variant-{number:02d}.qmd").is_file()
        assert (exam / f"variant-{number:02d}.md").is_file()


def task_output(task):
    """A by-hand task run with Keras directly: set_weights, then a forward pass (a Conv1D's
    one-row input is a sequence)."""
    inputs = np.array(task["input"], dtype="float32")[None, :, :, None]
    if task["layer"]["class_name"] == "Conv1D":
        inputs = inputs[:, 0]
    layer = keras.layers.deserialize(task["layer"])
    model = keras.Sequential([keras.Input(shape=inputs.shape[1:]), layer])
    if task["kernel"] is not None:
        weights = [np.array(task["kernel"], dtype="float32").reshape(layer.weights[0].shape)]
        layer.set_weights(weights + [np.full((1,), task["bias"], "float32")][:len(layer.weights) - 1])
    return np.atleast_2d(model(inputs).numpy()[0, ..., 0])


def test_every_answer_is_what_keras_computes(key):
    built = {}
    for entry in key["questions"]:
        if "task" in entry:
            np.testing.assert_allclose(task_output(entry["task"]), entry["answer"], atol=1e-5)
            continue
        if entry["fact"] == "statements":  # each statement decided again, by Keras directly
            spec = ModelSpec.from_json(entry["model"])
            truths = [independent_truth(spec, SimpleNamespace(**choice["statement"]))
                      for choice in entry["choices"]]
            assert [choice["correct"] for choice in entry["choices"]] == truths, entry["id"]
            assert entry["answer"] == [n for n, true in enumerate(truths, 1) if true], entry["id"]
            continue
        if entry["fact"] == "formula":  # the correct formula gives Keras' value for this layer
            layer = rebuild(entry["model"]).layers[entry["layer"]]
            config = layer.get_config()
            if entry["quantity"] == "output_size":
                values = {"W": layer.input.shape[1], "K": config["kernel_size"][0],
                          "S": config["strides"][0]}
                expected = layer.output.shape[1]
            else:
                values = {"k_h": config["kernel_size"][0], "k_w": config["kernel_size"][1],
                          "C_in": layer.input.shape[-1], "F": config["filters"]}
                expected = layer.count_params()
            correct = next(c for c in entry["choices"] if c["correct"])
            names = {name: sympy.Symbol(name) for name in values}
            formula = sympy.sympify(correct["value"], locals=names)
            assert int(formula.subs({names[k]: v for k, v in values.items()})) == expected, entry["id"]
            continue
        if entry["fact"] == "code":
            configs = {json.dumps([[type(layer).__name__, layer.get_config() | {"name": ""}]
                                   for layer in rebuild(choice["value"]).layers],
                                  sort_keys=True, default=str):
                       choice["correct"] for choice in entry["choices"]}
            assert sorted(configs.values()) == [False, False, False, True], entry["id"]
            assert next(c for c in entry["choices"] if c["correct"])["value"] == entry["model"]
            continue
        signature = json.dumps(entry["model"], sort_keys=True)
        if signature not in built:
            built[signature] = rebuild(entry["model"])
        assert keras_answer(built[signature], entry) == entry["answer"], entry["id"]


def test_choices_one_correct_equal_to_answer(key):
    choice_entries = [entry for entry in key["questions"] if entry["kind"] == "single_choice"]
    assert choice_entries, "the default exam has single-choice questions"
    for entry in choice_entries:
        texts = [choice["text"] for choice in entry["choices"]]
        assert len(texts) == 4 and len(set(texts)) == 4
        correct = [choice for choice in entry["choices"] if choice["correct"]]
        assert len(correct) == 1
        if entry["fact"] == "code":  # the value is the model that code builds
            assert correct[0]["text"] == entry["answer"] and correct[0]["value"] == entry["model"]
        elif entry["fact"] == "formula":  # the value is the formula, the answer as printed
            assert correct[0]["text"] == entry["answer"]
        else:
            assert correct[0]["value"] == entry["answer"]
        assert all(choice["misconception"] for choice in entry["choices"] if not choice["correct"])


def test_correct_positions_balanced_within_each_variant(key):
    for number in range(1, 31):
        positions = Counter(
            next(i for i, choice in enumerate(entry["choices"]) if choice["correct"])
            for entry in key["questions"]
            if entry["variant"] == number and entry["kind"] == "single_choice")
        counts = [positions.get(i, 0) for i in range(4)]
        assert max(counts) - min(counts) <= 1, (number, counts)


def test_variants_differ(exam):
    bodies = [(exam / f"variant-{n:02d}.qmd").read_text().split("---", 2)[2] for n in range(1, 31)]
    assert len(set(bodies)) == 30


def test_pandoc_reads_every_qmd(exam, key):
    for number in range(1, 31):
        document = json.loads(pypandoc.convert_file(
            str(exam / f"variant-{number:02d}.qmd"), "json", format="markdown"))
        assert document["meta"]["title"]["c"], number
        callouts = [block for block in document["blocks"] if block["t"] == "Div"]
        expected = sum(1 for entry in key["questions"] if entry["variant"] == number)
        assert len(callouts) == expected
        for div in callouts:
            _, classes, attributes = div["c"][0]
            assert "callout-note" in classes and ["collapse", "true"] in attributes
            assert div["c"][1][0]["t"] == "Header"


def test_markdown_uses_details(exam):
    text = (exam / "variant-01.md").read_text()
    assert text.startswith("# ") and ":::" not in text
    assert text.count("<details>") == text.count("</details>") >= 10


def run_subprocess(out, *args):
    command = [sys.executable, "-m", "quizgen", "generate", "--out", str(out), *args]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    return completed


def test_same_seed_gives_byte_identical_files(tmp_path, exam):
    first, second = tmp_path / "a", tmp_path / "b"
    run_subprocess(first, "--variants", "3", "--seed", "7")
    run_subprocess(second, "--variants", "3", "--seed", "7")
    names = sorted(path.name for path in first.iterdir())
    assert names == sorted(path.name for path in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    # a variant depends only on the exam seed and its number, not on the run's size
    assert (first / "variant-2.qmd").read_bytes() == (exam / "variant-02.qmd").read_bytes()


def test_workers_share_the_cache_and_change_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("QUIZGEN_CACHE_DIR", str(tmp_path / "cache"))
    cold = run_subprocess(tmp_path / "cold", "--variants", "4", "--seed", "5", "--jobs", "2")
    warm = run_subprocess(tmp_path / "warm", "--variants", "4", "--seed", "5", "--jobs", "2")
    computed = re.search(r"Fact cache: \d+ entries read .*, (\d+) computed", cold.stdout)
    assert int(computed.group(1)) > 100  # the workers' counts reach the parent
    assert re.search(r"Fact cache: [1-9]\d* entries read .*, 0 computed", warm.stdout), warm.stdout
    serial = run_subprocess(tmp_path / "serial", "--variants", "4", "--seed", "5", "--jobs", "1",
                            "--no-cache")
    assert re.search(r"Fact cache: 0 entries read \(--no-cache\), [1-9]\d* computed", serial.stdout)
    for name in ("key.json", "variant-1.qmd", "variant-4.md"):
        assert (tmp_path / "cold" / name).read_bytes() == (tmp_path / "serial" / name).read_bytes()
        assert (tmp_path / "warm" / name).read_bytes() == (tmp_path / "serial" / name).read_bytes()


def test_other_seed_other_exam(tmp_path, exam):
    result = run_cli("generate", "--seed", "8", "--out", str(tmp_path))
    assert result.exit_code == 0
    assert (tmp_path / "variant-1.qmd").read_text() != (exam / "variant-01.qmd").read_text()


def test_classic_tag_renders_every_seed_question(tmp_path, bank):
    result = run_cli("generate", "--tags", "classic", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    key = json.loads((tmp_path / "key.json").read_text())
    classics = [t for t in bank if "classic" in t.tags]
    assert {entry["template"] for entry in key["questions"]} == {t.id for t in classics}
    assert len(key["questions"]) == sum(len(t.asks) for t in classics)
    answers = {entry["answer"] for entry in key["questions"] if entry["fact"] == "total_params"}
    assert {216_650, 2_770_634, 1_199_882, 34_826, 890_410} <= answers


def test_default_run_writes_build(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli("generate")
    assert result.exit_code == 0
    assert "build/key.json" in result.output
    assert sorted(path.name for path in (tmp_path / "build").iterdir()) == \
        [".quizgen-generate.json", "key.json", "variant-1.md", "variant-1.qmd"]


@pytest.mark.parametrize("args, message", [
    (["--format", "docx"], "--format"),
    (["--tags", "no-such-tag"], "no template matches tag(s) no-such-tag"),
    (["--template", "nope"], "unknown template(s): nope"),
])
def test_bad_options_are_reported(tmp_path, args, message):
    result = run_cli("generate", "--out", str(tmp_path), *args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
