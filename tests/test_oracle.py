"""The Keras oracle against sympy closed forms, over many random architectures."""

import random
import sys
import threading
import time

import pytest

from quizgen import formulas
from quizgen.errors import ArchitectureError
from quizgen.oracle import Oracle, _probe_outputs
from quizgen.sample import MAX_FLATTEN, MIN_SIZE, cnn, mlp, modern_cnn, sequence, signal
from quizgen.spec import LayerSpec, ModelSpec

SEEDS = range(40)

#: The oracle of these tests (without the persistent cache: every model is built here).
ORACLE = Oracle()


def assert_matches_closed_form(spec: ModelSpec) -> None:
    facts = ORACLE.facts(spec)
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


@pytest.mark.parametrize("sampler", [sequence, signal, modern_cnn])
def test_beyond_the_seeds_facts_equal_closed_forms(sampler):
    # Conv1D, Conv2DTranspose, SeparableConv2D, DepthwiseConv2D, global pooling, Embedding,
    # SimpleRNN, LSTM, GRU (both reset_after), Bidirectional
    for seed in range(15):
        assert_matches_closed_form(sampler(random.Random(seed)))


@pytest.mark.parametrize("sampler", [cnn, mlp, sequence, signal, modern_cnn])
def test_layer_by_layer_facts_equal_the_whole_models(sampler):
    # generation composes facts of layers built one by one; verify builds the whole model
    for seed in range(6):
        spec = sampler(random.Random(seed))
        assert ORACLE.facts(spec) == ORACLE.model_facts(spec), spec.code()


def test_gru_reset_after_and_bidirectional_counts():
    gru = ModelSpec((10, 4), (LayerSpec.make("GRU", units=5),))
    old_gru = ModelSpec((10, 4), (LayerSpec.make("GRU", units=5, reset_after=False),))
    lstm = {"module": "keras.layers", "class_name": "LSTM", "config": {"units": 3}}
    both = ModelSpec((10, 4), (LayerSpec.make("Bidirectional", layer=lstm),))
    assert ORACLE.facts(gru).total_params == 3 * 5 * (4 + 5 + 2) == 165
    assert ORACLE.facts(old_gru).total_params == 3 * 5 * (4 + 5 + 1) == 150
    assert ORACLE.facts(both).total_params == 2 * 4 * 3 * (4 + 3 + 1)
    assert ORACLE.facts(both).layers[0].output_shape == (None, 6)
    for spec in (gru, old_gru, both):
        assert_matches_closed_form(spec)


def test_samplers_are_deterministic_and_varied():
    assert cnn(random.Random(3)) == cnn(random.Random(3))
    assert len({cnn(random.Random(seed)) for seed in SEEDS}) == len(SEEDS)


def test_same_padding_and_strides_closed_form():
    spec = ModelSpec((128, 128, 3), (LayerSpec.make(
        "Conv2D", filters=32, kernel_size=3, strides=2, padding="same"),))
    facts = ORACLE.facts(spec)
    assert facts.layers[0].output_shape == (None, 64, 64, 32)
    assert facts.total_params == 896
    assert_matches_closed_form(spec)


def test_batchnorm_split_trainable():
    spec = ModelSpec((10,), (LayerSpec.make("Dense", units=8), LayerSpec.make("BatchNormalization")))
    facts = ORACLE.facts(spec)
    assert (facts.trainable_params, facts.non_trainable_params) == (88 + 16, 16)


def test_impossible_architecture_is_a_clear_error():
    spec = ModelSpec((4, 4, 1), (LayerSpec.make("Conv2D", filters=2, kernel_size=5),))
    with pytest.raises(ArchitectureError, match="negative"):
        ORACLE.facts(spec)
    with pytest.raises(ArchitectureError, match="does not fit"):
        formulas.model_closed_form(spec)
    with pytest.raises(ArchitectureError, match="layer 0"):
        ORACLE.facts(ModelSpec((4,), (LayerSpec.make("Dense", units=2, bogus=1),)))


def test_probe_weights_do_not_depend_on_other_threads():
    # Keras' unseeded initializers draw from Python's shared `random`; a Dask worker's threads
    # draw from it too. Probes seed every initializer, so their outputs never change.
    spec = ModelSpec((8, 8, 3), (LayerSpec.make("Conv2D", filters=4, kernel_size=3, activation="relu"),
                                 LayerSpec.make("Flatten"),
                                 LayerSpec.make("Dense", units=3, activation="softmax")))
    quiet = [_probe_outputs(spec)[2]]
    stop = threading.Event()

    def noise():
        while not stop.is_set():
            random.random()
            time.sleep(0.0001)

    thread = threading.Thread(target=noise)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # let the threads take turns often
    thread.start()
    try:
        noisy = [_probe_outputs(spec)[2] for _ in range(3)]
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(switch)
    assert noisy == quiet * 3
    assert 0 <= quiet[0][0] < quiet[0][1] <= 1 and quiet[0][2] < 1e-5  # softmax: rows sum to 1
