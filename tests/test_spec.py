"""ModelSpec: JSON round-trip, hashing, deterministic names, and code that really builds."""

import keras
import pytest

from quizgen.errors import TemplateError
from quizgen.spec import LayerSpec, ModelSpec, snake_case

MNIST = ModelSpec((28, 28, 1), (
    LayerSpec.make("Conv2D", filters=32, kernel_size=(3, 3), activation="relu"),
    LayerSpec.make("MaxPooling2D", pool_size=(2, 2)),
    LayerSpec.make("Conv2D", filters=64, kernel_size=(3, 3), activation="relu"),
    LayerSpec.make("MaxPooling2D", pool_size=(2, 2)),
    LayerSpec.make("Flatten"),
    LayerSpec.make("Dropout", rate=0.5),
    LayerSpec.make("Dense", units=10, activation="softmax"),
))


def test_json_round_trip_and_hash():
    data = MNIST.to_json()
    again = ModelSpec.from_json(data)
    assert again == MNIST and hash(again) == hash(MNIST)
    assert again.digest() == MNIST.digest()
    assert data["layers"][0] == {"module": "keras.layers", "class_name": "Conv2D",
                                 "config": {"filters": 32, "kernel_size": [3, 3],
                                            "activation": "relu"}}
    changed = MNIST.replace_layer(0, MNIST.layers[0].with_config(filters=16))
    assert changed != MNIST and changed.digest() != MNIST.digest()


def test_layer_names_follow_keras_fresh_session(oracle):
    assert MNIST.layer_names() == ["conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1",
                                   "flatten", "dropout", "dense"]
    assert snake_case("BatchNormalization") == "batch_normalization"
    facts = oracle.facts(MNIST)
    assert [layer.name for layer in facts.layers] == MNIST.layer_names()


def test_sequential_code_matches_seed_style():
    code = MNIST.code("sequential")
    assert code.splitlines()[:3] == [
        "model = keras.Sequential([",
        "    keras.Input(shape=(28, 28, 1)),",
        '    layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),',
    ]
    assert '    layers.Dropout(0.5),' in code and code.endswith("])")


@pytest.mark.parametrize("style", ["sequential", "add"])
def test_rendered_code_builds_the_same_model(style, oracle):
    namespace = {"keras": keras, "layers": keras.layers}
    exec(MNIST.code(style), namespace)
    model = namespace["model"]
    facts = oracle.facts(MNIST)
    assert model.count_params() == facts.total_params == 34826
    assert [tuple(layer.output.shape) for layer in model.layers] == \
        [layer.output_shape for layer in facts.layers]


def test_unknown_style_and_bad_json_are_clear():
    with pytest.raises(TemplateError, match="code style"):
        MNIST.code("functional")
    with pytest.raises(TemplateError, match="model.input_shape: sizes must be >= 1"):
        ModelSpec.from_json({"input_shape": [0, 4], "layers": []})
    with pytest.raises(TemplateError, match="not a model spec"):
        ModelSpec.from_json({"layers": []})


def test_a_nested_object_is_written_with_its_keras_module():
    """An initializer (as Keras serializes an instructor's `kernel_initializer="he_normal"`)
    is `keras.initializers.HeNormal()`, a wrapped layer `layers.LSTM(…)`: code that runs."""
    from quizgen.spec import freeze

    initializer = {"module": "keras.initializers", "class_name": "HeNormal",
                   "config": {"seed": None}, "registered_name": None}
    conv = LayerSpec.make("Conv2D", filters=8, kernel_size=(3, 3), kernel_initializer=freeze(initializer))
    assert conv.code() == ("layers.Conv2D(8, kernel_size=(3, 3), "
                           "kernel_initializer=keras.initializers.HeNormal())")
    wrapped = LayerSpec.make("Bidirectional", layer=freeze(
        {"module": "keras.layers", "class_name": "LSTM", "config": {"units": 4}}))
    assert wrapped.code() == "layers.Bidirectional(layers.LSTM(4))"
