"""Questions about an instructor's own model: `quizgen generate --model FILE.py` and
`model: {file: ...}` in a template. The answers are what Keras reports for the file's model,
layer by layer under the names `model.summary()` prints; the file is shown verbatim; `verify`
rebuilds the key's model and, given the file, checks that it is the code shown."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from quizgen import oracle as keras_oracle
from quizgen.bank import load_bank, load_template, own_model_templates, read_model_file
from quizgen.cli import main
from quizgen.errors import TemplateError
from quizgen.resources import data_dir
from quizgen.spec import LayerSpec, ModelSpec
from quizgen.verify import verify_key

EXAMPLE = data_dir("question_bank") / "own-model" / "mnist_convnet.py"

FUNCTIONAL_CHAIN = """\
import keras
from keras import layers

inputs = keras.Input(shape=(32, 32, 3), name="image")
x = layers.Conv2D(16, 3, strides=2, padding="same", name="stem")(inputs)
x = layers.BatchNormalization(name="stem_bn")(x)
x = layers.SeparableConv2D(24, 3, name="sep")(x)
x = layers.GlobalAveragePooling2D()(x)
outputs = layers.Dense(5, name="head")(x)
model = keras.Model(inputs, outputs)
"""

RESIDUAL = """\
import keras
from keras import layers

inputs = keras.Input(shape=(16, 16, 8))
x = layers.Conv2D(8, 3, padding="same", use_bias=False)(inputs)
x = layers.BatchNormalization()(x)
x = layers.add([x, inputs])
shortcut = layers.Conv2D(16, 1, strides=2)(x)
y = layers.Conv2D(16, 3, strides=2, padding="same")(x)
y = layers.concatenate([y, shortcut])
y = layers.GlobalAveragePooling2D()(y)
outputs = layers.Dense(10, activation="softmax")(y)
model = keras.Model(inputs, outputs)
"""

TWO_OUTPUTS = """\
import keras
from keras import layers

image = keras.Input(shape=(8, 8, 1))
features = layers.Flatten()(layers.Conv2D(4, 3)(image))
model = keras.Model(image, [layers.Dense(1)(features), layers.Dense(3)(features)])
"""

SHARED = """\
import keras
from keras import layers

