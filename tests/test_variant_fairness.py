"""Variant fairness in `quizgen grade` (quizgen.gradebook._analyse_variants): a variant made
harder is flagged; on variants equally hard, a flag comes up no more often than the 5 % the
report promises (simulated classes over many seeds); the report shows the table."""

from __future__ import annotations

import numpy as np

from quizgen.gradebook import ALPHA, StudentGrade, _analyse_variants

VARIANTS, STUDENTS, QUESTIONS = 10, 20, 10


def simulated_class(seed: int, right: dict[int, float]) -> tuple[StudentGrade, ...]:
    """STUDENTS students per variant, each answering each question right with the variant's
    probability (`right`, default 0.7), 1 point per question."""
    rng = np.random.default_rng(seed)
    students = []
    for variant in range(1, VARIANTS + 1):
        for student in range(STUDENTS):
            credits = tuple(float(x) for x in rng.random(QUESTIONS) < right.get(variant, 0.7))
            students.append(StudentGrade(f"s{variant}-{student}", variant, ("",) * QUESTIONS,
                                         credits, (1.0,) * QUESTIONS, len(students) + 2))
    return tuple(students)


def test_a_harder_variant_is_flagged_and_only_it():
    flagged = []
    for seed in range(5):
        analyses = _analyse_variants(simulated_class(seed, {4: 0.35}))
        flagged.append([a.variant for a in analyses if a.flagged])
        harder = next(a for a in analyses if a.variant == 4)
        assert harder.n == STUDENTS and harder.mean < 0.5 and harder.p_value < ALPHA / VARIANTS
    assert all(4 in variants for variants in flagged), flagged
    assert sum(len(variants) > 1 for variants in flagged) <= 1, flagged


def test_equal_variants_are_flagged_no_more_often_than_alpha():
    runs = 40
    with_a_flag = sum(any(a.flagged for a in _analyse_variants(simulated_class(seed, {})))
                      for seed in range(100, 100 + runs))
    # at most 5 % of runs in expectation (2 of 40); 6 or more has probability < 1.5 %
    assert with_a_flag <= 5, with_a_flag


def test_p_values_are_reproducible_and_untestable_variants_say_so():
    students = simulated_class(7, {})
    assert _analyse_variants(students) == _analyse_variants(students)
    alone = students[:STUDENTS] + students[STUDENTS:STUDENTS + 1]  # variant 2 has one student
    analyses = {a.variant: a for a in _analyse_variants(alone)}
    assert analyses[2].p_value is None and not analyses[2].flagged
    assert analyses[1].p_value is None  # the rest of the class is one student: untestable too
