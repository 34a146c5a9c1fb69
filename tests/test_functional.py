"""Functional models as data: the `residual` and `branches` samplers, facts along the graph
(layer by layer) against the whole model built with `keras.Model.from_config` and executed,
the closed forms of merges against Keras, the key's functional config, and the misconceptions
that belong to branches."""

from __future__ import annotations

import copy
import random

import pytest

from quizgen import formulas
from quizgen import oracle as keras_oracle
from quizgen.facts import FactRef
from quizgen.families import model_facts
from quizgen.sample import branches, residual, two_inputs
from quizgen.spec import INPUT, LayerSpec, ModelSpec

SAMPLERS = {"residual": residual, "branches": branches}


@pytest.mark.parametrize("name", SAMPLERS)
def test_sampled_graphs_layer_by_layer_equal_the_whole_model(name, oracle):
    for seed in range(12):
        spec = SAMPLERS[name](random.Random(seed))
        assert spec.inbound is not None and len(spec.inbound) == len(spec.layers)
        facts = oracle.facts(spec)
        assert facts == oracle.model_facts(spec), (name, seed)
        # the closed forms agree with Keras on every layer (merges included)
        forms = formulas.model_closed_form(spec)
        assert [(f.output_shape, f.params) for f in forms] == [
            (known.output_shape, known.params) for known in facts.layers], (name, seed)
        # Keras' own recipe rebuilds the key's model
        config = spec.functional_config([known.output_shape for known in facts.layers])
        model = keras_oracle.keras().Model.from_config(copy.deepcopy(config))
        assert model.count_params() == facts.total_params
        assert ModelSpec.from_json(config) == spec
        assert ModelSpec.from_json(spec.to_json()) == spec


def test_residual_block_with_and_without_projection(oracle):
    plain = residual(random.Random(3), projection=False)
    projected = residual(random.Random(3), projection=True)
    def add(spec: ModelSpec) -> int:
        return [layer.class_name for layer in spec.layers].index("Add")

    assert plain.sources(add(plain))[1] == 0  # the identity shortcut: the stem's output
    shortcut = projected.layers[projected.sources(add(projected))[1]]
    assert shortcut.class_name == "Conv2D" and shortcut.get("kernel_size") == 1
    facts = oracle.facts(plain)
    channels = facts.layers[0].output_shape[-1]
    mutated, _ = model_facts._shortcut_convolved(plain, FactRef("total_params"), facts)
    # a 1×1 convolution of C filters on C channels: C·C weights and C biases
    assert oracle.facts(mutated).total_params == facts.total_params + channels * channels + channels
    assert model_facts._shortcut_convolved(projected, FactRef("total_params"),
                                           oracle.facts(projected)) is None


def test_concatenation_thought_to_add(oracle):
    spec = next(s for seed in range(40) if (s := branches(random.Random(seed)))
                and len({oracle.facts(s).layers[i].output_shape for i in s.sources(3)}) == 1)
    ref = FactRef("output_shape", 3)
    facts = oracle.facts(spec)
    misconception = next(m for m in model_facts.MISCONCEPTIONS if m.label == "concatenation_as_add")
    wrong = misconception.answer(oracle, spec, ref, facts)
    branch = facts.layers[spec.sources(3)[0]].output_shape
    assert facts.layers[3].output_shape[-1] == 2 * branch[-1]
    assert wrong == branch  # the channels of one branch, as Add keeps them


def test_inserting_and_removing_layers_of_a_graph():
    spec = ModelSpec((8, 8, 4), (LayerSpec.make("Conv2D", filters=4, kernel_size=3, padding="same"),
                                 LayerSpec.make("BatchNormalization"), LayerSpec.make("Add")),
                     ((INPUT,), (0,), (1, INPUT)))
    inserted = spec.with_layer_before(2, LayerSpec.make("Conv2D", filters=4, kernel_size=1), INPUT)
    assert inserted.inbound == ((INPUT,), (0,), (INPUT,), (1, 2))
    assert spec.without_layers({1}).inbound == ((INPUT,), (0, INPUT))
    assert "add = layers.Add()([batch_normalization, inputs])" in spec.code()