inputs = keras.Input(shape=(4,))
dense = layers.Dense(4)
model = keras.Model(inputs, dense(dense(inputs)))
"""


def generate(runner, out: Path, *files: Path, variants: int = 2, seed: int = 3) -> dict:
    arguments = ["generate", "--variants", str(variants), "--seed", str(seed), "--out", str(out),
                 "--jobs", "1", "--no-cache"]
    for file in files:
        arguments += ["--model", str(file)]
    result = runner.invoke(main, arguments)
    assert result.exit_code == 0, result.output
    return json.loads((out / "key.json").read_text())


def test_keras_io_mnist_convnet_gives_its_published_totals(tmp_path):
    from click.testing import CliRunner

    key = generate(CliRunner(), tmp_path, EXAMPLE, seed=0)  # a summary table: its total a blank
    entries = key["questions"]
    assert {entry["template"].split("@")[1] for entry in entries} == {"mnist_convnet.py"}
    # the published figures of https://keras.io/examples/vision/mnist_convnet/
    assert {e["answer"] for e in entries if e["fact"] in ("total_params", "trainable_params")} == {34_826}
    names = ["conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "flatten", "dropout", "dense"]
    params = [320, 0, 18_496, 0, 0, 0, 16_010]
    for entry in entries:
        assert entry["code"] == EXAMPLE.read_text().rstrip("\n")  # the file, verbatim
        assert entry["code_file"] == "mnist_convnet.py"
        if entry.get("layer") is not None:
            assert entry["layer_name"] == names[entry["layer"]]
            assert f"`{entry['layer_name']}`" in entry["text"]
            if entry["fact"] == "params":
                assert entry["answer"] == params[entry["layer"]]
    assert any(entry.get("layer") is not None for entry in entries)
    text, spec, _ = read_model_file(EXAMPLE, "test")
    report = verify_key(key, files={"mnist_convnet.py": (text, spec)})
    assert report.ok and not report.unrun, report.findings
    assert verify_key(key).unrun == ("mnist_convnet.py",)


def test_functional_chain_keeps_its_layer_names_and_keras_facts(tmp_path, oracle):
    path = tmp_path / "chain.py"
    path.write_text(FUNCTIONAL_CHAIN)
    model = keras_oracle.load_user_model(str(path))
    spec = keras_oracle.model_spec(model, str(path))
    assert spec.input_shape == (32, 32, 3)
    assert spec.layer_names() == ["stem", "stem_bn", "sep", "global_average_pooling2d", "head"]
    facts = oracle.facts(spec)
    keras_layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    assert [known.params for known in facts.layers] == [layer.count_params() for layer in keras_layers]
    assert [known.output_shape for known in facts.layers] == [
        tuple(layer.output.shape) for layer in keras_layers]
    assert facts.non_trainable_params == 32  # the moving mean and variance of stem_bn
    # only the arguments given (and the required ones) are kept
    assert dict(spec.layers[0].config) == {"name": "stem", "filters": 16, "kernel_size": (3, 3),
                                           "strides": (2, 2), "padding": "same"}
    # the key's recipe rebuilds it: a keras.Sequential of the spec's layers, under their names
    assert [layer.name for layer in keras_oracle.build_model(spec).layers] == spec.layer_names()


def test_keras_applications_vgg16_total(tmp_path):
    path = tmp_path / "vgg16.py"
    path.write_text("import keras\nmodel = keras.applications.VGG16(weights=None)\n")
    templates = own_model_templates([path])
    spec = templates[0].fixed
    assert keras_oracle.Oracle().facts(spec).total_params == 138_357_544  # Keras Applications' table
    assert {t.id for t in templates} == {f"{name}@vgg16.py" for name in (
        "formula-output-size", "formula-params", "kernel-shape", "layer-output-shape",
        "layer-params", "statements", "summary-blanks", "total-params", "trainable-params")}


@pytest.mark.parametrize("source, message", [
    (TWO_OUTPUTS, "`model` has 2 outputs; quizgen asks about models with one output"),
    (SHARED, "layer 'dense' (Dense) is called 2 times (a shared layer)"),
    ("x = 1\n", "the file must define a Keras model named `model`"),
    ("raise RuntimeError('no data')\n", "running the file failed: RuntimeError: no data"),
    ("import keras\nmodel = keras.Sequential([keras.Input(shape=(None, 3)), "
     "keras.layers.LSTM(4)])\n", "has an unknown size; give keras.Input a complete shape"),
])
def test_a_model_quizgen_cannot_ask_about_is_a_clear_error(tmp_path, source, message):
    from click.testing import CliRunner

    path = tmp_path / "model.py"
    path.write_text(source)
    result = CliRunner().invoke(main, ["generate", "--model", str(path), "--out",
                                       str(tmp_path / "out"), "--no-cache", "--jobs", "1"])
    assert result.exit_code != 0
    assert message in result.output and str(path) in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_a_shared_banks_model_file_runs_only_when_trusted(tmp_path):
    (tmp_path / "model.py").write_text(EXAMPLE.read_text())
    template = (data_dir("question_bank") / "own-model" / "total-params.yaml").read_text()
    (tmp_path / "mine.yaml").write_text(template.replace("mnist_convnet.py", "model.py"))
    with pytest.raises(TemplateError, match=r"mine.yaml: model.file: model.py would be run as "
                                            r"Python; .* only with --run-model-files"):
        load_template(tmp_path / "mine.yaml")
    [trusted] = load_bank(tmp_path, run_model_files=True)
    assert trusted.source == EXAMPLE.read_text().rstrip("\n") and trusted.source_file == "model.py"
    assert keras_oracle.Oracle().facts(trusted.fixed).total_params == 34_826


def test_verify_finds_a_tampered_file_code_or_layer_name(tmp_path):
    from click.testing import CliRunner

    key = generate(CliRunner(), tmp_path, EXAMPLE, variants=1)
    text, spec, _ = read_model_file(EXAMPLE, "test")
    tampered = copy.deepcopy(key)
    layered = next(e for e in tampered["questions"] if e.get("layer") is not None)
    layered["layer_name"] = "dense_7"
    coded = tampered["questions"][0]
    coded["code"] = coded["code"].replace("Conv2D(32", "Conv2D(16")
    problems: dict[str, list[str]] = {}
    for finding in verify_key(tampered, files={"mnist_convnet.py": (text, spec)}).findings:
        problems.setdefault(finding.id, []).append(finding.message)
    assert any(problem.startswith("layer_name 'dense_7' is not the name of layer")
               for problem in problems[layered["id"]])
    assert any(problem.startswith("code: the instructor's file mnist_convnet.py given with "
                                  "--model is not the entry's code") for problem in problems[coded["id"]])
    assert set(problems) == {layered["id"], coded["id"]}


def test_layer_names_keep_given_names_and_skip_them_for_the_others():
    spec = ModelSpec((4,), (LayerSpec.make("Dense", units=3, name="dense"), LayerSpec.make("Dense", units=2),
                            LayerSpec.make("Dropout", rate=0.5, name="head")))
    assert spec.layer_names() == ["dense", "dense_1", "head"]


def test_functional_model_with_branches(tmp_path, oracle):
    """A residual add and a two-branch concatenation: every layer's facts are Keras', the key's
    model is Keras' functional config, which `keras.Model.from_config` loads, and verify
    rebuilds it that way."""
    from click.testing import CliRunner

    path = tmp_path / "residual.py"
    path.write_text(RESIDUAL)
    model = keras_oracle.load_user_model(str(path))
    spec = keras_oracle.model_spec(model, str(path))
    assert spec.inbound == ((-1,), (0,), (1, -1), (2,), (2,), (4, 3), (5,), (6,)) or \
        spec.inbound == ((-1,), (0,), (1, -1), (2,), (2,), (3, 4), (5,), (6,))
    facts = oracle.facts(spec)
    keras_layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    assert [(known.name, known.output_shape, known.params) for known in facts.layers] == [
        (layer.name, tuple(layer.output.shape), layer.count_params()) for layer in keras_layers]
    # 3·3·8·8 + 4·8 (BatchNormalization) + (8·16 + 16) + (3·3·8·16 + 16) + (32·10 + 10)
    assert facts.total_params == model.count_params() == 2_250
    assert facts.layers[2].input_shape == ((None, 16, 16, 8), (None, 16, 16, 8))  # the Add
    key = generate(CliRunner(), tmp_path / "out", path)
    entry = key["questions"][0]
    rebuilt = keras_oracle.keras().Model.from_config(copy.deepcopy(entry["model"]))
    assert [layer.name for layer in rebuilt.layers[1:]] == [layer.name for layer in keras_layers]
    assert rebuilt.count_params() == 2_250
    assert ModelSpec.from_json(entry["model"]).to_json() == spec.to_json()
    assert verify_key(key).ok
    assert "inputs = keras.Input(shape=(16, 16, 8))" in spec.code()  # the functional code
    assert spec.code().endswith("model = keras.Model(inputs, dense)")


@pytest.mark.parametrize("application, total", [
    ("ResNet50", 25_636_712), ("MobileNetV2", 3_538_984)])
def test_keras_applications_with_branches(tmp_path, oracle, application, total):
    path = tmp_path / "application.py"
    path.write_text(f"import keras\nmodel = keras.applications.{application}(weights=None)\n")
    spec = keras_oracle.model_spec(keras_oracle.load_user_model(str(path)), str(path))
    assert spec.inbound is not None
    assert oracle.facts(spec).total_params == total  # Keras Applications' table
    assert oracle.model_facts(spec).total_params == total


def test_a_file_with_backticks_keeps_its_code_block(tmp_path):
    """A docstring holding a Markdown fence must not end the question's code block."""
    from click.testing import CliRunner
    from markdown_it import MarkdownIt

    path = tmp_path / "fenced.py"
    path.write_text('"""Run it:\n\n```python\nmodel.summary()\n```\n"""\n' + EXAMPLE.read_text())
    generate(CliRunner(), tmp_path / "out", path, variants=1)
    page = (tmp_path / "out" / "variant-1.md").read_text()
    assert "````python\n" in page
    blocks = [token for token in MarkdownIt().parse(page) if token.type == "fence"]
    assert all(token.content.rstrip("\n") == path.read_text().rstrip("\n") for token in blocks)
    assert len(blocks) >= 1


