"""`quizgen inspect`: an instructor's own model, as the rows model.summary() prints."""

import json
import textwrap

from .conftest import run_cli


def inspect(tmp_path, code, *options):
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent(code))
    return run_cli("inspect", str(path), *options)


def test_sequential_model(tmp_path):
    result = inspect(tmp_path, """\
        import keras
        from keras import layers
        model = keras.Sequential([keras.Input(shape=(28, 28, 1)),
                                  layers.Conv2D(32, 3, activation="relu"),
                                  layers.Flatten(), layers.Dense(10)])
    """, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert [row["output_shape"] for row in summary["layers"]] == \
        [[None, 26, 26, 32], [None, 21632], [None, 10]]
    assert [row["params"] for row in summary["layers"]] == [320, 0, 216_330]
    assert summary["total_params"] == 216_650 and summary["non_trainable_params"] == 0
    assert summary["layers"][0]["class_name"] == "Conv2D"


def test_functional_model_lists_input_and_operations(tmp_path):
    result = inspect(tmp_path, """\
        import keras
        from keras import layers
        inputs = keras.Input(shape=(8,))
        a = layers.Dense(4)(inputs)
        b = layers.BatchNormalization()(a)
        outputs = layers.Add()([a, b])
        model = keras.Model(inputs, [outputs, a])
    """, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    classes = [row["class_name"] for row in summary["layers"]]
    assert classes[0] == "InputLayer" and "Add" in classes
    assert summary["layers"][0]["output_shape"] == [None, 8]
    assert (summary["trainable_params"], summary["non_trainable_params"]) == (36 + 8, 8)


def test_table_output(tmp_path):
    result = inspect(tmp_path, """\
        import keras
        model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    """)
    assert result.exit_code == 0
    assert " (Dense)" in result.output and "(None, 2)" in result.output
    assert "Total params: 8\nTrainable params: 8\nNon-trainable params: 0" in result.output


def test_model_keras_cannot_build(tmp_path):
    result = inspect(tmp_path, """\
        import keras
        model = keras.Sequential([keras.Input(shape=(4, 4, 1)), keras.layers.Conv2D(2, 5)])
    """)
    assert result.exit_code == 1
    assert "Keras cannot build the model" in result.output and "negative" in result.output
    assert "Traceback" not in result.output


def test_file_without_model(tmp_path):
    result = inspect(tmp_path, "x = 1\n")
    assert result.exit_code == 1 and "must define a Keras model named `model`" in result.output
