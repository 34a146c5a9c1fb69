"""Item validity: exactly one right option for the instance the stem shows, distractors named by
the mistake that gives them, and `verify` catching keys where either is broken."""

import copy
import dataclasses
import textwrap

import pytest

from quizgen import families
from quizgen.bank import load_template
from quizgen.errors import QuestionError
from quizgen.families import model_facts, which_formula
from quizgen.formulas import evaluate
from quizgen.key import KeyEntry, question_entry
from quizgen.questions import make_item
from quizgen.verify import check_entry

SEEDS = range(20)


def single_choice(template):
    return dataclasses.replace(template, asks=tuple(
        dataclasses.replace(ask, response=("single_choice",)) for ask in template.asks))


def template_of(bank, template_id):
    return single_choice(next(t for t in bank if t.id == template_id))


@pytest.mark.parametrize("template_id", ["formula-output-size", "formula-params"])
def test_formula_distractors_are_wrong_for_the_asked_layer(bank, oracle, template_id):
    for seed in SEEDS:
        item = make_item(template_of(bank, template_id), seed, oracle)
        (question,) = item.questions
        # the layer's own numbers, from Keras' facts of the model as built
        values, value = which_formula.instance(item.spec, item.facts, question.ref.layer,
                                               question.ref.quantity)
        given = [evaluate(which_formula.parse_formula(choice.value), values) for choice in question.choices]
        right = [choice.correct for choice, here in zip(question.choices, given, strict=True)
                 if here == value]
        assert right == [True], (template_id, seed, values, value, given)


FORMULA_ON = """\
title: One layer
topic: formulas
difficulty: 2
model:
  input_shape: [96, 96, {channels}]
  layers: [{{class_name: Conv2D, config: {{filters: 32, kernel_size: {kernel}, strides: {strides},
            padding: {padding}}}}}]
asks:
  - fact: formula
    quantity: {quantity}
    layer: 0
    text: Which formula?
"""


def one_layer(tmp_path, quantity, kernel, strides, padding, channels=3):
    path = tmp_path / "one.yaml"
    path.write_text(FORMULA_ON.format(quantity=quantity, kernel=kernel, strides=strides,
                                      padding=padding, channels=channels))
    return load_template(path)


@pytest.mark.parametrize("quantity, kernel, strides, padding, channels", [
    ("output_size", 1, 1, "same", 3),   # v7-q1: W, floor(W/S) and ceil(W/S) all give 96
    ("output_size", 3, 1, "same", 3),   # stride 1: only the 'valid' formula differs
    ("params", 1, 1, "valid", 1),       # 1×1 on one channel: (k_h·k_w + 1)·F, (k_h·C_in + 1)·F right too
])
def test_a_layer_that_cannot_tell_the_formulas_apart_is_not_asked(tmp_path, oracle, quantity,
                                                                 kernel, strides, padding, channels):
    template = one_layer(tmp_path, quantity, kernel, strides, padding, channels)
    with pytest.raises(QuestionError, match="give another value for this layer"):
        make_item(template, 0, oracle)


def test_a_formula_right_for_this_layer_is_not_offered(tmp_path, oracle):
    # a 1×1 kernel on 3 channels: (k_h·C_in + 1)·F = (k_h·k_w·C_in + 1)·F, so it is left out
    (question,) = make_item(one_layer(tmp_path, "params", 1, 1, "valid"), 0, oracle).questions
    assert [c.misconception for c in question.choices if not c.correct] != []
    assert "kernel_one_dimensional" not in [c.misconception for c in question.choices]


def test_a_layer_whose_numbers_tell_the_mistakes_apart_is_asked(tmp_path, oracle):
    (question,) = make_item(one_layer(tmp_path, "output_size", 3, 2, "valid"), 0, oracle).questions
    assert "= 47" in question.explanation  # floor((96 - 3) / 2) + 1
    assert "gives" in question.explanation and "Conv2D layers Keras built" not in question.explanation


@pytest.mark.parametrize("template_id", ["embedding", "conv-output-shape", "pool-output-shape",
                                         "conv-params", "rnn-params", "total-params"])
