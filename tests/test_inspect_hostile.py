"""`quizgen inspect` on files it cannot summarize: a clear error naming the file and saying what
to do, exit status 1, never a traceback, never a silent success.

- a subclassed model (a `keras.Model` subclass without a functional graph), called or not,
  built by `model.build` or not: it has no layer graph to inspect;
- a Sequential model that was never built (no input), or whose layers were not built;
- a file that calls `sys.exit` (any code) or raises `SystemExit`.
"""

from __future__ import annotations

import pytest

from .test_inspect import inspect

SUBCLASS = """\
    import keras

    class Classifier(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(3)

        def call(self, x):
            return self.hidden(x)

    model = Classifier()
"""


@pytest.mark.parametrize("how", ["", "model(keras.ops.ones((1, 4)))", "model.build((None, 4))",
                                 "model.built = True"])
def test_subclassed_model(tmp_path, how):
    result = inspect(tmp_path, SUBCLASS + f"    {how}\n")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"error: {tmp_path / 'model.py'}: `model` is a subclassed model (Classifier): subclassed " \
           "models have no layer graph to inspect; define it with keras.Sequential or the " \
           "functional API (keras.Model(inputs, outputs))" in result.output


@pytest.mark.parametrize("code", [
    "model = keras.Sequential([keras.layers.Dense(3)])",
    "model = keras.Sequential([keras.layers.Dense(3)])\nmodel.built = True",
])
def test_unbuilt_model(tmp_path, code):
    result = inspect(tmp_path, "import keras\n" + code + "\n", "--json")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{tmp_path / 'model.py'}: `model` is not built; give it an input, e.g. " \
           "keras.Input(shape=(28, 28, 1)) as its first layer, or build it by calling it on an " \
           "input" in result.output


@pytest.mark.parametrize("code, shown", [
    ("import sys\nsys.exit(0)\n", "0"),
    ("import sys\nsys.exit()\n", "None"),
    ("raise SystemExit('bye')\n", "'bye'"),
])
def test_file_that_exits(tmp_path, code, shown):
    result = inspect(tmp_path, code)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{tmp_path / 'model.py'}: the file exits (sys.exit({shown})) before its `model` can be " \
           "read; define `model` without exiting" in result.output
