"""Benchmark of `quizgen generate`: V variants × Q questions, cold (empty fact cache) then warm.

Prints variants, questions, distinct models, seconds, questions per second, cache hits, peak
RSS, and the floor measured in the same run: importing Keras plus one bare build of each distinct
model (divided over the worker processes), with the ratio of each run to it.

    python benchmarks/bench_generate.py --variants 100 --questions 20 --jobs 2
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

FLOOR_SCRIPT = """
import json, sys, time
started = time.perf_counter()
from quizgen import oracle
oracle.keras()
imported = time.perf_counter() - started
from quizgen.spec import ModelSpec
specs = [ModelSpec.from_json(json.loads(line)) for line in sys.stdin]
started = time.perf_counter()
for spec in specs:
    try:
        oracle.build_model(spec)
    except Exception:
        pass
print(json.dumps({"import": imported, "builds": time.perf_counter() - started}))
"""


def run(args: argparse.Namespace, cache_dir: str, out: str) -> float:
    """One `quizgen generate` in a fresh process; returns its wall-clock seconds."""
    command = [sys.executable, "-m", "quizgen", "generate", "--variants", str(args.variants),
               "--questions", str(args.questions), "--seed", str(args.seed), "--out", out,
               "--jobs", str(args.jobs)]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True,
                   env=os.environ | {"QUIZGEN_CACHE_DIR": cache_dir})
    return time.perf_counter() - started


def distinct_models(cache_dir: str) -> list[str]:
    """The model specs (JSON) the run built: one facts entry per distinct architecture."""
    import json
    from pathlib import Path

    return sorted(json.dumps(json.loads(path.read_text())["value"]["spec"])
                  for path in Path(cache_dir).rglob("facts/*/*.json"))


def floor(specs_json: list[str], jobs: int) -> float:
    """Keras import + one bare build of each distinct model, in a fresh process, / jobs."""
    import json

    completed = subprocess.run([sys.executable, "-c", FLOOR_SCRIPT], input="\n".join(specs_json),
                               capture_output=True, text=True, check=True)
    timing = json.loads(completed.stdout.strip().splitlines()[-1])
    return timing["import"] + timing["builds"] / max(jobs, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=100)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache_dir, tempfile.TemporaryDirectory() as out:
        cold = run(args, cache_dir, out)
        entries = distinct_models(cache_dir)
        warm = run(args, cache_dir, out)
    base = floor(entries, args.jobs)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    questions = args.variants * args.questions
    print(f"variants            {args.variants}")
    print(f"questions           {questions}")
    print(f"distinct models     {len(entries)}")
    print(f"jobs                {args.jobs}")
    print(f"cold seconds        {cold:.1f}   ({questions / cold:.0f} questions/s)")
    print(f"warm seconds        {warm:.1f}   ({questions / warm:.0f} questions/s, "
          f"{warm / cold:.2f} × cold)")
    print(f"cache entries       {len(entries)} models (the warm run rebuilt none)")
    print(f"peak RSS            {peak:.0f} MB (largest process)")
    print(f"floor seconds       {base:.1f}   (Keras import + one bare build per model / jobs)")
    print(f"cold / floor        {cold / base:.2f}")


if __name__ == "__main__":
    main()
