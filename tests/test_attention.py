"""Attention: MultiHeadAttention's closed form against Keras over many configurations
(property test), the `transformer` sampler's encoder blocks along the graph and rebuilt with
`keras.Model.from_config`, the misconceptions that belong to attention, executed, and an
instructor's Transformer file as a source of questions."""

from __future__ import annotations

import copy
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quizgen import formulas
from quizgen import oracle as keras_oracle
from quizgen.errors import ArchitectureError
from quizgen.facts import FactRef
from quizgen.families import model_facts
from quizgen.oracle import Oracle
from quizgen.sample import transformer
from quizgen.spec import INPUT, LayerSpec, ModelSpec

ORACLE = Oracle()
DIMS = st.integers(1, 8)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(heads=st.integers(1, 4), key_dim=DIMS, value_dim=st.none() | DIMS,
       output_shape=st.none() | DIMS, bias=st.booleans(), query=st.tuples(DIMS, DIMS),
       value=st.tuples(DIMS, DIMS), key=st.none() | DIMS)
def test_multi_head_attention_closed_form_is_keras(heads, key_dim, value_dim, output_shape,
                                                   bias, query, value, key):
    """Query (T_q, n_q), value (T_v, n_v) and, maybe, a key (T_v, n_k) of its own."""
    layer = LayerSpec.make("MultiHeadAttention", num_heads=heads, key_dim=key_dim,
                           value_dim=value_dim, output_shape=output_shape, use_bias=bias)
    shapes = ((None, *query), (None, *value)) + (() if key is None else ((None, value[0], key),))
    built = ORACLE.layer_facts(layer, shapes)
    form = formulas.layer_closed_form(layer, shapes)
    assert (form.output_shape, form.params) == (built.output_shape, built.params)
    assert list(form.weights) == [(weight.name, weight.shape) for weight in built.weights]
    assert built.output_shape == (None, query[0], output_shape or query[1])


def test_attention_needs_a_query_and_a_value():
    layer = LayerSpec.make("MultiHeadAttention", num_heads=2, key_dim=4)
    with pytest.raises(ArchitectureError, match="called on a query and a value"):
        formulas.layer_closed_form(layer, (None, 10, 16))


def test_transformer_blocks_along_the_graph_equal_the_whole_model(oracle):
    kinds = set()
    for seed in range(10):
        spec = transformer(random.Random(seed))
        facts = oracle.facts(spec)
        assert facts == oracle.model_facts(spec), seed
        forms = formulas.model_closed_form(spec)
        assert [(f.output_shape, f.params, list(f.weights)) for f in forms] == [
            (known.output_shape, known.params, [(w.name, w.shape) for w in known.weights])
            for known in facts.layers], seed
        config = spec.functional_config([known.output_shape for known in facts.layers])
        model = keras_oracle.keras().Model.from_config(copy.deepcopy(config))
        assert model.count_params() == facts.total_params
        assert ModelSpec.from_json(json.loads(json.dumps(config))) == spec
        attention = [layer.class_name for layer in spec.layers].index("MultiHeadAttention")
        assert spec.sources(attention)[0] == spec.sources(attention)[1]  # self-attention
        name = "inputs" if spec.sources(attention)[0] == INPUT else "embedding"
        assert f"(num_heads={spec.layers[attention].get('num_heads')}, key_dim=" in spec.code()
        assert f")({name}, {name})\n" in spec.code()
        kinds.add((len(spec.input_shape), spec.layers[attention].get("value_dim") is None))
    assert len(kinds) >= 3  # token ids and vectors in, with and without a value_dim


SELF_ATTENTION = ModelSpec((10, 16), (
    LayerSpec.make("MultiHeadAttention", num_heads=4, key_dim=8),
    LayerSpec.make("Add"), LayerSpec.make("LayerNormalization")), ((INPUT, INPUT), (INPUT, 0), (1,)))


