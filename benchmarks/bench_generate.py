"""Benchmark of `quizgen generate`: V variants × Q questions, cold (empty fact cache) then warm.

Prints variants, questions, distinct models and layers, seconds, questions per second, cache
hits, peak RSS, and two floors measured in the same run: importing Keras plus one bare build
(`keras.Sequential`, no forward pass) of each distinct model the run asked Keras about
(distractors' mutated models included), and of each distinct model the *key* holds, the
models split over `--jobs` processes running at once; then the cold run's ratio to each floor,
a per-stage breakdown of a cold serial run of `--stage-variants` variants (seconds spent
importing Keras, building layers, executing models on data, probing behaviour, reading and
writing the fact cache, rendering, building the key, and the rest: sampling and question
logic), and the targets of the speed issue with their measured values.

    python benchmarks/bench_generate.py --variants 1000 --questions 20 --jobs 2

Needs psutil (installed with the `test` extra) to sum the memory of the worker processes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

FLOOR_SCRIPT = """
import json, sys, time
started = time.perf_counter()
from quizgen import oracle
oracle.keras()
from quizgen.spec import ModelSpec
specs = [ModelSpec.from_json(json.loads(line)) for line in sys.stdin]
for spec in specs:
    try:
        oracle.build_model(spec)
    except Exception:
        pass
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


#: A cold serial `generate_exam` with a clock on each stage; each stage's time excludes the
#: stages it calls (a by-hand task's model build counts as "build", its forward pass as
#: "execute"). Prints a JSON object of seconds per stage and in all.
STAGES_SCRIPT = """
import json, sys, time
started = time.perf_counter()
from quizgen import cache, generate, oracle
seconds, stack = {}, []
def clocked(stage, function):
    def run(*args, **kwargs):
        stack.append(0.0)
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent = time.perf_counter() - start
            inner = stack.pop()
            seconds[stage] = seconds.get(stage, 0.0) + spent - inner
            if stack:
                stack[-1] += spent
    return run
STAGES = [("import Keras", oracle, "keras"), ("build", oracle, "_build_layer"),
          ("build", oracle, "build_model"), ("execute", oracle, "_run_task"),
          ("execute", oracle, "_same_function"), ("probes", oracle, "_probe_outputs"),
          ("cache read", cache.FactCache, "_stored"), ("cache write", cache.FactCache, "flush"),
          ("render", generate, "render"), ("key", generate, "build_key")]
for stage, owner, name in STAGES:
    setattr(owner, name, clocked(stage, getattr(owner, name)))
variants, questions, seed = map(int, sys.argv[1:4])
generate.generate_exam(generate.Selection(), seed, variants, questions, ("qmd",), "selfcheck",
                       "Benchmark")
seconds["all"] = time.perf_counter() - started
print(json.dumps(seconds))
"""


@dataclass
class Run:
    """One `quizgen generate`: wall-clock seconds, cache entries read and computed, and the
    peak resident memory (MB) of its whole process tree and of its largest process."""

    seconds: float
    hits: int
    computed: int
    tree_mb: float
    largest_mb: float


class PeakMemory:
    """Samples the resident memory of a process and its descendants every 0.1 s."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.tree = self.largest = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while not self.done.wait(0.1):
            try:
                sizes = [p.memory_info().rss for p in [self.process, *self.process.children(True)]]
            except psutil.Error:
                continue
            self.tree, self.largest = max(self.tree, sum(sizes)), max(self.largest, max(sizes))

    def stop(self) -> tuple[float, float]:
        self.done.set()
        self.thread.join()
        return self.tree / 2**20, self.largest / 2**20


def generate(args: argparse.Namespace, cache_dir: str, out: str) -> Run:
    """One `quizgen generate` in a fresh process."""
    command = [sys.executable, "-m", "quizgen", "generate", "--variants", str(args.variants),
               "--questions", str(args.questions), "--seed", str(args.seed), "--out", out,
               "--jobs", str(args.jobs)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, env=os.environ | {"QUIZGEN_CACHE_DIR": cache_dir})
    memory = PeakMemory(process.pid)
    output, _ = process.communicate()
    seconds = time.perf_counter() - started
    tree, largest = memory.stop()
    if process.returncode:
        sys.exit(f"quizgen generate failed:\n{output}")
    hits, computed = map(int, re.search(r"Fact cache: (\d+) entries read .*, (\d+) computed",
                                        output).groups())
    return Run(seconds, hits, computed, tree, largest)


def entries(cache_dir: str, kind: str) -> list[str]:
    """The stored entries (JSON text) of `kind` in the cache databases under `cache_dir`."""
    texts = []
    for path in Path(cache_dir).rglob("facts.sqlite"):
        with sqlite3.connect(path) as database:
            texts += [text for (text,) in database.execute(
                "SELECT entry FROM entries WHERE kind = ?", (kind,))]
    return texts


def distinct_models(cache_dir: str) -> list[str]:
    """The model specs (JSON) the run asked Keras about: one facts entry per architecture."""
    return sorted(json.dumps(json.loads(text)["value"]["spec"])
                  for text in entries(cache_dir, "facts"))


def key_models(out: str) -> list[str]:
    """The distinct model specs (JSON) of the key's entries (by-hand tasks hold none)."""
    key = json.loads((Path(out) / "key.json").read_text())
    return sorted({json.dumps(entry["model"]) for entry in key["questions"] if entry.get("model")})


