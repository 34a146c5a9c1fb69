"""The Keras oracle against sympy closed forms, over many random architectures."""

import random

import pytest

from quizgen import formulas, oracle
from quizgen.errors import ArchitectureError
from quizgen.sample import MAX_FLATTEN, MIN_SIZE, cnn, mlp
from quizgen.spec import LayerSpec, ModelSpec

SEEDS = range(40)


def assert_matches_closed_form(spec: ModelSpec) -> None:
    facts = oracle.facts(spec)
    forms = formulas.model_closed_form(spec)
    assert len(facts.layers) == len(forms)
    for known, form in zip(facts.layers, forms, strict=True):
        assert known.output_shape == form.output_shape, known.name
        assert known.params == form.params, known.name
        assert known.trainable_params == form.trainable_params, known.name
        assert known.non_trainable_params == form.non_trainable_params, known.name
        assert [(w.name, w.shape) for w in known.weights] == list(form.weights), known.name
    assert facts.total_params == sum(form.params for form in forms)
    assert facts.non_trainable_params == sum(form.non_trainable_params for form in forms)


@pytest.mark.parametrize("seed", SEEDS)
def test_cnn_facts_equal_closed_forms(seed):
    spec = cnn(random.Random(seed), batch_normalization=seed % 3 == 0)
    assert_matches_closed_form(spec)
    shapes = [form.output_shape for form in formulas.model_closed_form(spec)]
    assert all(size >= MIN_SIZE for shape in shapes if len(shape) == 4 for size in shape[1:3])
    flatten = next(shape for layer, shape in zip(spec, shapes, strict=True)
                   if layer.class_name == "Flatten")
    assert flatten[1] <= MAX_FLATTEN


@pytest.mark.parametrize("seed", SEEDS)
def test_mlp_facts_equal_closed_forms(seed):
    assert_matches_closed_form(mlp(random.Random(seed), batch_normalization=seed % 2 == 0))


def test_samplers_are_deterministic_and_varied():
    assert cnn(random.Random(3)) == cnn(random.Random(3))
    assert len({cnn(random.Random(seed)) for seed in SEEDS}) == len(SEEDS)


def test_same_padding_and_strides_closed_form():
    spec = ModelSpec((128, 128, 3), (LayerSpec.make(
        "Conv2D", filters=32, kernel_size=3, strides=2, padding="same"),))
    facts = oracle.facts(spec)
    assert facts.layers[0].output_shape == (None, 64, 64, 32)
    assert facts.total_params == 896
    assert_matches_closed_form(spec)


def test_batchnorm_split_trainable():
    spec = ModelSpec((10,), (LayerSpec.make("Dense", units=8), LayerSpec.make("BatchNormalization")))
    facts = oracle.facts(spec)
    assert (facts.trainable_params, facts.non_trainable_params) == (88 + 16, 16)


def test_impossible_architecture_is_a_clear_error():
    spec = ModelSpec((4, 4, 1), (LayerSpec.make("Conv2D", filters=2, kernel_size=5),))
    with pytest.raises(ArchitectureError, match="negative"):
        oracle.facts(spec)
    with pytest.raises(ArchitectureError, match="does not fit"):
        formulas.model_closed_form(spec)
    with pytest.raises(ArchitectureError, match="layer 0"):
        oracle.facts(ModelSpec((4,), (LayerSpec.make("Dense", units=2, bogus=1),)))
