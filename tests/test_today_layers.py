"""Today's layers: the closed forms of a dilated or grouped Conv2D, ZeroPadding2D, Cropping2D,
UpSampling2D, Reshape, LayerNormalization, Conv3D and 3-D pooling equal what Keras builds, over many sampled
configurations (property tests); the `reshaping` sampler's models and the misconceptions that
belong to these layers, executed."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from quizgen import formulas
from quizgen.errors import ArchitectureError
from quizgen.facts import FactRef
from quizgen.families import model_facts
from quizgen.oracle import Oracle
from quizgen.sample import reshaping, volumetric
from quizgen.spec import LayerSpec, ModelSpec

ORACLE = Oracle()
SIZES = st.integers(1, 12)


def agrees(layer: LayerSpec, input_shape: tuple) -> None:
    """The closed form of `layer` on `input_shape` is Keras' (or both refuse it)."""
    try:
        keras = ORACLE.layer_facts(layer, input_shape)
    except Exception as error:  # noqa: BLE001 - Keras refuses: the formulas must too
        try:
            form = formulas.layer_closed_form(layer, input_shape)
        except ArchitectureError:
            return
        raise AssertionError(f"Keras refuses {layer} on {input_shape} ({error}); the closed "
                             f"form gives {form}") from None
    form = formulas.layer_closed_form(layer, input_shape)
    assert (form.output_shape, form.params, form.trainable_params) == (
        keras.output_shape, keras.params, keras.trainable_params), (layer, input_shape)
    assert tuple(shape for _, shape in form.weights) == tuple(w.shape for w in keras.weights)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(height=st.integers(5, 16), width=st.integers(5, 16), groups=st.sampled_from((1, 2, 4)),
       per_group=st.integers(1, 3), filters_per_group=st.integers(1, 3),
       kernel=st.integers(1, 3), dilation=st.integers(1, 3),
       padding=st.sampled_from(("valid", "same")), bias=st.booleans())
def test_dilated_grouped_conv2d(height, width, groups, per_group, filters_per_group, kernel,
                                dilation, padding, bias):
    layer = LayerSpec.make("Conv2D", filters=groups * filters_per_group, kernel_size=kernel,
                           dilation_rate=dilation, groups=groups, padding=padding, use_bias=bias)
    agrees(layer, (None, height, width, groups * per_group))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(height=SIZES, width=SIZES, channels=st.integers(1, 4),
       amounts=st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3)),
                         st.tuples(st.tuples(st.integers(0, 3), st.integers(0, 3)),
                                   st.tuples(st.integers(0, 3), st.integers(0, 3)))),
       cropping=st.booleans())
def test_zero_padding_and_cropping(height, width, channels, amounts, cropping):
    layer = (LayerSpec.make("Cropping2D", cropping=amounts) if cropping
             else LayerSpec.make("ZeroPadding2D", padding=amounts))
    agrees(layer, (None, height, width, channels))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(height=SIZES, width=SIZES, channels=st.integers(1, 4),
       size=st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 4), st.integers(1, 4))))
def test_upsampling(height, width, channels, size):
    agrees(LayerSpec.make("UpSampling2D", size=size), (None, height, width, channels))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(sizes=st.lists(st.integers(1, 6), min_size=1, max_size=3), unknown=st.booleans(),
       order=st.randoms(use_true_random=False))
def test_reshape(sizes, unknown, order):
    """The same values laid out otherwise (a shuffled factorization, one size maybe -1)."""
    target = list(sizes)
    order.shuffle(target)
    if unknown:
        target[0] = -1
    agrees(LayerSpec.make("Reshape", target_shape=tuple(target)), (None, *sizes))


@settings(max_examples=30, deadline=None, derandomize=True)
@given(shape=st.lists(st.integers(1, 8), min_size=1, max_size=3))
def test_layer_normalization(shape):
    agrees(LayerSpec.make("LayerNormalization"), (None, *shape))