def test_an_exam_about_own_models_asks_no_fact_twice(tmp_path):
    """Every question family that applies is asked about each file (the summary table, the
    statements, the formulas among them), none asking a fact another question of its variant
    asks or gives away: nothing beside a summary table about a layer it prints; one of a
    model's parameter totals (any two give the third) and none beside a layer's count (they
    add up to it); one statements question and one formula of each quantity (general
    knowledge); a layer's parameters beside neither its kernel shape nor its formula. A
    layer's facts are its file's (two files, two sets of facts)."""
    from click.testing import CliRunner

    chain = tmp_path / "chain.py"
    chain.write_text(FUNCTIONAL_CHAIN)
    templates, summaries = set(), 0
    for seed in (0, 1):  # summary tables, then questions about layers, as these seeds draw
        out = tmp_path / f"out-{seed}"
        result = CliRunner().invoke(main, ["generate", "--variants", "2", "--seed", str(seed),
                                           "--out", str(out), "--model", str(EXAMPLE),
                                           "--model", str(chain), "--format", "md"])
        assert result.exit_code == 0, result.output
        key = json.loads((out / "key.json").read_text())
        for variant in (1, 2):
            entries = [e for e in key["questions"] if e["variant"] == variant]
            asked = [(e["code_file"], e["fact"], e.get("layer"), e.get("quantity")) for e in entries]
            assert len(asked) == len(set(asked)), asked
            assert sum(e["fact"] == "statements" for e in entries) <= 1
            formulas = [e["quantity"] for e in entries if e["fact"] == "formula"]
            assert len(formulas) == len(set(formulas))  # one rule, whatever the layer or model
            for file in ("mnist_convnet.py", "chain.py"):
                mine = [e for e in entries if e["code_file"] == file]
                assert mine
                if any(e["template"].startswith("summary-blanks@") for e in mine):
                    summaries += 1  # no other question about a layer its table prints
                    assert not [e for e in mine if e.get("layer") is not None
                                and not e["template"].startswith("summary-blanks@")]
                    continue
                totals = sum(e["fact"] in ("total_params", "trainable_params", "non_trainable_params")
                             for e in mine)
                counted = [e["layer"] for e in mine if e["fact"] in ("params", "weight_shape")
                           or e.get("quantity") == "params"]
                assert totals <= 1 and not (totals and counted)  # the counts add up to a total
                assert len(counted) == len(set(counted))
        templates |= {entry["template"] for entry in key["questions"]}
        assert verify_key(key).ok
    assert summaries
    assert {"statements@mnist_convnet.py", "summary-blanks@mnist_convnet.py",
            "summary-blanks@chain.py"} <= templates
    assert any(name.startswith("layer-output-shape@") for name in templates)
    assert any(name.startswith("formula-") for name in templates)
    # the chain's output size (strides 2, padding "same") is not what the valid-padding
    # formulas tell apart, and a head without an activation, Dropout or pooling offers too
    # few kinds of statement: both are left out
    assert not {"formula-output-size@chain.py", "statements@chain.py"} & templates


