"""'Which statements are correct?': each statement's truth checked by an independent execution."""

import random
from pathlib import Path

import keras
import numpy as np
import pytest

from quizgen.families.statements import choose_statements, make_statement
from quizgen.questions import make_item
from quizgen.sample import cnn, mlp


def keras_model(spec):
    """The spec built directly with Keras, default (random) initializers."""
    keras.utils.set_random_seed(7)
    return keras.Sequential([keras.Input(shape=spec.input_shape)] + [
        keras.layers.deserialize(layer.to_json()) for layer in spec.layers])


def independent_truth(spec, statement):
    """Whether a statement (its `kind` and `claim`) holds, decided with Keras directly."""
    claim = dict(statement.claim)
    model = keras_model(spec)
    # small inputs, and large ones that drive every activation to its limits ("for every input")
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.standard_normal((64, *spec.input_shape)) * scale
                        for scale in (0.5, 50)]).astype("float32")
    if statement.kind in ("outputs_sum_to_one", "non_negative", "unit_interval", "output_task"):
        layer = claim.get("layer", len(spec.layers) - 1)
        out = keras.Model(model.inputs, model.layers[layer].output)(x).numpy()
        if statement.kind == "outputs_sum_to_one":
            return bool(np.allclose(out.sum(axis=-1), 1, atol=1e-4))
        if statement.kind == "non_negative":
            return bool(out.min() >= 0)
        if statement.kind == "unit_interval":
            return bool(out.min() >= 0 and out.max() <= 1)
        units = out.shape[-1]
        task = ("multi-class" if units > 1 and np.allclose(out.sum(-1), 1, atol=1e-4) else
                "binary" if units == 1 and 0 <= out.min() and out.max() <= 1 else "regression")
        return task == claim["task"]
    if statement.kind == "pooling_activation":
        try:
            getattr(keras.layers, claim["class_name"])(activation="relu")
            accepted = True
        except (TypeError, ValueError):
            accepted = False
        return not accepted if claim["activation"] is None else accepted
    if statement.kind == "default_activation":
        layer = keras.layers.Dense(1) if claim["class_name"] == "Dense" else keras.layers.Conv2D(1, 1)
        return layer.get_config()["activation"] == claim["activation"]
    if statement.kind == "dropout_params":
        without = keras_model(spec.without_layers({claim["layer"]})).count_params()
        change = without - model.count_params()
        return change == 0 if claim.get("unchanged") else change == claim["before"] - claim["after"]
    if statement.kind == "dropout_shape":
        return list(model.layers[claim["layer"]].output.shape) == claim["shape"]
    if statement.kind == "kernel_pool_match":
        # true exactly when a model whose kernel and pool sizes differ builds and runs
        kernels = {tuple(layer.kernel_size) for layer in model.layers
                   if isinstance(layer, keras.layers.Conv2D)}
        pools = {tuple(layer.pool_size) for layer in model.layers
                 if isinstance(layer, keras.layers.MaxPooling2D | keras.layers.AveragePooling2D)}
        runs = bool(np.isfinite(model(x).numpy()).all())
        return (kernels != pools and runs) != claim["must_match"]
    layer = model.layers[claim["layer"]]
    value = layer.count_params() if statement.kind == "layer_params" else layer.output.shape[-1]
    return value == claim["value"]


@pytest.mark.parametrize("seed", range(12))
def test_statement_truth_by_independent_execution(seed, oracle):
    rng = random.Random(seed)
    spec = (cnn if seed % 2 else mlp)(rng)
    facts = oracle.facts(spec)
    true = 1 + seed % 3
    chosen = choose_statements(oracle, spec, facts, rng, 4, true)
    assert len(chosen) == 4 and len({s.kind for s in chosen}) == 4
    assert sum(s.true for s in chosen) == true
    for statement in chosen:
        assert statement.true == independent_truth(spec, statement), statement
        assert (statement.misconception is None) == statement.true


def test_seed_000_only_the_softmax_statement_is_true(bank, oracle):
    template = next(t for t in bank if t.id == "classic-final-exam")
    (question,) = make_item(template, 0, oracle).questions
    assert question.kind == "multiple_choice" and question.answer == (4,)
    assert [choice.misconception for choice in question.choices] == [
        "kernel_pool_must_match", "pooling_has_activation", "dropout_removes_params", None]
    assert "from 1,600 to 800" in question.choices[2].text
    assert "multi-class" in question.choices[3].text


