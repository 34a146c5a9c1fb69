"""Summary blanks: fill in the cells of a `model.summary()` table (seeds/001).

A template whose stem prints `{{ summary }}` shows the model's summary table with the cell each
of its asks is about blanked out as (a), (b), ... in ask order; each ask is a model fact (an
output shape or parameter count of a layer, or a total) whose text names its cell with
`{{ blank }}`. Values, distractors, explanations, proofs and re-derivations are those of
`quizgen.families.model_facts`; this family adds the table and the blank labels.
"""

from __future__ import annotations

import random
from dataclasses import replace

from quizgen.errors import QuestionError
from quizgen.facts import MODEL_FACTS, Answer
from quizgen.families import model_facts
from quizgen.family import Family, Question, Subject
from quizgen.oracle import ModelFacts
from quizgen.template import Ask

#: The facts the table prints of every layer (a question about a layer of this model would be
#: given away by the table).
SHOWN = ("output_shape", "params")
#: The facts a blank can hide: a layer's output shape or parameters, or a total.
FACTS = SHOWN + MODEL_FACTS
#: The most layers a table to fill in may have (a longer one is not a question but a chore).
MAX_ROWS = 30


def blank_label(index: int) -> str:
    """The label of the blank ask number `index` fills in a summary table: a, b, c, ..."""
    return chr(ord("a") + index)


def summary_with_blanks(subject: Subject, questions: tuple[Question, ...]) -> str:
    """The model's `model.summary()` table with the cell each question asks for blanked out
    as (a), (b), ... in ask order; the totals lines asked for follow the table (the others are
    left out: they would give the blanks away).

    Raises:
        QuestionError: the model has more than `MAX_ROWS` layers, or a blank's value is
            printed in another cell of its column (a student would copy it: the item is
            redrawn).
    """
    facts = subject.facts
    if len(facts.layers) > MAX_ROWS:
        raise QuestionError(f"a summary table of {len(facts.layers)} layers is too long to fill "
                            f"in (at most {MAX_ROWS})")
    blanks = {(q.ref.fact, q.ref.layer if q.ref.fact in SHOWN else None):
              blank_label(i) for i, q in enumerate(questions)}
    printed = {(fact, _cell(facts, fact, layer)) for layer in range(len(facts.layers))
               for fact in SHOWN if (fact, layer) not in blanks}
    shown = [blank_label(i) for i, q in enumerate(questions)
             if q.ref.fact in SHOWN and (q.ref.fact, q.answer) in printed]
    if shown:
        raise QuestionError(f"blank(s) {', '.join(shown)} of the summary are printed in another cell")
    return model_facts.summary_table(facts, "params", blanks)


def _cell(facts: ModelFacts, fact: str, layer: int) -> Answer:
    known = facts.layers[layer]
    return known.output_shape if fact == "output_shape" else known.params


def make(subject: Subject, rng: random.Random) -> Question:
    """The model-fact question of a blank; its text may name the blank as `{{ blank }}`."""
    return model_facts.make(replace(subject, context={"blank": blank_label(subject.index)}), rng)


def check_ask(ask: Ask) -> list[tuple[str, str]]:
    """A blank is a cell of the table: one of `FACTS`, with the layer it is in."""
    if ask.fact not in FACTS:
        return [(".fact", f"{ask.fact!r} is not a cell of a summary table; one of {list(FACTS)}")]
    return model_facts.check_ask(ask)


FAMILY = Family(
    name="summary_blanks",
    facts=FACTS,
    misconceptions=model_facts.DESCRIPTIONS,
    make=make,
    prove=model_facts.prove,
    rederive=model_facts.rederive,
    check_ask=check_ask,
    reproduce=model_facts.reproduce,
    stem_variables={"summary": summary_with_blanks},
    asks_together=True,
    shows=SHOWN,
)
