"""Assembly: per-variant seeds, the templates of each variant, and balanced answer positions.

Seeds form a hierarchy: the exam `seed` gives each variant its seed, and each variant's seed gives
each of its items (template instances) a seed, with `derive_seed`. An exam is drawn from a list
of templates or from a blueprint (`quizgen.blueprint`):

- from templates, a variant takes them topic by topic in a shuffled order (one template of each
  topic before a second of any), cycling through the selection until it holds `questions`
  questions, so an exam covers the bank evenly;
- from a blueprint, a variant fills each slot in order with one question of the slot's response
  form, from a template of its pool drawn at random, of a subject within the slot's difficulty
  band, never asking a fact another slot of the variant asks (a candidate that cannot make an
  item for its seed gives way to the next).

Within a variant the correct option of the single-choice questions is spread evenly over the
positions 1–4.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import partial

from quizgen.blueprint import DEFAULT_POINTS, Blueprint, Candidate, Slot, Unfilled, assign
from quizgen.cache import CacheStats, FactCache, default_folder
from quizgen.errors import BatchError, QuizgenError
from quizgen.family import CHOICES, Question
from quizgen.oracle import Oracle
from quizgen.questions import Item, cached_item, derive_seed
from quizgen.template import Template

#: What an exam is drawn from: templates, or a blueprint's slots.
Source = list[Template] | Blueprint


@dataclass(frozen=True)
class Variant:
    """One exam variant (numbered from 1), its items in printed order and, for an exam drawn
    from a blueprint, the slot each item fills (with one question, or the questions of a
    template whose asks are made together)."""

    number: int
    seed: int
    items: tuple[Item, ...]
    slots: tuple[Slot, ...] = ()

    def placement(self, position: int) -> tuple[str | None, float]:
        """The slot name (None without a blueprint) and the points of the question at
        `position` (1-based)."""
        if not self.slots:
            return None, DEFAULT_POINTS
        slot = [slot for item, slot in zip(self.items, self.slots, strict=True)
                for _ in item.questions][position - 1]
        return slot.name, slot.points

    def numbered(self) -> Iterator[tuple[int, Item, Question]]:
        """`(position, item, question)` for every question, positions 1-based as printed."""
        position = 0
        for item in self.items:
            for question in item.questions:
                position += 1
                yield position, item, question


def _interleave(templates: list[Template], rng: random.Random) -> list[Template]:
    """The templates in an order that mixes topics: each topic's templates shuffled, topics
    taken in turn (in shuffled order), so the first N of a variant span as many topics as
    possible."""
    by_topic: dict[str, list[Template]] = {}
    for template in templates:
        by_topic.setdefault(template.topic, []).append(template)
    groups = list(by_topic.values())
    for group in groups:
        rng.shuffle(group)
    rng.shuffle(groups)
    order = []
    for turn in range(max(len(group) for group in groups)):
        order += [group[turn] for group in groups if turn < len(group)]
    return order


def _plan(templates: list[Template], rng: random.Random, questions: int) -> list[tuple[Template, int]]:
    """Which templates a variant uses, in order, and how many of each one's asks it keeps:
    each template once, then the sampled ones again in turn (a template of a fixed model or
    task asked again would ask the same questions), until `questions` are asked or only
    fixed templates remain."""
    order = _interleave(templates, rng)
    again = itertools.cycle([template for template in order if template.fixed is None])
    plan, count = [], 0
    for template in itertools.chain(order, again):
        if count >= questions:
            break
        keep = min(len(template.asks), questions - count)
        plan.append((template, keep))
        count += keep
    return plan


def _balance(items: list[Item], rng: random.Random) -> tuple[Item, ...]:
    """Move each single-choice question's correct option so that, within the variant, every
    position is used as evenly as possible (a shuffled cycle of 0..CHOICES-1 from a random
    start, so that across variants every position is equally likely too)."""
    choice_count = sum(1 for item in items for q in item.questions if q.kind == "single_choice")
    start = rng.randrange(CHOICES)
    positions = [(start + i) % CHOICES for i in range(choice_count)]
    rng.shuffle(positions)
    slots = iter(positions)
    return tuple(
        replace(item, questions=tuple(q.with_correct_at(next(slots)) if q.kind == "single_choice"
                                      else q for q in item.questions))
        for item in items
    )


def _mixed_items(templates: list[Template], seed: int, rng: random.Random, questions: int,
                 oracle: Oracle) -> tuple[list[Item], list[str]]:
    """The items of a variant drawn from templates (`_plan`), and the failures."""
    items, failures = [], []
    for index, (template, keep) in enumerate(_plan(templates, rng, questions)):
        try:
            item = cached_item(template, derive_seed(seed, "item", index), oracle)
        except QuizgenError as error:
            failures.append(str(error))
            continue
        items.append(replace(item, questions=item.questions[:keep]))
    return items, failures


def _slot_items(blueprint: Blueprint, seed: int, oracle: Oracle) -> tuple[list[Item], list[str]]:
    """The items of a variant drawn from a blueprint, one per slot in the slots' order, and
    the failures. The slots are filled most constrained first (fewest candidates, so that a
    summary table's blanks take their facts before a slot that has others to choose from),
    each with the first of its candidates (in an order drawn from the slot's seed) that asks
    no fact an earlier slot asks and makes an item within the slot's band; when a later slot
    is left with none, an earlier slot takes its next candidate (`quizgen.blueprint.assign`)."""
    slots = sorted(enumerate(blueprint.slots), key=lambda pair: len(pair[1].candidates))
    seeds = [derive_seed(seed, "slot", index) for index, _ in slots]
    made: dict[tuple[int, int], Item | QuizgenError] = {}

    def order(position: int, free: list[Candidate]) -> list[Candidate]:
        random.Random(seeds[position]).shuffle(free)
        return free

    def make(position: int, candidate: Candidate) -> Item:
        key = (position, slots[position][1].candidates.index(candidate))
        if key not in made:
            try:
                made[key] = cached_item(candidate.template, seeds[position], oracle,
                                        slots[position][1].band)
            except QuizgenError as error:
                made[key] = error
        if isinstance(made[key], QuizgenError):
            raise made[key]
        return made[key]

    try:
        items = assign([slot.candidates for _, slot in slots], make, order)
    except Unfilled as error:
        return [], [f"slot {slots[error.slot][1].name}: {error.reason}"]
    return [item for _, item in sorted(zip((index for index, _ in slots), items, strict=True))], []


def make_variant(source: Source, exam_seed: int, number: int, questions: int,
                 oracle: Oracle) -> Variant:
    """Variant `number` (1-based) of the exam with seed `exam_seed`, drawn from `source`
    (templates, for `questions` questions; or a blueprint, one question per slot), its facts
    from `oracle`.

    Raises:
        BatchError: one or more items failed (each failure names the variant and the template
            or slot).
    """
    seed = derive_seed(exam_seed, "variant", number)
    rng = random.Random(seed)
    if isinstance(source, Blueprint):
        items, failures = _slot_items(source, seed, oracle)
    else:
        items, failures = _mixed_items(source, seed, rng, questions, oracle)
    if failures:
        raise BatchError("question(s)", [f"variant {number}, {failure}" for failure in failures])
    slots = source.slots if isinstance(source, Blueprint) else ()
    return Variant(number, seed, _balance(items, rng), slots)


def _variant_or_failures(source: Source, seed: int, number: int, questions: int,
                         oracle: Oracle) -> Variant | list[str]:
    """`make_variant`, with its failures returned instead of raised (to cross processes);
    the facts it computed are then written to the cache (`FactCache.flush`)."""
    try:
        return make_variant(source, seed, number, questions, oracle)
    except BatchError as error:
        return error.failures
    finally:
        oracle.cache.flush()


#: The oracle of this worker process, by cache setting: kept for the worker's next variants
#: (its memo tables, and the Keras it imported, make them faster).
_WORKER_ORACLES: dict[bool, Oracle] = {}


def _worker_oracle(cache_enabled: bool) -> Oracle:
    if cache_enabled not in _WORKER_ORACLES:
        folder = default_folder() if cache_enabled else None
        _WORKER_ORACLES[cache_enabled] = Oracle(FactCache(folder))
    return _WORKER_ORACLES[cache_enabled]


def _variant_in_worker(number: int, source: Source, seed: int, questions: int,
                       cache_enabled: bool) -> tuple[Variant | list[str], CacheStats]:
    """`_variant_or_failures` in a worker process (local or on a Dask worker), with the
    parent's cache setting (the worker's own cache folder, `QUIZGEN_CACHE_DIR`), and the
    worker's cache statistics for it. A worker imports Keras on its first model, if it has to
    build one (a run whose facts are all cached never does), and keeps it for its next
    variants."""
    oracle = _worker_oracle(cache_enabled)
    before = replace(oracle.cache.stats)
    result = _variant_or_failures(source, seed, number, questions, oracle)
    return result, oracle.cache.stats.since(before)


def _counted(results: Iterable[tuple[Variant | list[str], CacheStats]],
             stats: CacheStats) -> Iterator[Variant | list[str]]:
    """The workers' results, their cache statistics added to `stats`."""
    for result, worker_stats in results:
        stats.add(worker_stats)
        yield result


def _in_processes(source: Source, seed: int, numbers: range, questions: int,
                  jobs: int, cache: FactCache) -> Iterator[Variant | list[str]]:
    """`_variant_or_failures` of each number, in order, from `jobs` local worker processes
    (in chunks of at most 4 variants, so that no worker idles long while another finishes).
    Workers live for the whole run: on Python 3.11, a pool whose workers are replaced after
    some tasks (`max_tasks_per_child`) can hang for good when one exits."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        yield from _counted(pool.map(partial(_variant_in_worker, source=source, seed=seed,
                                             questions=questions,
                                             cache_enabled=cache.folder is not None),
                                     numbers, chunksize=max(1, min(4, len(numbers) // (4 * jobs)))),
                            cache.stats)


SCHEDULER_TIMEOUT = 10
"""Seconds to wait for the Dask scheduler to answer, and for a worker to join it."""


def _check_scheduler(address: str) -> None:
    """Raise `QuizgenError` unless a Dask scheduler answers at `address` within
    `SCHEDULER_TIMEOUT` (distributed's own handshake waits forever on a port that is open but
    not a scheduler's, e.g. the dashboard's)."""
    from distributed.comm import connect

    async def handshake() -> None:
        comm = await asyncio.wait_for(connect(address, timeout=SCHEDULER_TIMEOUT),
                                      SCHEDULER_TIMEOUT)
        await comm.close()

    try:
        asyncio.run(handshake())
    except TimeoutError:
        raise QuizgenError(f"cannot reach the Dask scheduler at {address}: no answer within "
                           f"{SCHEDULER_TIMEOUT} s") from None
    except Exception as error:  # refused, malformed address, not a scheduler
        raise QuizgenError(f"cannot reach the Dask scheduler at {address}: "
                           f"{str(error) or type(error).__name__}") from None


def _on_dask(source: Source, seed: int, numbers: range, questions: int,
             scheduler: str, cache: FactCache) -> Iterator[Variant | list[str]]:
    """`_variant_or_failures` of each number, in order, from the workers of the Dask scheduler
    at `scheduler`.

    Raises:
        QuizgenError: distributed is not installed, the scheduler cannot be reached, or no
            worker joins it within `SCHEDULER_TIMEOUT`.
    """
    try:
        from distributed import Client
    except ImportError:
        raise QuizgenError('--executor dask needs the distributed package: '
                           'pip install "quizgen[dask]"') from None
    _check_scheduler(scheduler)
    with Client(scheduler, timeout=SCHEDULER_TIMEOUT, set_as_default=False) as client:
        try:  # sent once to the cluster, not with every task
            [shared] = client.scatter([source], hash=False)
        except TimeoutError:
            raise QuizgenError(f"no Dask worker joined the scheduler at {scheduler} within "
                               f"{SCHEDULER_TIMEOUT} s") from None
        futures = client.map(_variant_in_worker, numbers, source=shared, seed=seed,
                             questions=questions, cache_enabled=cache.folder is not None,
                             pure=False)
        yield from _counted(_released(futures), cache.stats)


def _released(futures: list) -> Iterator:
    """Each Dask future's result, in order; the cluster need not keep what is here now."""
    for future in futures:
        yield future.result()
        future.release()


def _made(source: Source, seed: int, variants: int, questions: int, oracle: Oracle,
          jobs: int, scheduler: str | None) -> Iterator[Variant | list[str]]:
    """Each variant (or its failures), in order: made by the workers of the Dask scheduler at
    `scheduler`, else here with `oracle` or by `jobs` worker processes (each with an oracle of
    its own, with the same cache setting)."""
    numbers = range(1, variants + 1)
    if scheduler is not None:
        return _on_dask(source, seed, numbers, questions, scheduler, oracle.cache)
    if jobs <= 1 or variants == 1:
        return (_variant_or_failures(source, seed, n, questions, oracle) for n in numbers)
    return _in_processes(source, seed, numbers, questions, jobs, oracle.cache)


def assemble(source: Source, seed: int, variants: int, questions: int,
             oracle: Oracle, progress: Callable[[Iterable], Iterable] = iter, jobs: int = 1,
             scheduler: str | None = None) -> list[Variant]:
    """All variants of an exam drawn from `source` (templates, `questions` questions per
    variant; or a blueprint, one per slot), made here with `oracle`, by `jobs` worker processes (each
    imports Keras once, when it first has a model to build), or, given a `scheduler` address
    (e.g. `tcp://10.0.0.5:8786`), by the workers of that Dask scheduler; the outputs are the
    same as a serial run's. Workers use the oracle's cache setting, and their cache
    statistics are added to its. `progress` wraps the stream of finished variants (e.g. a
    progress bar).

    Raises:
        BatchError: items of one or more variants failed; all failures are listed together.
        QuizgenError: `variants` or `questions` is below 1; with a `scheduler`, distributed is
            not installed, the scheduler cannot be reached, or no worker joins it.
    """
    if variants < 1 or questions < 1:
        raise QuizgenError("--variants and --questions must be at least 1")
    made, failures = [], []
    for result in progress(_made(source, seed, variants, questions, oracle, jobs, scheduler)):
        if isinstance(result, Variant):
            made.append(result)
        else:
            failures += result
    if failures:
        raise BatchError("question(s)", failures)
    return made