def stages(args: argparse.Namespace) -> dict[str, float]:
    """Seconds per stage of a cold serial run of `args.stage_variants` variants (a fresh
    process and an empty cache: `STAGES_SCRIPT`)."""
    with tempfile.TemporaryDirectory() as cache_dir:
        output = subprocess.run(
            [sys.executable, "-c", STAGES_SCRIPT, str(args.stage_variants), str(args.questions),
             str(args.seed)], capture_output=True, text=True, check=True,
            env=os.environ | {"QUIZGEN_CACHE_DIR": cache_dir}).stdout
    return json.loads(output.splitlines()[-1])


def floor(specs_json: list[str], jobs: int) -> float:
    """Seconds for `jobs` fresh processes, at once, to import Keras and build their share of
    the distinct models (one bare `keras.Sequential` each)."""
    started = time.perf_counter()
    processes = [subprocess.Popen([sys.executable, "-c", FLOOR_SCRIPT], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                 for _ in range(jobs)]
    for share, process in enumerate(processes):
        process.stdin.write("\n".join(specs_json[share::jobs]))
        process.stdin.close()
    for process in processes:
        process.wait()
    return time.perf_counter() - started


def say(line: str) -> None:
    """Print a line of the report at once (the whole benchmark takes long)."""
    print(line, flush=True)


def report_runs(args: argparse.Namespace, cold: Run, warm: Run, models: int, layers: int,
                key_models: int) -> None:
    questions = args.variants * args.questions
    say(f"variants              {args.variants}")
    say(f"questions             {questions}")
    say(f"jobs                  {args.jobs}")
    say(f"distinct models       {models} asked, {key_models} in the key   "
        f"({layers} distinct layer-on-input builds)")
    for name, run in (("cold", cold), ("warm", warm)):
        say(f"{name} seconds          {run.seconds:.1f}   ({questions / run.seconds:.0f} "
            f"questions/s; cache {run.hits} hits, {run.computed} computed; peak RSS "
            f"{run.tree_mb:.0f} MB all processes, {run.largest_mb:.0f} MB largest)")
    say(f"warm / cold           {warm.seconds / cold.seconds:.2f}")


def report_stages(args: argparse.Namespace, breakdown: dict[str, float]) -> None:
    total = breakdown.pop("all")
    say(f"stages of a cold serial run of {args.stage_variants} variants ({total:.1f} s):")
    for stage, seconds in sorted(breakdown.items(), key=lambda item: -item[1]):
        say(f"  {stage:18s} {seconds:7.1f} s  {seconds / total:6.1%}")
    rest = total - sum(breakdown.values())
    say(f"  {'the rest':18s} {rest:7.1f} s  {rest / total:6.1%}   (sampling, question logic)")


def report_targets(args: argparse.Namespace, cold: Run, warm: Run, base: float) -> None:
    rate = args.variants * args.questions / cold.seconds
    rss = max(cold.tree_mb, warm.tree_mb)
    say("targets (issue 15, for 1,000 variants × 20 questions):")
    for what, value, goal, met in (
            ("cold / key floor", f"{cold.seconds / base:.2f}", "<= 1.5", cold.seconds <= 1.5 * base),
            ("warm / cold", f"{warm.seconds / cold.seconds:.2f}", "<= 0.05",
             warm.seconds <= 0.05 * cold.seconds),
            ("peak RSS", f"{rss:.0f} MB", "<= 2048 MB", rss <= 2048),
            ("cold questions/s", f"{rate:.0f}", ">= 70", rate >= 70)):
        say(f"  {what:18s} {value:>10s}   target {goal:10s} {'met' if met else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=100)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--stage-variants", type=int, default=40,
                        help="variants of the serial run broken down by stage")
    parser.add_argument("--no-asked-floor", action="store_true",
                        help="skip the floor of every model asked (it takes longer than the "
                             "cold run)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache_dir, tempfile.TemporaryDirectory() as out:
        cold = generate(args, cache_dir, out)
        models, layers = distinct_models(cache_dir), len(entries(cache_dir, "layer"))
        in_key = key_models(out)
        warm = generate(args, cache_dir, out)
    report_runs(args, cold, warm, len(models), layers, len(in_key))
    base = floor(in_key, args.jobs)
    say(f"key floor seconds     {base:.1f}   (Keras import + one bare build of each model in "
        f"the key, over {args.jobs} processes)")
    say(f"cold / key floor      {cold.seconds / base:.2f}")
    report_stages(args, stages(args))
    report_targets(args, cold, warm, base)
    if not args.no_asked_floor:
        asked = floor(models, args.jobs)
        say(f"floor seconds         {asked:.1f}   (Keras import + one bare build of each model "
            f"asked, over {args.jobs} processes)")
        say(f"cold / floor          {cold.seconds / asked:.2f}")


if __name__ == "__main__":
    main()
