"""Run quizgen on a corpus of published Keras programs and print what it found.

For each Python file of the corpus (default: `benchmarks/corpus/`, transcriptions of keras.io
examples, Deep Learning with Python, Hands-On Machine Learning and Keras Applications; each
file names its source; and the bundled keras.io "Simple MNIST convnet" of
`question_bank/own-model/`), in a fresh process:

1. `quizgen generate --model FILE --variants 2` (a fresh cache),
2. `quizgen verify key.json --model FILE` (rebuilds every key model and runs the file again),
3. an independent check of the key against Keras itself: the file is run here, and every key
   entry about a layer must give the `count_params()` and output shape Keras reports for the
   layer of that `layer_name`, every total the model's `count_params()`.

Prints one row per file (layers, parameters, questions, seconds, and the problems found) and
exits non-zero if any file fails. Usage:

    python benchmarks/corpus_run.py [FILE_OR_FOLDER ...]
"""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CORPUS = [Path(__file__).parent / "corpus",
          Path(__file__).parents[1] / "question_bank" / "own-model" / "mnist_convnet.py"]


def keras_problems(file: Path, key: dict) -> list[str]:
    """Key entries whose answers differ from what Keras reports for the file's model (run in
    a cleared Keras session: its layers get the names a fresh Python gives them)."""
    import keras

    keras.backend.clear_session()
    model = runpy.run_path(str(file), run_name="__corpus__")["model"]
    layers = {layer.name: layer for layer in model.layers}
    problems = []
    for entry in key["questions"]:
        name, fact = entry.get("layer_name"), entry["fact"]
        if fact == "total_params" and entry["answer"] != model.count_params():
            problems.append(f"total {entry['answer']} != {model.count_params()}")
        elif fact == "params" and entry["answer"] != layers[name].count_params():
            problems.append(f"{name}: params {entry['answer']} != {layers[name].count_params()}")
        elif fact == "output_shape" and entry.get("axis") is None and tuple(entry["answer"]) != tuple(
                layers[name].output.shape):
            problems.append(f"{name}: shape {entry['answer']} != {layers[name].output.shape}")
    return problems


def run(file: Path) -> tuple[str, bool]:
    """One row of the table, and whether the file passed."""
    with tempfile.TemporaryDirectory() as folder:
        out, started = Path(folder) / "out", time.perf_counter()
        environment = {"QUIZGEN_CACHE_DIR": str(Path(folder) / "cache")}
        quizgen = [sys.executable, "-m", "quizgen"]
        made = subprocess.run([*quizgen, "generate", "--model", str(file), "--variants", "2",
                               "--seed", "1", "--format", "md", "--out", str(out)],
                              capture_output=True, text=True, env=environment | _inherited())
        if made.returncode:
            return f"{file.name:48} generate failed: {made.stdout[-300:]}{made.stderr[-300:]}", False
        checked = subprocess.run([*quizgen, "verify", str(out / "key.json"), "--model", str(file)],
                                 capture_output=True, text=True, env=environment | _inherited())
        seconds = time.perf_counter() - started
        key = json.loads((out / "key.json").read_text())
        problems = keras_problems(file, key)
        if checked.returncode:
            problems.append(f"verify failed: {checked.stdout[-300:]}")
        model = key["questions"][0]["model"]
        totals = [entry["answer"] for entry in key["questions"] if entry["fact"] == "total_params"]
        layers = [layer for layer in model["layers"] if layer["class_name"] != "InputLayer"]
        total = f"{totals[0]:,}" if totals else "-"
        row = (f"{file.name:48} {len(layers):5} {total:>12} "
               f"{len(key['questions']):4} {seconds:6.1f}s  {'; '.join(problems) or 'ok'}")
        return row, not problems


def _inherited() -> dict[str, str]:
    import os

    return {key: value for key, value in os.environ.items() if key != "QUIZGEN_CACHE_DIR"}


def main(arguments: list[str]) -> int:
    files = sorted(path for argument in (arguments or CORPUS) for path in (
        Path(argument).glob("*.py") if Path(argument).is_dir() else [Path(argument)]))
    print(f"{'file':48} {'layers':>5} {'params':>12} {'qs':>4} {'time':>7}  problems")
    failed = 0
    for file in files:
        row, passed = run(file)
        failed += not passed
        print(row, flush=True)
    print(f"{len(files) - failed} of {len(files)} files passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
