"""Questions: choices distinct with one correct, distractors from labelled misconceptions,
answers equal to the closed forms, balanced positions."""

import dataclasses
from collections import Counter

import numpy as np
import pytest

from quizgen import families, formulas
from quizgen.facts import read_fact
from quizgen.oracle import Oracle
from quizgen.questions import make_item

SEEDS = range(12)

#: Builds every model whole, as `quizgen verify` does (not layer by layer, as generation).
WHOLE_MODELS = Oracle()


#: Facts whose questions are always choices of their own kind (tested in their own modules).
CHOICE_FACTS = ("statements", "code", "formula")


def as_choice(template):
    asks = tuple(dataclasses.replace(ask, response=("single_choice",)) for ask in template.asks)
    return dataclasses.replace(template, asks=asks)


def offers_single_choice(template):
    """Whether every ask of the template can be a single choice (pooling by hand and the
    lab's matrices are free responses: too few mistakes keep the output's size)."""
    return all("single_choice" in ask.response or ask.fact in CHOICE_FACTS for ask in template.asks)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_template_as_single_choice(bank, oracle, seed):
    for template in filter(offers_single_choice, bank):
        item = make_item(as_choice(template), seed, oracle)
        for question in item.questions:
            if question.ref.fact in CHOICE_FACTS:
                assert question.choices and question.kind in ("single_choice", "multiple_choice")
                continue
            assert question.kind == "single_choice"
            texts = [choice.text for choice in question.choices]
            assert len(texts) == 4 and len(set(texts)) == 4, (template.id, texts)
            correct = [choice for choice in question.choices if choice.correct]
            assert len(correct) == 1 and correct[0].value == question.answer
            assert correct[0].misconception is None
            for choice in question.choices:
                if not choice.correct:
                    assert families.describe(choice.misconception)
                    assert choice.value != question.answer
            if item.task is not None:
                assert np.allclose(question.answer, formulas.task_closed_form(item.task))
                continue
            # the whole model built again by a fresh oracle, and the closed forms
            assert question.answer == read_fact(WHOLE_MODELS.model_facts(item.spec), question.ref)
            assert question.answer == formulas.closed_form_fact(item.spec, question.ref), template.id


def test_free_response_kinds(bank, oracle):
    kinds = Counter()
    for template in bank:
        free = dataclasses.replace(template, asks=tuple(
            dataclasses.replace(ask, response=("free",)) for ask in template.asks))
        for question in make_item(free, 1, oracle).questions:
            if question.ref.fact in CHOICE_FACTS:
                continue
            kinds[question.kind] += 1
            assert not question.choices
            if question.kind == "matrix":
                assert all(isinstance(row, tuple) for row in question.answer)
            else:
                assert question.kind == ("shape" if isinstance(question.answer, tuple) else "numeric")
    assert kinds["shape"] and kinds["numeric"] and kinds["matrix"]


def test_same_seed_same_item_other_seed_other_model(bank, oracle):
    template = next(t for t in bank if t.id == "conv-output-shape")
    assert make_item(template, 5, oracle) == make_item(template, 5, oracle)
    assert len({make_item(template, seed, oracle).spec for seed in SEEDS}) == len(SEEDS)


def test_explanations_show_the_worked_formula(bank, oracle):
    template = as_choice(next(t for t in bank if t.id == "classic-conv-dims-1"))
    shape_question, params_question = make_item(template, 0, oracle).questions
    assert r"\left\lfloor{\frac{200 - 2}{2}}\right\rfloor + 1 = 100" in shape_question.explanation
    assert "= 80$" in params_question.explanation
    assert "**Common mistakes**" in params_question.explanation


def test_correct_position_varies_across_variants(bank, oracle):
    from quizgen.assemble import make_variant

    template = next(t for t in bank if t.id == "classic-conv-dims-1")  # two choice questions
    firsts = Counter()
    for number in range(1, 41):
        variant = make_variant([template], exam_seed=1, number=number, questions=2, oracle=oracle)
        (_, _, question), _ = variant.numbered()
        firsts[next(i for i, choice in enumerate(question.choices) if choice.correct)] += 1
    assert sorted(firsts) == [0, 1, 2, 3], firsts


def test_summary_with_blanks(bank, oracle):
    template = next(t for t in bank if t.id == "summary-blanks")
    for seed in range(4):
        item = make_item(template, seed, oracle)
        for label, question in zip("abc", item.questions, strict=True):
            assert f"**({label})**" in item.stem and f"cell ({label})" in question.text
        shape_question = item.questions[0]
        row = next(line for line in item.stem.splitlines()
                   if line.startswith(f"| {item.facts.layers[shape_question.ref.layer].name} "))
        assert shape_question.answer_text not in row and "**(a)**" in row
        assert "Total params: **(c)**" in item.stem and "Trainable params" not in item.stem


def test_variants_mix_topics(bank):
    import random

    from quizgen.assemble import _interleave
    from quizgen.bank import select

    templates = select(bank)
    topics = {t.topic for t in templates}
    for seed in range(5):
        order = _interleave(templates, random.Random(seed))
        assert sorted(t.id for t in order) == sorted(t.id for t in templates)
        assert len({t.topic for t in order[:len(topics)]}) == len(topics)


def test_select_by_topic_and_difficulty(bank):
    from quizgen.bank import select
    from quizgen.errors import TemplateError

    chosen = select(bank, topics=["convolution"], difficulties=[2])
    assert chosen and all(t.topic == "convolution" and t.difficulty == 2 for t in chosen)
    with pytest.raises(TemplateError, match="no template matches topic\\(s\\) nope"):
        select(bank, topics=["nope"])


class CountingOracle(Oracle):
    """An oracle that records the models whose facts it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list = []

    def facts(self, spec):
        self.asked.append(spec)
        return super().facts(spec)


def test_a_draw_without_the_asked_layer_is_redrawn_before_keras_builds_it(bank):
    template = next(t for t in bank if t.id == "transpose-conv")
    counting = CountingOracle()
    for seed in range(4):
        item = make_item(template, seed, counting)
        assert "Conv2DTranspose" in item.questions[0].text
    classes = [{layer.class_name for layer in spec.layers} for spec in counting.asked]
    assert classes and all("Conv2DTranspose" in names for names in classes)