@pytest.mark.parametrize("inbound", [((0,),), ((INPUT,), (1,))])
def test_a_layer_fed_by_itself_or_a_later_one_is_refused(inbound):
    from quizgen.errors import TemplateError

    data = {"input_shape": [4], "layers": [{"class_name": "Dense", "config": {"units": 2}}] * len(inbound),
            "inbound": [list(sources) for sources in inbound]}
    with pytest.raises(TemplateError, match="inbound: each layer takes tensors from the input"):
        ModelSpec.from_json(data)


def test_two_inputs_along_the_graph_and_in_keras_config(oracle):
    for seed in range(8):
        spec = two_inputs(random.Random(seed))
        assert len(spec.inputs) == 2 and spec.sources(0) == (INPUT - 1,)  # the features' Dense
        facts = oracle.facts(spec)
        assert facts == oracle.model_facts(spec), seed
        assert [form.params for form in formulas.model_closed_form(spec)] == [
            known.params for known in facts.layers]
        config = spec.functional_config([known.output_shape for known in facts.layers])
        model = keras_oracle.keras().Model.from_config(copy.deepcopy(config))
        assert [tuple(tensor.shape) for tensor in model.inputs] == [
            (None, *shape) for shape in spec.inputs]
        assert model.count_params() == facts.total_params
        assert ModelSpec.from_json(config) == spec == ModelSpec.from_json(spec.to_json())
        assert "model = keras.Model([inputs_1, inputs_2], " in spec.code()


def test_concatenated_branch_forgotten(oracle):
    from quizgen.errors import TemplateError

    spec = ModelSpec((8, 8, 3), (
        LayerSpec.make("Dense", units=4), LayerSpec.make("Conv2D", filters=6, kernel_size=3),
        LayerSpec.make("GlobalAveragePooling2D"), LayerSpec.make("Concatenate"),
        LayerSpec.make("Dense", units=2)), ((INPUT - 1,), (INPUT,), (1,), (2, 0), (3,)), ((5,),))
    facts = oracle.facts(spec)
    # the output Dense on 6 + 4 features: (10 + 1)·2 = 22; on the image's 6 alone: 14
    assert facts.layers[4].params == 22
    [forgotten] = [m for m in model_facts.MISCONCEPTIONS if m.label == "concatenated_branch_forgotten"]
    assert forgotten.answer(oracle, spec, FactRef("params", 4), facts) == 14
    with pytest.raises(TemplateError, match=r"from an input \(-1 to -2\)"):
        ModelSpec.from_json({**spec.to_json(), "inbound": [[INPUT - 2], [INPUT], [1], [2, 0], [3]]})


TWO_INPUT_FILE = """\
import keras
from keras import layers

image = keras.Input(shape=(32, 32, 3), name="image")
meta = keras.Input(shape=(6,), name="meta")
x = layers.Conv2D(8, 3, activation="relu")(image)
x = layers.GlobalAveragePooling2D()(x)
y = layers.Dense(4, activation="relu")(meta)
model = keras.Model([image, meta], layers.Dense(3)(layers.Concatenate()([x, y])))
"""


def test_an_instructors_two_input_model(tmp_path, oracle):
    path = tmp_path / "two_inputs.py"
    path.write_text(TWO_INPUT_FILE)
    model = keras_oracle.load_user_model(str(path))
    spec = keras_oracle.model_spec(model, str(path))
    assert spec.inputs == ((32, 32, 3), (6,))
    facts = oracle.facts(spec)
    assert facts.total_params == model.count_params() == (3 * 3 * 3 + 1) * 8 + (6 + 1) * 4 + (12 + 1) * 3


def test_projection_forgotten(oracle):
    projected = residual(random.Random(3), projection=True)
    facts = oracle.facts(projected)
    [forgotten] = [m for m in model_facts.MISCONCEPTIONS if m.label == "projection_forgotten"]
    [shortcut] = model_facts._projections(projected)
    conv = projected.layers[shortcut]
    channels = facts.layers[projected.sources(shortcut)[0]].output_shape[-1]
    # a 1×1 convolution of F filters on C channels: C·F weights and F biases
    params = channels * conv.get("filters") + conv.get("filters")
    assert facts.layers[shortcut].params == params
    assert forgotten.answer(oracle, projected, FactRef("total_params"), facts) == (
        facts.total_params - params)
    plain = residual(random.Random(3), projection=False)
    assert forgotten.answer(oracle, plain, FactRef("total_params"), oracle.facts(plain)) is None
