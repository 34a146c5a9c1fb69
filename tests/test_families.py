"""The family registry: every family declares its facts, misconceptions, proof and
re-derivation; the proofs reject invalid items; the package has no import cycle."""

import ast
import dataclasses
from pathlib import Path

import pytest

import quizgen
from quizgen import families
from quizgen.facts import LAYER_FACTS, MODEL_FACTS, TASK_FACTS
from quizgen.family import Choice, Family, Subject
from quizgen.questions import make_item

#: One bundled template of each family, to make real questions of it.
EXAMPLES = {"model_facts": "conv-params", "summary_blanks": "summary-blanks",
            "by_hand": "conv-by-hand", "statements": "statements",
            "which_formula": "formula-params", "which_code": "prose-which-code"}


def test_every_family_declares_what_it_asks_and_how_it_is_proven():
    assert [family.name for family in families.FAMILIES] == list(EXAMPLES)
    for family in families.FAMILIES:
        assert isinstance(family, Family)
        assert family.facts and family.misconceptions, family.name
        assert all(map(callable, (family.make, family.prove, family.rederive, family.check_ask)))
        assert all(text and not text.endswith(".") for text in family.misconceptions.values())
    assert set(families.FACTS) == {*LAYER_FACTS, *MODEL_FACTS, *TASK_FACTS, "statements",
                                   "code", "formula"}


def test_a_label_means_the_same_in_every_family():
    meanings = {}
    for family in families.FAMILIES:
        for label, text in family.misconceptions.items():
            assert meanings.setdefault(label, text) == text, label
    assert families.describe("bias_forgotten+padding_flipped") == (
        "forgot the biases (one per filter, unit or attention projection output); also, "
        "confused padding='valid' and padding='same'")
    with pytest.raises(KeyError):
        families.describe("no_such_mistake")


def test_each_fact_has_one_family_that_rederives_it():
    for fact in families.FACTS:
        assert fact in families.for_fact(fact).facts
    assert families.for_fact("output_shape").name == "model_facts"


def example(bank, oracle, family_name):
    """A real question of the family, its subject, and the family."""
    template = next(t for t in bank if t.id == EXAMPLES[family_name])
    single = dataclasses.replace(template, asks=tuple(
        dataclasses.replace(ask, response=("single_choice",)) for ask in template.asks))
    item = make_item(single, 3, oracle)
    family = families.for_ask(single, single.asks[0])
    assert family.name == family_name
    subject = Subject(single, 0, item.spec, item.facts, item.task, oracle)
    return family, subject, item.questions[0]


@pytest.mark.parametrize("family_name", list(EXAMPLES))
def test_the_proof_accepts_a_made_question_and_rejects_a_broken_one(bank, oracle, family_name):
    family, subject, question = example(bank, oracle, family_name)
    assert family.prove(subject, question) == []
    wrong = next(choice for choice in question.choices if not choice.correct)
    right = next(choice for choice in question.choices if choice.correct)
    # a distractor marked correct, and the correct option offered twice
    broken = [dataclasses.replace(question, choices=tuple(
        dataclasses.replace(c, correct=True) if c is wrong else c for c in question.choices)),
        dataclasses.replace(question, choices=tuple(
            right if c is wrong else c for c in question.choices))]
    for invalid in broken:
        assert family.prove(subject, invalid), (family_name, invalid.choices)


def test_a_distractor_without_a_known_mistake_is_not_valid(bank, oracle):
    family, subject, question = example(bank, oracle, "model_facts")
    unlabelled = tuple(Choice(c.text, c.value, c.correct, None if not c.correct else c.misconception)
                       for c in question.choices)
    assert any("no known misconception" in problem
               for problem in family.prove(subject, dataclasses.replace(question, choices=unlabelled)))


def _is_module(package: Path, name: str) -> bool:
    path = package.parent / name.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _imports(path: Path, package: Path) -> set[str]:
    """The quizgen modules `path` imports at run time: `from quizgen.families import model_facts` imports
    the module `quizgen.families.model_facts` (its package's `__init__` importing it back is
    how packages work, not a cycle), `from quizgen.family import Family` the module
    `quizgen.family`."""
    found = set()
    tree = ast.parse(path.read_text())
    typing_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
                   for node in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in typing_only:  # imports for annotations only: no import at run time
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("quizgen"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if _is_module(package, submodule) else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("quizgen")}
    return found


def test_no_import_cycles():
    package = Path(quizgen.__file__).parent
    modules = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = _imports(path, package) - {name}
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == "done":
            return
        assert state.get(name) != "open", " -> ".join(trail + [name])
        state[name] = "open"
        for imported in sorted(modules.get(name, ())):
            visit(imported, trail + [name])
        state[name] = "done"

    for name in sorted(modules):
        visit(name, [])


def test_the_key_schema_documents_every_fact():
    from quizgen.key import schema

    assert set(schema()["$defs"]["question"]["properties"]["fact"]["enum"]) == set(families.FACTS)


@pytest.mark.parametrize("family_name", list(EXAMPLES))
def test_every_family_makes_valid_items_over_many_seeds(bank, oracle, family_name):
    # the validity proof of generation, checked again by verify's fresh oracle: exactly one right
    # option for the instance, each distractor named by the mistake that gives it, no giveaway
    from quizgen.key import question_entry
    from quizgen.oracle import Oracle
    from quizgen.verify import check_entry, giveaways, validity

    verifier = Oracle()
    templates = [t for t in bank if families.for_ask(t, t.asks[0]).name == family_name]
    for template in templates[:2]:
        for seed in range(5):
            item = make_item(template, seed, oracle)
            entries = [question_entry(1, i, item, q) for i, q in enumerate(item.questions, 1)]
            problems = [p for entry in entries for p in check_entry(entry, verifier)]
            problems += [p for _, p in giveaways(entries)]
            assert problems == [], (template.id, seed, [validity(p) for p in problems], problems)
