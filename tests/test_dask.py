"""`quizgen generate --executor dask`: on a local Dask cluster of two worker processes the
outputs are byte-identical to a serial run's, the workers follow the parent's cache setting,
and misuse gives a clear error."""

import sqlite3
import sys
from pathlib import Path

import pytest
from distributed import LocalCluster

from quizgen import assemble, cache

from .conftest import run_cli


@pytest.fixture(scope="module")
def scheduler():
    """The address of a local Dask scheduler with two single-threaded worker processes (they
    inherit QUIZGEN_CACHE_DIR, the test session's cache)."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


def files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def cache_entries() -> set[tuple[str, str]]:
    """The `(kind, key)` of every entry in the test session's cache (`QUIZGEN_CACHE_DIR`)."""
    path = cache.default_folder() / cache.DATABASE
    if not path.exists():
        return set()
    with sqlite3.connect(path) as database:
        return set(database.execute("SELECT kind, key FROM entries"))


# "statements" print the outputs of randomly initialised models: their weights must not depend
# on a Dask worker's own threads (which draw from Python's shared `random` too). Templates of
# one question each: every variant asks each of them.
TEMPLATES = "statements,conv-params,pool-output-shape,total-params"


def generate(out: Path, seed: int, *options: str):
    """`quizgen generate` of 3 variants of 4 questions into `out`; it must succeed."""
    result = run_cli("generate", "--variants", "3", "--questions", "4", "--seed", str(seed),
                     "--template", TEMPLATES, "--out", str(out), *options)
    assert result.exit_code == 0, result.output
    return files(out)


def test_dask_gives_the_serial_run_byte_for_byte(tmp_path, scheduler):
    before = cache_entries()
    made = generate(tmp_path / "dask", 4242, "--executor", "dask", "--scheduler", scheduler,
                    "--no-cache")
    assert cache_entries() == before  # --no-cache reached the workers: they wrote nothing
    assert {"key.json", "variant-1.qmd", "variant-3.qmd", "variant-3.md"} <= set(made)
    assert b'"fact": "statements"' in made["key.json"]
    assert made == generate(tmp_path / "serial", 4242, "--jobs", "1")


def test_dask_workers_use_the_cache(tmp_path, scheduler):
    # the same worker processes ran the test above with --no-cache: they must switch it back on
    before = cache_entries()
    made = generate(tmp_path / "dask", 4343, "--executor", "dask", "--scheduler", scheduler)
    assert cache_entries() > before
    assert made == generate(tmp_path / "serial", 4343, "--jobs", "1", "--no-cache")


def test_dask_needs_a_scheduler(tmp_path):
    result = run_cli("generate", "--executor", "dask", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert "--scheduler" in result.output


def test_scheduler_needs_dask(tmp_path):
    result = run_cli("generate", "--scheduler", "tcp://127.0.0.1:8786", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert "--scheduler is only used with --executor dask" in result.output


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:1", "no-port"])
def test_unreachable_scheduler_is_named(tmp_path, monkeypatch, address):
    monkeypatch.setattr(assemble, "SCHEDULER_TIMEOUT", 2)
    result = run_cli("generate", "--variants", "2", "--executor", "dask", "--scheduler", address,
                     "--out", str(tmp_path))
    assert result.exit_code == 1
    assert f"cannot reach the Dask scheduler at {address}" in result.output
    assert "Traceback" not in result.output
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_scheduler_without_workers(tmp_path, monkeypatch):
    monkeypatch.setattr(assemble, "SCHEDULER_TIMEOUT", 2)
    with LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cluster:
        result = run_cli("generate", "--executor", "dask", "--scheduler", cluster.scheduler_address,
                         "--out", str(tmp_path))
    assert result.exit_code == 1
    assert f"no Dask worker joined the scheduler at {cluster.scheduler_address}" in result.output


def test_missing_distributed_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    result = run_cli("generate", "--executor", "dask", "--scheduler", "tcp://127.0.0.1:8786",
                     "--out", str(tmp_path))
    assert result.exit_code == 1
    assert 'pip install "quizgen[dask]"' in result.output
