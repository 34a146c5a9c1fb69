"""The seed documents' own questions: their published answers must come out of Keras."""

import pytest

from quizgen.facts import read_fact
from quizgen.families import model_facts
from quizgen.questions import make_item


def answers(bank, oracle, template_id):
    template = next(t for t in bank if t.id == template_id)
    assert "classic" in template.tags
    item = make_item(template, 0, oracle)
    return {(q.ref.fact, q.ref.layer, q.ref.axis, q.ref.weight): q.answer for q in item.questions}


def test_conv_dims_first_model(bank, oracle):
    # seeds/003: 200×200×1, 16 filters, k=2, s=2, valid → (None, 100, 100, 16), 80 params
    got = answers(bank, oracle, "classic-conv-dims-1")
    assert got[("output_shape", 0, None, None)] == (None, 100, 100, 16)
    assert got[("params", 0, None, None)] == 80


def test_conv_dims_quiz_questions_1_to_3(bank, oracle):
    # seeds/003: 128×128×3, 32 filters, k=3, s=2, same → 896 params, depth 32, width 64
    got = answers(bank, oracle, "classic-conv-dims-2")
    assert got[("params", 0, None, None)] == 896
    assert got[("output_shape", 0, "channels", None)] == 32
    assert got[("output_shape", 0, "width", None)] == 64


@pytest.mark.parametrize("template_id, total", [
    ("classic-exercise-1", 216_650),
    ("classic-exercise-2", 2_770_634),
    ("classic-exercise-3", 1_199_882),
])
def test_exercise_totals(bank, oracle, template_id, total):
    # seeds/001: the three summaries of the exercise notebook
    assert answers(bank, oracle, template_id)[("total_params", None, None, None)] == total


def test_exercise_layer_facts(bank, oracle):
    first = answers(bank, oracle, "classic-exercise-1")
    assert first[("output_shape", 0, None, None)] == (None, 26, 26, 32)
    assert first[("params", 2, None, None)] == 216_330
    assert answers(bank, oracle, "classic-exercise-2")[("params", 3, None, None)] == 2_769_024
    third = answers(bank, oracle, "classic-exercise-3")
    assert third[("weight_shape", 0, None, "kernel")] == (3, 3, 1, 32)
    assert third[("weight_shape", 0, None, "bias")] == (32,)
    assert third[("weight_shape", 1, None, "kernel")] == (3, 3, 32, 64)


def test_mnist_convnet(bank, oracle):
    # seeds/000: 1,600 features before Dropout → Dense 16,010; total 34,826
    got = answers(bank, oracle, "classic-mnist-convnet")
    assert got[("output_shape", 5, None, None)] == (None, 1600)
    assert got[("params", 6, None, None)] == 16_010
    assert got[("total_params", None, None, None)] == 34_826


def test_cifar_stack(bank, oracle):
    # seeds/002: 12 layers on 32×32×3 with valid padding: Flatten → 1,600; 890,410 params
    got = answers(bank, oracle, "classic-cifar-stack")
    assert got[("output_shape", 8, None, None)] == (None, 1600)
    assert got[("total_params", None, None, None)] == 890_410


def executed(oracle, item, question, label):
    """The value a labelled misconception gives for `question` about `item`'s model: each
    mistake of a compound label applied in turn, executed by Keras (or read from its facts)."""
    spec, ref, facts = item.spec, question.ref, item.facts
    for part in label.split("+"):
        misconception = next(m for m in model_facts.MISCONCEPTIONS if m.label == part)
        if misconception.misread is not None:
            return misconception.misread(spec, facts, ref)
        spec, ref = misconception.mutate(spec, ref, facts)
    return read_fact(oracle.facts(spec), ref)


def test_classic_choices_are_executed_misconceptions(bank, oracle):
    template = next(t for t in bank if t.id == "classic-conv-dims-2")
    item = make_item(template, 0, oracle)
    params = item.questions[0]
    # forgetting the bias: 3·3·3·32 = 864
    assert executed(oracle, item, params, "bias_forgotten") == 864
    assert executed(oracle, item, params, "input_channels_forgotten") == (3 * 3 + 1) * 32
    wrong = [choice for choice in params.choices if not choice.correct]
    assert len({choice.value for choice in wrong}) == 3 and 896 not in [c.value for c in wrong]
    for choice in wrong:  # each distractor is what its labelled mistake gives
        assert executed(oracle, item, params, choice.misconception) == choice.value, choice


@pytest.mark.parametrize("template_id, fact, expected", [
    ("classic-lab7-conv-2x2", "conv_output", ((2, 2, 3), (1, 2, 1), (1, 1, 0))),
    ("classic-lab7-max-pool", "pool_output", ((1, 1, 1), (1, 1, 1), (1, 1, 0))),
    ("classic-lab7-conv-stride", "conv_output", ((2, 3), (1, 1), (1, 0))),
])
def test_lab7_by_hand(bank, oracle, template_id, fact, expected):
    # seeds/004: the lab's three matrices, from Keras after set_weights
    assert answers(bank, oracle, template_id)[(fact, 0, None, None)] == expected