def test_every_variant_has_as_many_true_statements(bank, oracle):
    """The multi-select scoring (1/k per correct option) is the same in every variant: the
    number of true statements is the ask's `true_count`, by default half of `count`."""
    template = next(t for t in bank if t.id == "statements")
    counts = {sum(c.correct for c in make_item(template, seed, oracle).questions[0].choices)
              for seed in range(8)}
    assert counts == {template.asks[0].true_statements} == {2}


def test_true_count_must_leave_a_false_statement(tmp_path):
    from quizgen.bank import load_template
    from quizgen.errors import TemplateError

    source = (Path(__file__).parent.parent / "question_bank" / "statements.yaml").read_text()
    path = tmp_path / "all-true.yaml"
    path.write_text(source.replace("  - fact: statements\n", "  - fact: statements\n    true_count: 4\n"))
    with pytest.raises(TemplateError, match=r"all-true.yaml: asks\[0\].true_count: 4 of 4"):
        load_template(path)


def test_unknown_statement_kind_is_named(tmp_path):
    from quizgen.bank import load_template
    from quizgen.errors import TemplateError

    path = tmp_path / "bad.yaml"
    path.write_text("title: t\ntopic: t\ndifficulty: 1\nmodel: {sampler: mlp}\nasks:\n"
                    "  - fact: statements\n    text: Which?\n"
                    "    statements: [{kind: nope}, {kind: output_task}]\n")
    message = r"bad.yaml: asks\[0\].statements\[0\].kind: unknown kind 'nope'"
    with pytest.raises(TemplateError, match=message):
        load_template(path)


def test_dropout_keeps_the_shape(oracle):
    from quizgen.spec import LayerSpec, ModelSpec

    spec = ModelSpec((20,), (LayerSpec.make("Dense", units=8), LayerSpec.make("Dropout", rate=0.5),
                             LayerSpec.make("Dense", units=2, activation="softmax")))
    facts = oracle.facts(spec)
    kept = make_statement(oracle, spec, facts, "dropout_shape", {"layer": 1, "shape": [None, 8]})
    halved = make_statement(oracle, spec, facts, "dropout_shape", {"layer": 1, "shape": [None, 4]})
    assert kept.true and not halved.true and halved.misconception == "dropout_removes_units"
    assert "(None, 4)" in halved.text


def test_kinds_bound_the_statements_drawn(oracle):
    """An ask's `kinds` is the pool its statements are drawn from (the questions about an
    instructor's own model leave out those that state a number another question asks)."""
    kinds = ("output_task", "pooling_activation", "default_activation", "kernel_pool_match")
    for seed in range(6):
        spec = cnn(random.Random(seed))
        facts = oracle.facts(spec)
        chosen = choose_statements(oracle, spec, facts, random.Random(seed), 3, 1, kinds=kinds)
        assert {statement.kind for statement in chosen} <= set(kinds)
        assert len({statement.kind for statement in chosen}) == 3


@pytest.mark.parametrize("kinds, message", [
    ("[output_task, nope]", r"bad.yaml: asks\[0\].kinds\[1\]: unknown kind 'nope'"),
    ("[output_task, non_negative]", r"bad.yaml: asks\[0\].kinds: 2 kinds for 4 statements"),
])
def test_kinds_must_be_known_and_enough(tmp_path, kinds, message):
    from quizgen.bank import load_template
    from quizgen.errors import TemplateError

    path = tmp_path / "bad.yaml"
    path.write_text("title: t\ntopic: t\ndifficulty: 1\nmodel: {sampler: mlp}\nasks:\n"
                    f"  - fact: statements\n    text: Which?\n    kinds: {kinds}\n")
    with pytest.raises(TemplateError, match=message):
        load_template(path)


def test_a_two_class_softmax_gets_no_task_statement(oracle):
    """A 2-unit softmax is a binary classifier as much as a multi-class one: no statement
    about the task it implies is offered (either verdict would be disputed)."""
    from quizgen.spec import LayerSpec, ModelSpec

    spec = ModelSpec((6,), (LayerSpec.make("Dense", units=8, activation="relu"),
                            LayerSpec.make("Dense", units=2, activation="softmax")))
    facts = oracle.facts(spec)
    for seed in range(5):
        chosen = choose_statements(oracle, spec, facts, random.Random(seed), 2, 1)
        assert "output_task" not in {statement.kind for statement in chosen}
    three = ModelSpec((6,), (spec.layers[0], LayerSpec.make("Dense", units=3, activation="softmax")))
    chosen = choose_statements(oracle, three, oracle.facts(three), random.Random(0), 2, 1,
                               kinds=("output_task", "default_activation"))
    assert {statement.kind for statement in chosen} == {"output_task", "default_activation"}