def test_the_trainable_split_is_asked_only_of_a_model_with_non_trainable_weights(tmp_path, oracle):
    """Of a model whose parameters are all trainable, "how many are trainable?" asks the total
    again (and "non-trainable?" 0): its template is left out; the chain's BatchNormalization
    keeps 32 non-trainable parameters (its moving mean and variance)."""
    from quizgen.errors import QuestionError
    from quizgen.questions import make_item

    chain = tmp_path / "chain.py"
    chain.write_text(FUNCTIONAL_CHAIN)
    split = {t.source_file: t for t in own_model_templates([EXAMPLE, chain])
             if t.id.startswith("trainable-params@")}
    with pytest.raises(QuestionError, match="every parameter of the model is trainable"):
        make_item(split["mnist_convnet.py"], 0, oracle)
    item = make_item(split["chain.py"], 0, oracle)
    facts = oracle.facts(split["chain.py"].fixed)
    assert [q.answer for q in item.questions] == [facts.total_params - 32, 32]


def test_an_ask_keeps_the_forms_its_model_can_carry(tmp_path, oracle):
    """A Dense layer's output shape has too few executed mistakes for four distinct options:
    on a model of Dense layers only, that question is asked as a free response (every
    variant, whatever form the exam's slot would have drawn), its other questions in both
    forms."""
    from quizgen.generate import _own_model_questions

    path = tmp_path / "mlp.py"
    path.write_text("import keras\nfrom keras import layers\n\nmodel = keras.Sequential([\n"
                    "    keras.Input(shape=(3,)),\n    layers.Dense(64, activation=\"relu\"),\n"
                    "    layers.Dense(10, activation=\"softmax\"),\n])\n")
    templates = {t.id.split("@")[0]: t for t in _own_model_questions((path,), oracle)}
    assert templates["layer-output-shape"].asks[0].response == ("free",)
    assert set(templates["layer-params"].asks[0].response) == {"single_choice", "free"}
