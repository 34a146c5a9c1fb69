"""Generation takes shapes and counts from Keras' symbolic build and runs one batched probe per
model; these tests prove it changes no question, answer or choice:

- the key of a default exam made with layer facts from symbolic builds equals, byte for byte,
  the key made by an oracle that builds and executes every whole model on data
  (`Oracle.model_facts`, what `quizgen verify` does);
- one probe run gives each layer the statistics of a run of the model cut after it, whatever
  the batch size.
"""

from __future__ import annotations

import pytest

from quizgen import generate, oracle
from quizgen.generate import Selection, generate_exam
from quizgen.key import dumps
from quizgen.oracle import ModelFacts, Oracle
from quizgen.spec import LayerSpec, ModelSpec


class ExecutingOracle(Oracle):
    """An oracle whose model facts come from the whole model, built and executed on a batch
    of one input (every layer's symbolic shape checked against the executed one)."""

    def facts(self, spec: ModelSpec) -> ModelFacts:
        key = ("executed", spec)
        if key not in self.memo:
            try:
                self.memo[key] = self.model_facts(spec)
            except oracle.ArchitectureError as error:
                self.memo[key] = error
        return oracle._raised(self.memo[key])


def key_text(monkeypatch, oracle_class: type[Oracle]) -> str:
    monkeypatch.setattr(generate, "Oracle", oracle_class)
    exam = generate_exam(Selection(), 7, 4, None, ("md",), "selfcheck", "Exam", cache=False)
    return dumps(exam.key)


def test_keys_from_symbolic_builds_equal_keys_from_executed_models(monkeypatch):
    symbolic = key_text(monkeypatch, Oracle)
    assert '"fact": "statements"' in symbolic and '"fact": "output_shape"' in symbolic
    assert symbolic == key_text(monkeypatch, ExecutingOracle)


SPEC = ModelSpec((6, 6, 2), (LayerSpec.make("Conv2D", filters=3, kernel_size=3, activation="relu"),
                             LayerSpec.make("Flatten"),
                             LayerSpec.make("Dense", units=5, activation="tanh"),
                             LayerSpec.make("Dense", units=3, activation="softmax")))


@pytest.mark.parametrize("values", [oracle.PROBE_VALUES, 72], ids=["all-at-once", "one-by-one"])
def test_one_probe_run_answers_every_layer(monkeypatch, values):
    monkeypatch.setattr(oracle, "PROBE_VALUES", values)  # 72 values: one sample per batch
    every_layer = oracle._probe_outputs(SPEC)
    assert len(every_layer) == len(SPEC.layers)
    for layer, (low, high, deviation) in enumerate(every_layer):
        cut = ModelSpec(SPEC.input_shape, SPEC.layers[:layer + 1])
        assert oracle._probe_outputs(cut)[-1] == pytest.approx((low, high, deviation), abs=1e-12)
    assert every_layer[0][0] == 0 and every_layer[0][1] > 0  # relu
    assert -1 <= every_layer[2][0] < 0 < every_layer[2][1] <= 1  # tanh
    assert 0 <= every_layer[3][0] and every_layer[3][1] <= 1 and every_layer[3][2] < 1e-9
