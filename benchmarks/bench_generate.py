"""Benchmark of `quizgen generate`: V variants × Q questions, cold (empty fact cache) then warm.

Prints variants, questions, distinct models and layers, seconds, questions per second, cache
hits, peak RSS, and the floor measured in the same run: importing Keras plus one bare build
(`keras.Sequential`, no forward pass) of each distinct model, the models split over `--jobs`
processes running at once; then each run's ratio to the floor, and the targets of the speed
issue with their measured values.

    python benchmarks/bench_generate.py --variants 1000 --questions 20 --jobs 2

Needs psutil (installed with the `test` extra) to sum the memory of the worker processes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
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


def entries(cache_dir: str, kind: str) -> list[Path]:
    return list(Path(cache_dir).rglob(f"{kind}/*/*.json"))


def distinct_models(cache_dir: str) -> list[str]:
    """The model specs (JSON) the run asked Keras about: one facts entry per architecture."""
    return sorted(json.dumps(json.loads(path.read_text())["value"]["spec"])
                  for path in entries(cache_dir, "facts"))


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


def report(args: argparse.Namespace, cold: Run, warm: Run, models: int, layers: int,
           base: float) -> None:
    questions = args.variants * args.questions
    rate = questions / cold.seconds
    rss = max(cold.tree_mb, warm.tree_mb)
    print(f"variants              {args.variants}")
    print(f"questions             {questions}")
    print(f"jobs                  {args.jobs}")
    print(f"distinct models       {models}   ({layers} distinct layer-on-input builds)")
    for name, run in (("cold", cold), ("warm", warm)):
        print(f"{name} seconds          {run.seconds:.1f}   ({questions / run.seconds:.0f} "
              f"questions/s; cache {run.hits} hits, {run.computed} computed; peak RSS "
              f"{run.tree_mb:.0f} MB all processes, {run.largest_mb:.0f} MB largest)")
    print(f"floor seconds         {base:.1f}   (Keras import + one bare build of each distinct "
          f"model, over {args.jobs} processes)")
    print(f"cold / floor          {cold.seconds / base:.2f}")
    print(f"warm / cold           {warm.seconds / cold.seconds:.2f}")
    print("targets (issue 6, for 1,000 variants × 20 questions):")
    for what, value, goal, met in (
            ("cold / floor", f"{cold.seconds / base:.2f}", "<= 1.5", cold.seconds <= 1.5 * base),
            ("warm / cold", f"{warm.seconds / cold.seconds:.2f}", "<= 0.2",
             warm.seconds <= 0.2 * cold.seconds),
            ("peak RSS", f"{rss:.0f} MB", "<= 2048 MB", rss <= 2048),
            ("cold questions/s", f"{rate:.0f}", ">= 350", rate >= 350)):
        print(f"  {what:18s} {value:>10s}   target {goal:10s} {'met' if met else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=100)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache_dir, tempfile.TemporaryDirectory() as out:
        cold = generate(args, cache_dir, out)
        models, layers = distinct_models(cache_dir), len(entries(cache_dir, "layer"))
        warm = generate(args, cache_dir, out)
    report(args, cold, warm, len(models), layers, floor(models, args.jobs))


if __name__ == "__main__":
    main()
