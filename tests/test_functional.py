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
from quizgen.sample import branches, residual
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
