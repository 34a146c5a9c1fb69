"""Exam blueprints (`quizgen generate --exam`): every variant fills the same slots in the same
order (parallel forms: topic pool, response form and points at each position), never asks a fact
twice, and the handouts and solutions print the exam's head and each question's points, also as
PDF; malformed blueprints are errors naming the file and the slot, and nothing is written."""

from __future__ import annotations

import json
import re
import textwrap
from collections import defaultdict
from pathlib import Path
from typing import Any

import pypdf
import pytest
import yaml

from quizgen.bank import load_template
from quizgen.blueprint import fact_id, load_blueprint
from quizgen.difficulty import default_band, measure
from quizgen.errors import TemplateError
from quizgen.spec import ModelSpec, Task
from quizgen.resources import data_dir

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
    assert "slot again: every template of its pool asks a fact that an earlier slot" in result.output


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
            assert slot.band.admits(features), (slot.name, features, slot.band)
            for name, value in features.items():
                measured[slot.name][name].add(value)
    # the bands are not wider than the pools: by-hand outputs and traced layers are bounded
    assert max(measured["by-hand"]["outputs"]) - min(measured["by-hand"]["outputs"]) <= 6
    assert max(measured["architecture"]["layers"]) - min(measured["architecture"]["layers"]) <= 3


def test_a_default_band_is_the_middle_half_of_the_draws():
    band = default_band([{"layers": n, "outputs": 2 * n} for n in range(1, 9)])
    assert band.bounds == (("layers", 3, 7), ("outputs", 6, 14))
    assert band.admits({"layers": 3, "outputs": 14}) and not band.admits({"layers": 8})
    assert band.admits({"window": 99})  # a feature the band does not bound


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