def test_reshaping_models_and_their_misconceptions(oracle):
    labels = {m.label: m for m in model_facts.MISCONCEPTIONS}
    seen = set()
    for seed in range(30):
        spec = reshaping(random.Random(seed))
        facts = oracle.facts(spec)
        assert facts == oracle.model_facts(spec)
        forms = formulas.model_closed_form(spec)
        assert [(f.output_shape, f.params) for f in forms] == [
            (k.output_shape, k.params) for k in facts.layers]
        first, resize, second = spec.layers[0], spec.layers[1], spec.layers[2]
        if first.get("dilation_rate"):
            wrong = labels["dilation_ignored"].answer(oracle, spec, FactRef("output_shape", 0), facts)
            if first.get("padding") == "valid":
                # each side loses 4 pixels to a dilated 3×3 kernel (it spans 5×5), not 2
                assert wrong[1] == facts.layers[0].output_shape[1] + 2
                seen.add("dilation_ignored")
        if second.get("groups"):
            wrong = labels["groups_ignored"].answer(oracle, spec, FactRef("params", 2), facts)
            kernel = 9 * facts.layers[2].input_shape[-1] * second.get("filters")
            assert facts.layers[2].params == kernel // 2 + second.get("filters")
            assert wrong == kernel + second.get("filters")
            seen.add("groups_ignored")
        if resize.class_name in ("ZeroPadding2D", "Cropping2D"):
            label = "padding_one_side" if resize.class_name == "ZeroPadding2D" else "cropping_one_side"
            wrong = labels[label].answer(oracle, spec, FactRef("output_shape", 1), facts)
            amount = resize.get("padding") or resize.get("cropping")
            sign = 1 if resize.class_name == "ZeroPadding2D" else -1
            assert wrong[1] == facts.layers[0].output_shape[1] + sign * amount
            seen.add(label)
        norm = labels["layernorm_as_batchnorm"].answer(oracle, spec, FactRef("non_trainable_params"), facts)
        assert norm == 2 * facts.layers[3].output_shape[-1]  # BatchNormalization's moving statistics
    assert seen == {"dilation_ignored", "groups_ignored", "padding_one_side", "cropping_one_side"}


@settings(max_examples=50, deadline=None, derandomize=True)
@given(sizes=st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 9)),
       channels=st.integers(1, 3), filters=st.integers(1, 4),
       kernel=st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3),
                                                     st.integers(1, 3))),
       strides=st.one_of(st.none(), st.integers(1, 2)), padding=st.sampled_from(("valid", "same")),
       bias=st.booleans(), pooling=st.sampled_from((None, "MaxPooling3D", "AveragePooling3D")))
def test_conv3d_and_3d_pooling(sizes, channels, filters, kernel, strides, padding, bias, pooling):
    if pooling is None:
        layer = LayerSpec.make("Conv3D", filters=filters, kernel_size=kernel, strides=strides,
                               padding=padding, use_bias=bias)
    else:
        layer = LayerSpec.make(pooling, pool_size=kernel, strides=strides, padding=padding)
    agrees(layer, (None, *sizes, channels))


def test_volumetric_models_and_their_mistakes():
    for seed in range(10):
        spec = volumetric(random.Random(seed))
        facts = ORACLE.facts(spec)
        assert facts == ORACLE.model_facts(spec)
        assert [form.params for form in formulas.model_closed_form(spec)] == [
            known.params for known in facts.layers]
    spec = ModelSpec((8, 16, 16, 1), (LayerSpec.make("Conv3D", filters=4, kernel_size=3),
                                      LayerSpec.make("GlobalAveragePooling3D")))
    facts = ORACLE.facts(spec)
    by_label = {m.label: m for m in model_facts.MISCONCEPTIONS}
    # (3·3·3·1 + 1)·4 = 112; flat: (3·3·1 + 1)·4 = 40; output (None, 6, 14, 14, 4)
    assert facts.layers[0].params == 112
    assert by_label["conv3d_kernel_flat"].answer(ORACLE, spec, FactRef("params", 0), facts) == 40
    assert by_label["depth_axis_forgotten"].answer(
        ORACLE, spec, FactRef("output_shape", 0), facts) == (None, 14, 14, 4)
