"""Shared fixtures. Tests execute Keras for real; the 30-variant exam is generated once per
session (in-process, through the CLI) and shared by the tests that inspect it."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

# Every test run computes its facts afresh: the persistent cache starts empty.
os.environ["QUIZGEN_CACHE_DIR"] = tempfile.mkdtemp(prefix="quizgen-test-cache-")

from quizgen.bank import load_bank  # noqa: E402
from quizgen.cache import FactCache, default_folder  # noqa: E402
from quizgen.cli import main  # noqa: E402
from quizgen.key import KeyEntry  # noqa: E402
from quizgen.oracle import Oracle  # noqa: E402


@pytest.fixture(scope="session")
def bank():
    return load_bank()


@pytest.fixture(scope="session")
def oracle() -> Oracle:
    """The oracle of the tests that generate, with the (temporary) persistent cache."""
    return Oracle(FactCache(default_folder()))


@pytest.fixture
def verifier() -> Oracle:
    """A fresh oracle without a persistent cache, as `quizgen verify` uses: it shares no
    result with the one that generated what it checks."""
    return Oracle()


#: The fields of a key entry that no grader reads, for `key_entry`.
ENTRY_PLACEHOLDERS = {"id": "v1-q1", "variant": 1, "position": 1, "template": "t",
                      "template_hash": "0" * 64, "seed": 0, "fact": "params", "explanation": "",
                      "stem": "", "code": "", "text": ""}


def entry_json(fields: dict) -> dict:
    """A key.json entry with `fields`, the others placeholders."""
    return ENTRY_PLACEHOLDERS | fields


def key_entry(fields: dict) -> KeyEntry:
    """The KeyEntry of `entry_json(fields)`: for tests of what reads only some fields."""
    return KeyEntry.from_json(entry_json(fields))


def run_cli(*args: str):
    """Run `quizgen ARGS` in-process; return click's result (exit_code, stdout, stderr)."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="session")
def exam(tmp_path_factory) -> Path:
    """`quizgen generate --variants 30 --seed 7` into a temporary folder."""
    out = tmp_path_factory.mktemp("exam")
    result = run_cli("generate", "--variants", "30", "--seed", "7", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def key(exam) -> dict:
    return json.loads((exam / "key.json").read_text())
