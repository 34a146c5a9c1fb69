"""The families of questions, one module each, and the registry the pipeline asks.

- `model_facts`: `output_shape`, `params`, `weight_shape`, `total_params`, `trainable_params`,
  `non_trainable_params` (seeds/001, 003);
- `summary_blanks`: the same facts as cells of a `model.summary()` table (`{{ summary }}`,
  seeds/001);
- `by_hand`: `conv_output`, `pool_output` and the `by_hand` sampler (seeds/004);
- `statements`: "which statements are correct?" (seeds/000);
- `which_formula`: "which formula gives ...?" (seeds/003);
- `which_code`: "which code implements this description?" and the `prose` code style
  (seeds/002).

This registry is the only place that knows them: `quizgen.questions` asks it which family makes
a question of an ask, `quizgen.verify` which family re-derives a key entry, `quizgen.bank`
whether an ask is one a family declares. Adding a family is one module here (a `FAMILY`), its
templates and its tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from quizgen import sample
from quizgen.errors import TemplateError
from quizgen.families import by_hand, model_facts, statements, summary_blanks, which_code, which_formula
from quizgen.family import Family, Question, Subject, describe_in
from quizgen.spec import ModelSpec
from quizgen.template import Ask, Template, variables

#: Every family, in the order a fact is looked up (a fact's first family re-derives it).
FAMILIES: tuple[Family, ...] = (model_facts.FAMILY, summary_blanks.FAMILY, by_hand.FAMILY,
                                statements.FAMILY, which_formula.FAMILY, which_code.FAMILY)

#: Every fact an ask may ask, in registry order.
FACTS: tuple[str, ...] = tuple(dict.fromkeys(fact for family in FAMILIES for fact in family.facts))

#: Every misconception label of every family and what it means (one meaning per label).
MISCONCEPTIONS: Mapping[str, str] = {
    label: text for family in FAMILIES for label, text in family.misconceptions.items()}

#: The subjects a template may draw: the architecture samplers and the families' own.
SAMPLERS: Mapping[str, Callable[..., Any]] = sample.SAMPLERS | {
    name: sampler for family in FAMILIES for name, sampler in family.samplers.items()}

#: The ways to show a model that families add to `ModelSpec.code`'s (words, not code).
CODE_STYLES: Mapping[str, Callable[[ModelSpec], str]] = {
    name: style for family in FAMILIES for name, style in family.code_styles.items()}


def _providing(template: Template) -> Family | None:
    """The family that provides a variable the template's stem uses, if any."""
    used = variables(template.stem)
    return next((family for family in FAMILIES if used & set(family.stem_variables)), None)


def asks_together(template: Template) -> bool:
    """Whether the template's asks must be asked together: its stem is provided by a family
    whose `asks_together` says so (the blanks of one summary table)."""
    family = _providing(template)
    return family is not None and family.asks_together


def shown(template: Template) -> tuple[str, ...]:
    """The facts of every layer that the template's stem prints (`Family.shows` of the family
    providing it: a summary table's output shapes and parameter counts), if any."""
    family = _providing(template)
    return family.shows if family is not None else ()


def for_ask(template: Template, ask: Ask) -> Family:
    """The family that makes the questions of `ask`: the one whose stem variables the
    template's stem uses (a summary table), else the first that declares the ask's fact.

    Raises:
        TemplateError: no family declares the fact.
    """
    family = _providing(template)
    if family is not None:
        return family
    return for_fact(ask.fact)


def for_fact(fact: str) -> Family:
    """The first family (in `FAMILIES` order) that declares `fact`: it re-derives the key
    entries asking it.

    Raises:
        TemplateError: no family declares the fact.
    """
    family = next((family for family in FAMILIES if fact in family.facts), None)
    if family is None:
        raise TemplateError(f"{fact!r} is not one of {list(FACTS)}")
    return family


def check_ask(template: Template, ask: Ask) -> list[tuple[str, str]]:
    """The problems of one ask of `template` as `(field, message)`, the field relative to the
    ask: an unknown fact, or what its family's `check_ask` finds."""
    try:
        family = for_ask(template, ask)
    except TemplateError as error:
        return [(".fact", str(error))]
    return family.check_ask(ask)


def forms(template: Template, ask: Ask) -> tuple[str, ...]:
    """The response forms a question of `ask` can take (`single_choice`, `multiple_choice`,
    `free`): its family's, else those of the ask's `response` (a value is asked as a single
    choice or as a free response)."""
    family = for_ask(template, ask)
    if family.forms is not None:
        return family.forms
    return tuple(dict.fromkeys(map(_form, ask.response)))


def _form(response: str) -> str:
    """The form of a value ask's `response` entry: a single choice, or a free response."""
    return "single_choice" if response == "single_choice" else "free"


def in_form(template: Template, ask: Ask, form: str) -> Ask:
    """`ask` restricted to the response form `form` (one of `forms(template, ask)`)."""
    return ask if for_ask(template, ask).forms is not None else replace(ask, response=(form,))


def in_forms(template: Template, ask: Ask, wanted: list[str]) -> Ask:
    """`ask` restricted to the response forms `wanted` (some of `forms(template, ask)`)."""
    if for_ask(template, ask).forms is not None:
        return ask
    return replace(ask, response=tuple(response for response in ask.response
                                       if _form(response) in wanted))


def stem_variables(subject: Subject, questions: tuple[Question, ...]) -> dict[str, str]:
    """The variables of the subject's template's stem that a family provides (e.g.
    `summary`), made from the subject and its questions."""
    family = _providing(subject.template)
    if family is None:
        return {}
    return {name: make(subject, questions) for name, make in family.stem_variables.items()}


def describe(label: str) -> str:
    """The feedback text of a misconception label (compound labels join with ' and ').

    Raises:
        KeyError: an unknown label.
    """
    return describe_in(MISCONCEPTIONS, label)
