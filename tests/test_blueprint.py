"""Exam blueprints (`quizgen generate --exam`): every variant fills the same slots in the same
order (parallel forms: topic pool, response form and points at each position), never asks a fact
twice, and the handouts and solutions print the exam's head and each question's points, also as
PDF; malformed blueprints are errors naming the file and the slot, and nothing is written."""

from __future__ import annotations

import json
import math
import re
import textwrap
from collections import defaultdict
from pathlib import Path
from typing import Any

import pypdf
import pytest
import yaml

from quizgen.bank import load_template, select
from quizgen.blueprint import (
    Candidate,
    Unfilled,
    assign,
    candidate,
    fact_id,
    implicit_blueprint,
    load_blueprint,
)
from quizgen.difficulty import default_band, measure
from quizgen.errors import QuizgenError, TemplateError
from quizgen.resources import data_dir
from quizgen.spec import ModelSpec, Task

from .conftest import run_cli
from .test_exam_mode import fragments, misconceptions
from .test_template_sandbox import FIXED

MIDTERM = data_dir("question_bank") / "exams" / "cnn-midterm.yaml"
VARIANTS = 30
#: The response form of each key kind.
FORMS = {"single_choice": "single_choice", "multiple_choice": "multiple_choice",
         "numeric": "free", "shape": "free", "matrix": "free"}