@pytest.mark.parametrize("label, fact, wrong", [
    # right: 3 projections of (16 + 1)·4·8 = 544, and the output 4·8·16 + 16 = 528: 2,160
    ("attention_heads_share_projections", "params", 3 * (16 + 1) * 8 + 8 * 16 + 16),
    ("attention_output_forgotten", "params", 3 * 544),
    ("attention_one_projection", "params", 544 + 528),
    ("attention_without_biases", "params", 3 * 16 * 32 + 32 * 16),
    ("attention_output_forgotten", "total_params", 3 * 544 + 2 * 16),
    ("attention_scores_as_output", "output_shape", (None, 4, 10, 10)),
])
def test_attention_misconceptions_executed(label, fact, wrong):
    facts = ORACLE.facts(SELF_ATTENTION)
    assert facts.layers[0].params == 2_160 and facts.total_params == 2_160 + 2 * 16
    ref = FactRef(fact, None if fact == "total_params" else 0)
    [misconception] = [m for m in model_facts.MISCONCEPTIONS if m.label == label]
    assert misconception.answer(ORACLE, SELF_ATTENTION, ref, facts) == wrong


def test_heads_of_the_query_width_leave_the_output_shape_mistake_out():
    """4 heads of key_dim 4 on 16 features: concatenated heads have the query's width, so
    forgetting the output projection gives the right shape, and is no distractor."""
    spec = SELF_ATTENTION.replace_layer(0, SELF_ATTENTION.layers[0].with_config(key_dim=4))
    facts = ORACLE.facts(spec)
    [forgotten] = [m for m in model_facts.MISCONCEPTIONS if m.label == "attention_output_forgotten"]
    assert forgotten.answer(ORACLE, spec, FactRef("output_shape", 0), facts) == (None, 10, 16)
    assert model_facts.wrong_answers(spec, FactRef("params", 0), facts, ORACLE,
                                     random.Random(0))  # three distinct wrong counts remain


ENCODER_FILE = """\
import keras
from keras import layers

inputs = keras.Input(shape=(12, 32))
x = layers.MultiHeadAttention(num_heads=2, key_dim=16, name="attention")(inputs, inputs)
x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([inputs, x]))
y = layers.Dense(64, activation="relu")(x)
y = layers.Dense(32)(y)
x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, y]))
x = layers.GlobalAveragePooling1D()(x)
model = keras.Model(inputs, layers.Dense(2, activation="softmax")(x))
"""


def test_an_instructors_encoder_block_is_a_source_of_questions(tmp_path):
    from click.testing import CliRunner

    from quizgen.cli import main
    from quizgen.verify import verify_key

    path = tmp_path / "encoder.py"
    path.write_text(ENCODER_FILE)
    model = keras_oracle.load_user_model(str(path))
    spec = keras_oracle.model_spec(model, str(path))
    assert spec.sources(0) == (INPUT, INPUT)
    facts = ORACLE.facts(spec)
    assert facts.total_params == model.count_params()
    assert facts.layers[0].name == "attention" and facts.layers[0].params == (
        3 * (32 + 1) * 2 * 16 + 2 * 16 * 32 + 32)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["generate", "--model", str(path), "--variants", "2",
                                       "--seed", "1", "--out", str(out), "--jobs", "1",
                                       "--no-cache", "--format", "md"])
    assert result.exit_code == 0, result.output
    key = json.loads((out / "key.json").read_text())
    assert verify_key(key).ok
    assert ENCODER_FILE in (out / "variant-1.md").read_text()  # the file, verbatim


def test_attention_on_tensors_passed_by_keyword_is_a_clear_error(tmp_path):
    path = tmp_path / "keyword.py"
    path.write_text(ENCODER_FILE.replace("(inputs, inputs)", "(query=inputs, value=inputs)"))
    model = keras_oracle.load_user_model(str(path))
    with pytest.raises(ArchitectureError, match="passed by keyword") as error:
        keras_oracle.model_spec(model, str(path))
    assert str(path) in str(error.value) and "'attention'" in str(error.value)