def test_each_distractor_is_a_mistake_about_the_asked_fact(bank, oracle, template_id):
    # e.g. an Embedding's parameter count is never labelled "returns a single vector", and a
    # pooled shape never "counted the kernel as k weights"
    by_label = {m.label: m for m in model_facts.MISCONCEPTIONS}
    for seed in SEEDS:
        for question in make_item(template_of(bank, template_id), seed, oracle).questions:
            for choice in question.choices:
                for part in (choice.misconception or "").split("+") if choice.misconception else ():
                    assert question.ref.fact in by_label[part].facts, (seed, question.ref, choice)


def test_a_value_several_mistakes_give_names_the_most_common(bank, oracle):
    priority = [m.label for m in model_facts.MISCONCEPTIONS]
    for seed in SEEDS:
        item = make_item(template_of(bank, "conv-output-shape"), seed, oracle)
        for question in item.questions:
            for choice in question.choices:
                if choice.correct or "+" in choice.misconception:
                    continue
                earlier = priority[:priority.index(choice.misconception)]
                for label in earlier:
                    misconception = next(m for m in model_facts.MISCONCEPTIONS if m.label == label)
                    assert misconception.answer(oracle, item.spec, question.ref, item.facts) != choice.value


def entry_of(bank, oracle, template_id, seed=1):
    item = make_item(template_of(bank, template_id), seed, oracle)
    return question_entry(1, 1, item, item.questions[0]).to_json()


@pytest.mark.parametrize("template_id", ["conv-output-shape", "conv-params", "conv-by-hand",
                                         "formula-output-size"])
def test_verify_fails_on_swapped_misconception_labels(bank, oracle, verifier, template_id):
    entry = entry_of(bank, oracle, template_id)
    assert check_entry(KeyEntry.from_json(entry), verifier) == []
    wrong = [choice for choice in entry["choices"] if not choice["correct"]]
    first, second = next((a, b) for i, a in enumerate(wrong) for b in wrong[i + 1:]
                         if a["misconception"] != b["misconception"])
    swapped = copy.deepcopy(entry)
    for choice in swapped["choices"]:
        if choice["text"] == first["text"]:
            choice["misconception"] = second["misconception"]
        elif choice["text"] == second["text"]:
            choice["misconception"] = first["misconception"]
    problems = check_entry(KeyEntry.from_json(swapped), verifier)
    assert any(first["text"] in problem for problem in problems), problems


def test_verify_fails_when_a_distractor_is_replaced_by_the_answer(bank, oracle, verifier):
    entry = entry_of(bank, oracle, "conv-params")
    bad = copy.deepcopy(entry)
    wrong = next(choice for choice in bad["choices"] if not choice["correct"])
    wrong["value"], wrong["text"] = entry["answer"], entry["answer_text"]
    problems = check_entry(KeyEntry.from_json(bad), verifier)
    assert any("equals the correct answer" in problem for problem in problems), problems
    assert any("distinct" in problem for problem in problems), problems


def test_every_family_reproduces_its_own_labels(bank, oracle, verifier):
    for template_id in ("summary-blanks", "conv-by-hand", "formula-params", "dense-kernel-shape"):
        item = make_item(template_of(bank, template_id), 2, oracle)
        for position, question in enumerate(item.questions, 1):
            entry = question_entry(1, position, item, question)
            family = families.for_fact(entry.fact)
            assert family.reproduce(entry, verifier) == [], (template_id, position)


def test_stress_reports_no_invalid_item_on_the_bank_sample():
    from .conftest import run_cli

    result = run_cli("stress", "formula-output-size", "conv-by-hand", "--seeds", "5")
    assert result.exit_code == 0, textwrap.shorten(result.output, 2000)


def conv_net(kernel, strides, padding, rate=0.25, activation="relu"):
    from quizgen.spec import LayerSpec, ModelSpec

    return ModelSpec((96, 96, 3), (
        LayerSpec.make("Conv2D", filters=4, kernel_size=kernel, strides=strides, padding=padding,
                       activation=activation),
        LayerSpec.make("Flatten"), LayerSpec.make("Dropout", rate=rate),
        LayerSpec.make("Dense", units=3, activation="softmax")))


def test_code_options_are_compared_as_functions(verifier):
    # v29-q9: 'same' padding on a 1×1 window with stride 2 changes nothing: no distractor
    assert verifier.same_function(conv_net(1, 2, "valid"), conv_net(1, 2, "same"))
    assert not verifier.same_function(conv_net(3, 2, "valid"), conv_net(3, 2, "same"))
    assert not verifier.same_function(conv_net(1, 2, "valid"), conv_net(1, 2, "valid", rate=0.75))
    assert not verifier.same_function(conv_net(1, 2, "valid"), conv_net(1, 2, "valid", activation="sigmoid"))