@pytest.fixture(scope="module")
def midterm(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("midterm")
    result = run_cli("generate", "--exam", str(MIDTERM), "--variants", str(VARIANTS), "--seed", "5",
                     "--mode", "exam", "--format", "md,pdf", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"{out}/print/handouts.pdf" in result.output
    return out


def by_variant(out: Path) -> dict[int, list[dict[str, Any]]]:
    grouped = defaultdict(list)
    for entry in json.loads((out / "key.json").read_text())["questions"]:
        grouped[entry["variant"]].append(entry)
    return {number: sorted(entries, key=lambda e: e["position"]) for number, entries in grouped.items()}


def pdf_text(path: Path) -> str:
    """The text of a PDF as pypdf extracts it, whitespace collapsed and quotes made straight."""
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
    for curly, straight in (("‘", "'"), ("’", "'"), ("“", '"'), ("”", '"'), ("−", "-")):
        text = text.replace(curly, straight)
    return re.sub(r"\s+", " ", text)


def test_variants_are_parallel_forms(midterm):
    slots = yaml.safe_load(MIDTERM.read_text())["slots"]
    variants = by_variant(midterm)
    assert sorted(variants) == list(range(1, VARIANTS + 1))
    for number, entries in variants.items():
        assert [entry["slot"] for entry in entries] == [slot["name"] for slot in slots], number
        assert [entry["points"] for entry in entries] == [slot["points"] for slot in slots], number
        assert [FORMS[entry["kind"]] for entry in entries] == [slot["response"] for slot in slots]
        assert sum(entry["points"] for entry in entries) == 100
    # the slots draw from their pools: more than one template fills most of them
    templates = {slot["name"]: {entry["template"] for entries in variants.values()
                                for entry in entries if entry["slot"] == slot["name"]}
                 for slot in slots}
    assert sum(len(used) > 1 for used in templates.values()) >= 6, templates
    assert templates["conv-output"] <= {"conv-output-shape", "conv-output-size",
                                        "classic-conv-dims-1", "classic-conv-dims-2"}
    assert templates["by-hand"] == {"conv-by-hand"}


def test_no_variant_asks_a_fact_twice(midterm):
    for number, entries in by_variant(midterm).items():
        asked = [(entry["fact"], entry.get("axis"), entry.get("weight"), entry.get("quantity"),
                  entry["template"]) for entry in entries]
        assert len(asked) == len(set(asked)), number


def test_handout_pdfs_print_every_question_and_no_answer(midterm):
    for number, entries in by_variant(midterm).items():
        handout = pdf_text(midterm / "handouts" / f"variant-{number:02d}.pdf")
        solution = pdf_text(midterm / "solutions" / f"variant-{number:02d}.pdf")
        for text in (handout, solution):
            assert "Midterm: convolutional networks" in text and "Total: 100 points" in text
            assert "Deep Learning (CS 5xx)" in text and "90 minutes" in text
        assert f"Variant: {number:02d}" in handout or f"Variant: {number}" in handout
        assert "Common mistake" not in handout and "Recommended reading" not in handout
        for entry in entries:
            points = f"{entry['points']:g} point{'s' if entry['points'] != 1 else ''}"
            assert f"Question {entry['position']} ({points})" in handout, (number, entry["position"])
            opening = re.split(r"[`$*|]", entry["text"])[0].strip()
            assert opening and opening in handout, (number, entry["id"], opening)
            pieces = [re.sub(r"\s+", " ", piece) for piece in fragments(entry)]
            assert pieces, entry["id"]
            for piece in pieces:  # found in the solution, so the search can find it...
                assert piece in solution, (entry["id"], piece)
                assert piece not in handout, (entry["id"], piece)  # ...and not in the handout
            for description in misconceptions(entry):
                assert re.sub(r"\s+", " ", description) not in handout, (entry["id"], description)


def test_print_file_holds_every_handout_in_order(midterm):
    reader = pypdf.PdfReader(midterm / "print" / "handouts.pdf")
    firsts = [index for index, page in enumerate(reader.pages)
              if "Name:" in page.extract_text()]
    assert len(firsts) == VARIANTS
    assert all(index % 2 == 0 for index in firsts)  # every variant starts on a new sheet
    for number, index in enumerate(firsts, 1):
        assert re.search(rf"Variant: 0?{number}\b", reader.pages[index].extract_text())


def test_pdfs_are_byte_identical_on_a_rerun(midterm, tmp_path):
    result = run_cli("generate", "--exam", str(MIDTERM), "--variants", "2", "--seed", "5",
                     "--mode", "exam", "--format", "pdf", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    # a variant depends on the seed and its number only (the file names are padded differently)
    assert (tmp_path / "solutions" / "variant-2.pdf").read_bytes() == \
        (midterm / "solutions" / "variant-02.pdf").read_bytes()


#: A one-template bank: the sandbox tests' fixed model, asked as a free response only.
BANK_TEMPLATE = FIXED + "    response: [free]\n"


@pytest.mark.parametrize(("slot", "message"), [
    ({"pool": {"templates": ["nope"]}, "response": "free", "points": 1},
     r"exam\.yaml: slots\[0\]\.pool\.templates: unknown template\(s\): nope"),
    ({"name": "empty", "pool": {"topics": ["attention"]}, "response": "free", "points": 1},
     r"exam\.yaml: slots\[0\] \(empty\)\.pool: no template of the bank matches this pool"),
    ({"pool": {"templates": ["params"]}, "response": "multiple_choice", "points": 1},
     r"exam\.yaml: slots\[0\]\.response: no template of its pool can ask a multiple choice question"),
    ({"pool": {"templates": ["params"]}, "response": "free", "points": 0},
     r"exam\.yaml: slots\[0\]\.points: 0 is less than or equal to the minimum of 0"),
    ({"pool": {"templates": ["params"]}, "response": "essay", "points": 1},
     r"exam\.yaml: slots\[0\]\.response: 'essay' is not one of"),
    ({"name": "banded", "pool": {"templates": ["params"]}, "response": "free", "points": 1,
      "band": {"layers": [5, 2]}},
     r"exam\.yaml: slots\[0\] \(banded\)\.band\.layers: its low bound 5 is above its high bound 2"),
    ({"pool": {"templates": ["params"]}, "response": "free", "points": 1, "band": {"depth": [1, 2]}},
     r"exam\.yaml: slots\[0\]\.band: 'depth' is not one of"),
])
def test_malformed_blueprints_name_file_and_slot(tmp_path, slot, message):
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "params.yaml").write_text(BANK_TEMPLATE)
    blueprint = tmp_path / "exam.yaml"
    blueprint.write_text(yaml.safe_dump({"title": "T", "slots": [slot]}))
    out = tmp_path / "out"
    result = run_cli("generate", "--bank", str(bank), "--exam", str(blueprint), "--out", str(out))
    assert result.exit_code == 1
    assert re.search(message, result.output), result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_a_fact_is_not_asked_twice_even_when_the_pool_repeats(tmp_path):
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "params.yaml").write_text(BANK_TEMPLATE)
    blueprint = tmp_path / "exam.yaml"
    blueprint.write_text(textwrap.dedent("""\
        title: T
        slots:
          - {pool: {templates: [params]}, response: free, points: 2}
          - {name: again, pool: {templates: [params]}, response: free, points: 2}
        """))
    result = run_cli("generate", "--bank", str(bank), "--exam", str(blueprint), "--out",
                     str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "slot again: every template of its pool asks a fact that another slot" in result.output


def test_every_slot_keeps_its_difficulty_band(midterm, bank):
    """Each variant's subject in a slot has its difficulty features within the slot's band
    (by default the middle half of what the pool draws), so no variant traces 10 layers where
    another traces 4, or fills a 15-cell matrix where another fills 6."""
    blueprint = load_blueprint(MIDTERM, bank)
    templates = {template.id: template for template in bank}
    measured = defaultdict(lambda: defaultdict(set))
    for entries in by_variant(midterm).values():
        for slot, entry in zip(blueprint.slots, entries, strict=True):
            subject = Task.from_json(entry["task"]) if entry.get("task") else \
                ModelSpec.from_json(entry["model"])
            features = measure(subject, templates[entry["template"]].features)
            assert slot.band.admits(subject, features), (slot.name, features, slot.band)
            for name, value in features.items():
                measured[slot.name][name].add(value)
    # the bands are not wider than the pools: by-hand outputs and traced layers are bounded
    assert max(measured["by-hand"]["outputs"]) - min(measured["by-hand"]["outputs"]) <= 6
    assert max(measured["architecture"]["layers"]) - min(measured["architecture"]["layers"]) <= 3


def test_a_default_band_is_the_middle_half_of_the_draws():
    """Each feature between its lower and upper quartile, for models and by-hand tasks apart
    (a task's one stride says nothing of a model's)."""
    from quizgen.spec import LayerSpec

    def model(depth):
        return ModelSpec((8,), tuple(LayerSpec.make("Dense", units=4) for _ in range(depth)))

    task = Task(LayerSpec.make("MaxPooling2D", pool_size=2, strides=1), ((1, 2, 3),) * 3)
    band = default_band([(model(n), ("layers", "strides")) for n in range(1, 9)]
                        + [(task, ("outputs", "strides"))])
    assert band.bounds == (("model", "layers", 3, 7), ("model", "strides", 0, 0),
                           ("task", "outputs", 4, 4), ("task", "strides", 1, 1))
    assert band.admits(model(3), {"layers": 3, "strides": 0})
    assert not band.admits(model(8), {"layers": 8})
    assert band.admits(task, {"strides": 1, "window": 99})  # a feature the band does not bound
    assert band.text() == "model layers 3–7, model strides 0, task outputs 4, task strides 1"


def test_a_slot_band_bounds_its_draws_and_stress_prints_the_spread(tmp_path):
    """`band: {outputs: [4, 4]}` makes every by-hand task a 2×2 output; `quizgen stress
    --exam` prints the slot's band and the spread of each feature over the variants."""
    blueprint = tmp_path / "exam.yaml"
    blueprint.write_text(textwrap.dedent("""\
        title: T
        slots:
          - {name: by-hand, pool: {templates: [conv-by-hand]}, response: free, points: 5,
             band: {outputs: [4, 4]}}
          - {name: unbanded, pool: {templates: [pool-by-hand]}, response: free, points: 5, band: {}}
        """))
    result = run_cli("stress", "--exam", str(blueprint), "--seeds", "6")
    assert result.exit_code == 0, result.output
    rows = {tuple(line.split()[-5:]) for line in result.output.splitlines()}
    assert ("outputs", "4", "4", "4", "4") in rows, result.output
    assert any(row[0] == "outputs" and row[1] == "-" for row in rows), result.output
    assert "task outputs" in result.output
    key_dir = tmp_path / "out"
    assert run_cli("generate", "--exam", str(blueprint), "--variants", "6",
                   "--out", str(key_dir)).exit_code == 0
    for entry in json.loads((key_dir / "key.json").read_text())["questions"]:
        if entry["slot"] == "by-hand":
            assert len(entry["answer"]) * len(entry["answer"][0]) == 4


def test_a_feature_must_apply_to_its_template_subject(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(BANK_TEMPLATE.replace("title:", "features: [outputs]\ntitle:", 1))
    with pytest.raises(TemplateError, match=r"params\.yaml: features: 'outputs' does not apply to a model"):
        load_template(path)


def test_fact_identity_separates_layers_of_other_classes():
    from quizgen.template import Ask

    shape = Ask("output_shape", "t", layer=(("Conv2D",), "random"))
    assert fact_id(shape) == fact_id(Ask("output_shape", "other text", layer=(("Conv2D",), "random")))
    assert fact_id(shape) != fact_id(Ask("output_shape", "t", layer=(("Flatten",), "random")))



def test_facts_of_a_fixed_model_are_its_layers():
    """On a fixed model (an instructor's file) a fact is a layer's: two templates about one
    model asking the output shape of one layer ask one fact, about two models two; a summary
    table with blanks prints every layer's output shape and parameter count, so no question
    about a layer of its model goes beside it (a kernel's shape follows from the printed
    shapes too), while one about the whole model may."""
    from dataclasses import replace

    from quizgen.bank import own_model_templates
    from quizgen.spec import LayerSpec

    example = data_dir("question_bank") / "own-model" / "mnist_convnet.py"
    templates = {t.id.split("@")[0]: t for t in own_model_templates([example])}

    def made(name: str) -> Candidate:
        return candidate(templates[name], templates[name].asks)

    spec = templates["layer-output-shape"].fixed
    # every layer but the Dropout (index 5), which the template's class filter leaves out
    assert made("layer-output-shape").facts == {
        (spec, "output_shape", layer, None, None, None) for layer in (0, 1, 2, 3, 4, 6)}
    assert made("layer-output-shape").clashes(made("layer-output-shape"))
    assert not made("layer-output-shape").clashes(made("layer-params"))
    # a kernel's shape gives the layer's parameters away, a formula the number it computes;
    # any two parameter totals give the third, and the layers' counts add up to them
    for name, other in (("kernel-shape", "layer-params"), ("formula-params", "layer-params"),
                        ("formula-output-size", "layer-output-shape"),
                        ("total-params", "trainable-params"), ("total-params", "layer-params")):
        assert made(name).clashes(made(other)), name
    summary = made("summary-blanks")
    for name in ("layer-output-shape", "layer-params", "kernel-shape", "formula-params",
                 "total-params"):
        assert summary.clashes(made(name)) and made(name).clashes(summary), name
    assert not summary.clashes(made("statements"))
    other = replace(templates["summary-blanks"], fixed=ModelSpec((8,), (LayerSpec.make("Dense", units=4),)))
    assert not candidate(other, other.asks).clashes(made("layer-params"))
    # statements and formulas state general knowledge: two, about any models, could answer
    # each other
    for name in ("statements", "formula-output-size"):
        moved = replace(templates[name], fixed=ModelSpec(
            (28, 28, 1), (LayerSpec.make("Conv2D", filters=4, kernel_size=(3, 3)),)))
        assert candidate(moved, moved.asks).clashes(made(name)), name


def test_as_many_questions_as_the_facts_allow():
    """Without a number of questions (an instructor's own models) the implicit blueprint
    asks as many as it can, no two clashing: a summary table or the questions about the
    layers it prints, as the seed draws."""
    from quizgen.bank import own_model_templates

    example = data_dir("question_bank") / "own-model" / "mnist_convnet.py"
    templates = own_model_templates([example])
    layouts = set()
    for seed in range(8):
        slots = implicit_blueprint(templates, None, seed, "t").slots
        chosen = assign([slot.candidates for slot in slots], lambda _, made: made)
        assert not any(a.clashes(b) for i, a in enumerate(chosen) for b in chosen[i + 1:])
        assert all(slot.band is None for slot in slots)  # a fixed model has nothing to redraw
        layouts.add(tuple(sorted(slot.name.split("-")[0] for slot in slots)))
    assert any("summary" in layout and "shapes" not in layout for layout in layouts)
    assert any("shapes" in layout and "summary" not in layout for layout in layouts)


def test_grade_scores_with_the_points_of_the_key(midterm, tmp_path):
    """A student right on every question of a blueprint variant scores its 100 points; one
    right on the first question only scores that slot's points."""
    entries = by_variant(midterm)[1]

    def right(entry):
        if entry["kind"] == "single_choice":
            return str(next(n for n, c in enumerate(entry["choices"], 1) if c["correct"]))
        if entry["kind"] == "multiple_choice":
            return ",".join(str(n) for n, c in enumerate(entry["choices"], 1) if c["correct"]) or "none"
        return json.dumps(entry["answer"]).replace("null", "None") if entry["kind"] == "shape" \
            else json.dumps(entry["answer"])

    header = ",".join(["student_id", "variant", *(f"q{e['position']}" for e in entries)])
    rows = [",".join(['"all"', "1", *(f'"{right(e)}"' for e in entries)]),
            ",".join(['"first"', "1", f'"{right(entries[0])}"', *[""] * (len(entries) - 1)])]
    responses = tmp_path / "responses.csv"
    responses.write_text("\n".join([header, *rows]) + "\n")
    result = run_cli("grade", "--key", str(midterm / "key.json"), "--responses", str(responses),
                     "--out", str(tmp_path / "grades"))
    assert result.exit_code == 0, result.output
    grades = (tmp_path / "grades" / "grades.csv").read_text().splitlines()
    assert grades[1].startswith("all,1,100,100,"), grades[1]
    assert grades[2].startswith(f"first,1,{entries[0]['points']:g},100,"), grades[2]
    # per slot: both students right on the first slot, one of two on every other
    report = (tmp_path / "grades" / "report.md").read_text()
    section = report.split("## Slots")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    assert rows[1] == f"| {entries[0]['slot']} | {entries[0]['points']:g} | 2 | 100% | 100%–100% |"
    assert rows[2] == f"| {entries[1]['slot']} | {entries[1]['points']:g} | 2 | 50% | 50%–50% |"
    assert len(rows) == 1 + len(entries)
    assert "<h2>Slots</h2>" in (tmp_path / "grades" / "report.html").read_text()


@pytest.mark.parametrize("questions", [5, 10, 20, 25])
def test_the_implicit_blueprint_gives_each_topic_its_share(bank, questions):
    """Without --exam, the CLI's selection makes a blueprint: slots in proportion to each
    topic's templates (never above ⌈questions · templates of the topic / templates⌉; a summary
    table, whose blanks are asked together, one slot), each topic no more slots than it has
    facts to ask, `questions` questions in all, and some choice of candidates that asks no
    fact twice (topics share facts: the summary table's total and a parameters question's)."""
    templates = select(bank, [], [], [], [])
    by_topic = defaultdict(list)
    for template in templates:
        by_topic[template.topic].append(template)
    for seed in range(6):
        blueprint = implicit_blueprint(templates, questions, seed, "T")
        assert sum(len(slot.candidates[0].template.asks) for slot in blueprint.slots) == questions
        topics = defaultdict(int)
        for slot in blueprint.slots:
            (topic,) = {candidate.template.topic for candidate in slot.candidates}
            if len(slot.candidates[0].template.asks) > 1:  # the summary table
                assert slot.name == "summary-blanks" and len(slot.candidates) == 1
                continue
            topics[topic] += 1
        for topic, count in topics.items():
            assert count <= math.ceil(questions * len(by_topic[topic]) / len(templates)), (seed, topic)
            facts = {fact_id(ask) for template in by_topic[topic] for ask in template.asks}
            assert count <= len(facts), (seed, topic)
        assert implicit_blueprint(templates, questions, seed, "T") == blueprint
        chosen = assign([slot.candidates for slot in blueprint.slots], lambda _, c: c)
        facts = [fact for candidate in chosen for fact in candidate.facts]
        assert len(facts) == len(set(facts)) == questions


def test_assign_goes_back_to_an_earlier_slot_when_a_later_one_is_left_with_none():
    template = load_template(data_dir("question_bank") / "total-params.yaml")
    x, y, z = (Candidate(template, frozenset({fact})) for fact in "xyz")
    made = []

    def make(slot, candidate):
        made.append((slot, candidate))
        return candidate

    assert assign([[x, y], [x]], make) == [y, x]  # the greedy x would leave the second none
    assert made == [(0, x), (0, y), (1, x)]
    assert assign([[x, y], [z]], make) == [x, z]  # the greedy choice, when it succeeds
    with pytest.raises(Unfilled) as unfilled:
        assign([[x], [y], [x]], make)
    assert unfilled.value.slot == 2 and "asks a fact that another slot" in unfilled.value.reason

    def refuse(slot, candidate):
        raise QuizgenError(f"no {candidate.facts}")

    with pytest.raises(Unfilled, match="no template of its pool made a question: no") as unfilled:
        assign([[x], [y]], refuse)
    assert unfilled.value.slot == 0


def test_twenty_questions_of_the_bundled_bank(tmp_path):
    """A summary table and a parameters question both ask the total parameter count: twenty
    questions used to seat both, and every variant failed."""
    out = tmp_path / "out"
    result = run_cli("generate", "--variants", "2", "--questions", "20", "--seed", "1",
                     "--format", "md", "--out", str(out))
    assert result.exit_code == 0, result.output
    for entries in by_variant(out).values():
        assert len(entries) == 20
        asked = [(e["fact"], e.get("quantity")) for e in entries if e["fact"] == "total_params"]
        assert len(asked) <= 1


def test_default_variants_are_parallel_forms_without_a_fact_twice(tmp_path):
    out = tmp_path / "out"
    result = run_cli("generate", "--variants", "6", "--seed", "7", "--format", "md", "--out", str(out))
    assert result.exit_code == 0, result.output
    variants = by_variant(out)
    shapes = {tuple((entry["slot"], FORMS[entry["kind"]], entry["points"]) for entry in entries)
              for entries in variants.values()}
    assert len(shapes) == 1, shapes
    (shape,) = shapes
    assert len(shape) == 10 and {points for _, _, points in shape} == {1}
    whole_model = {"total_params", "trainable_params", "non_trainable_params", "statements", "code"}
    for entries in variants.values():  # e.g. never the total parameter count twice
        asked = [(e["fact"], e.get("quantity")) for e in entries if e["fact"] in whole_model]
        assert len(asked) == len(set(asked)), asked
    assert "Question 1 (1 point)" in (out / "variant-1.md").read_text()


def test_more_questions_than_facts_is_a_clear_error(tmp_path):
    result = run_cli("generate", "--topic", "embedding", "--questions", "5", "--out", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert "--questions 5: the chosen templates can ask only 2 questions without asking a fact " \
        "twice in a variant" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "o").exists()
    # without --questions, an exam of a small selection asks each of its facts once
    result = run_cli("generate", "--topic", "embedding", "--format", "md", "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert "2 questions" in result.output


def test_a_pool_can_keep_only_the_asks_about_some_weights(bank):
    """The midterm's weights slot asks kernel shapes only: a bias shape is not as hard."""
    (slot,) = [slot for slot in load_blueprint(MIDTERM, bank).slots if slot.name == "weights"]
    weights = {ask.weight for candidate in slot.candidates for ask in candidate.template.asks}
    templates = {candidate.template.id for candidate in slot.candidates}
    assert weights == {"kernel"} and templates == {"kernel-shape", "dense-kernel-shape"}