def test_a_misreading_that_builds_the_same_function_is_not_offered(oracle):
    import random

    from quizgen.families import which_code

    described = conv_net(1, 2, "valid")
    for seed in range(5):
        for model, label in which_code.misreadings(oracle, described, random.Random(seed), 3):
            assert label != "same_padding_assumed" and not oracle.same_function(described, model)


@pytest.mark.parametrize("template_id", ["conv-by-hand"])  # pooling by hand is a free response
def test_by_hand_options_do_not_give_the_answer_away_by_their_looks(bank, oracle, template_id):
    from quizgen.families.by_hand import giveaway

    for seed in SEEDS:
        (question,) = make_item(template_of(bank, template_id), seed, oracle).questions
        wrong = [choice.value for choice in question.choices if not choice.correct]
        assert giveaway(question.answer, wrong) is None, (seed, question.answer, wrong)
        # no option of sixths printed with six decimals
        assert all(float(v * 4).is_integer() for c in question.choices for row in c.value for v in row)


def test_the_looks_of_by_hand_options_can_give_the_answer_away():
    from quizgen.families.by_hand import giveaway

    answer = ((1, 2), (3, 4))
    assert "size" in giveaway(answer, [((1, 2, 3),), ((1,),), ((2, 2, 2),)])
    assert "fractions" in giveaway(answer, [((1.5, 2), (3, 4)), ((1, 2.5), (3, 4)), ((0.5, 2), (3, 4))])
    assert giveaway(answer, [((1, 2), (3, 5)), ((1.5, 2), (3, 4)), ((2, 1), (4, 3))]) is None
    # the examiner's v3-q1: a 3×3 answer among a 5×3 and a 3×5 (stride ignored) is a coin toss
    square = ((1, 2, 3),) * 3
    assert giveaway(square, [((1, 2, 3),) * 5, ((1, 2, 3, 4, 5),) * 3, ((3, 2, 1),) * 3]) == \
        "an option is 3×5, 5×3 where the answer is 3×3: the output size alone rules it out"


def test_no_summary_blank_is_printed_in_another_cell(bank, oracle):
    for seed in SEEDS:
        item = make_item(bank_template(bank, "summary-blanks"), seed, oracle)
        for question in item.questions:
            if question.ref.fact in ("output_shape", "params"):
                others = [layer for i, layer in enumerate(item.facts.layers) if i != question.ref.layer]
                printed = [layer.output_shape if question.ref.fact == "output_shape" else layer.params
                           for layer in others]
                assert question.answer not in printed, (seed, question.ref)


def bank_template(bank, template_id):
    return next(t for t in bank if t.id == template_id)


def test_no_option_is_the_answer_of_another_question_of_its_item(bank, oracle):
    for template_id in ("conv-output-size", "mlp-params", "classic-conv-dims-2", "classic-exercise-3"):
        for seed in range(8):
            questions = make_item(template_of(bank, template_id), seed, oracle).questions
            for question in questions:
                others = {q.answer for q in questions if q.ref != question.ref}
                assert not others & {c.value for c in question.choices if not c.correct}, (template_id, seed)


def test_sampled_architectures_look_like_the_models_people_build():
    import random

    from quizgen.formulas import model_closed_form, padding_amounts, window
    from quizgen.sample import cnn, mlp
    from quizgen.spec import POOLING

    for seed in range(300):
        spec = (cnn if seed % 2 else mlp)(random.Random(seed))
        names = [layer.class_name for layer in spec.layers]
        assert not any(all(name in POOLING for name in names[i:i + 3]) for i in range(len(names))), names
        units = [layer.get("units") for layer in spec.layers if layer.class_name == "Dense"]
        assert all(hidden >= units[-1] for hidden in units[:-1]), units
        shapes = [(None, *spec.input_shape)] + [form.output_shape for form in model_closed_form(spec)]
        for layer, shape in zip(spec.layers, shapes, strict=False):
            if layer.get("padding") == "same":  # 'same' pads something, else it is left out
                kernel, strides, _ = window(layer)
                assert any(padding_amounts(n, k, s, "same") != (0, 0)
                           for n, k, s in zip(shape[1:3], kernel, strides, strict=True)), (layer, shape)
