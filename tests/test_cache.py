"""The persistent fact cache: hits on a second run, corrupt entries recomputed, other Keras
versions ignored, failed builds remembered, and the same answers as without it.

Against a hostile or broken disk (issue 12, item 11):

- a write that fails (a full disk, an interrupted run) leaves the database as it was; a full
  disk turns the cache off for the rest of the run, with one `CacheWarning`;
- a folder that cannot be used (a file in its place or in its path, no write permission) gives
  one `CacheWarning` naming it and why, and the run carries on without the cache;
- an entry that is valid JSON of the wrong shape (a list for an object, a string for a count)
  is recomputed and overwritten, never decoded into a wrong answer or a traceback.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from dataclasses import replace
from functools import cache as memoized
from pathlib import Path

import pytest

from quizgen import cache, oracle, questions
from quizgen.bank import load_bank
from quizgen.cache import CacheStats, CacheWarning, FactCache
from quizgen.errors import ArchitectureError, QuestionError, QuizgenError
from quizgen.oracle import Oracle
from quizgen.questions import cached_item
from quizgen.spec import LayerSpec, ModelSpec, Task

from .conftest import run_cli

SPEC = ModelSpec((9, 9, 2), (LayerSpec.make("Conv2D", filters=3, kernel_size=2),
                             LayerSpec.make("Flatten"), LayerSpec.make("Dense", units=4)))
IMPOSSIBLE = ModelSpec((3, 3, 1), (LayerSpec.make("Conv2D", filters=1, kernel_size=5),))


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An empty cache folder (`QUIZGEN_CACHE_DIR`)."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    return tmp_path


def new_oracle() -> Oracle:
    """An oracle with empty memo tables on the cache folder of `QUIZGEN_CACHE_DIR`."""
    return Oracle(FactCache(cache.default_folder()))


def written(read):
    """What `read(oracle)` returns from a new oracle, whose entries are then written."""
    oracle = new_oracle()
    try:
        return read(oracle)
    finally:
        oracle.cache.flush()


def without_keras(monkeypatch):
    """From now on, building a layer fails the test: answers must come from the cache."""
    def fail(*_):
        raise AssertionError("Keras was asked again")
    monkeypatch.setattr(oracle, "_build_layer", fail)


def database() -> sqlite3.Connection:
    return sqlite3.connect(cache.default_folder() / cache.DATABASE)


def entries(kind: str = "%") -> list[tuple[str, str]]:
    """The `(kind, key)` of the stored entries of `kind` (default: all)."""
    with database() as db:
        return db.execute("SELECT kind, key FROM entries WHERE kind LIKE ? ORDER BY kind, key",
                          (kind,)).fetchall()


def stored(entry: tuple[str, str]) -> str:
    with database() as db:
        return db.execute("SELECT entry FROM entries WHERE kind = ? AND key = ?", entry).fetchone()[0]


def store(entry: tuple[str, str], text: str) -> None:
    with database() as db:
        db.execute("UPDATE entries SET entry = ? WHERE kind = ? AND key = ?", (text, *entry))


def remove(entry: tuple[str, str]) -> None:
    with database() as db:
        db.execute("DELETE FROM entries WHERE kind = ? AND key = ?", entry)


def test_facts_round_trip_through_disk(fresh, monkeypatch):
    unwritten = new_oracle()
    computed = unwritten.facts(SPEC)
    assert computed.total_params == (2 * 2 * 2 + 1) * 3 + (8 * 8 * 3 + 1) * 4 == 799
    assert entries() == [] and len(unwritten.cache.pending) == 4, "written with the next flush"
    unwritten.cache.flush()
    assert len(entries("facts")) == 1 and len(entries("layer")) == 3
    assert unwritten.cache.pending == {}
    assert cache.default_folder().name == "keras-{}-{}".format(*cache.installed_keras())
    without_keras(monkeypatch)
    second = new_oracle()
    assert second.facts(SPEC) == computed and second.cache.stats == cache.CacheStats(1, 0)


def test_layers_are_shared_between_models(fresh, monkeypatch):
    written(lambda oracle: oracle.facts(SPEC))
    (facts_entry,) = entries("facts")
    remove(facts_entry)
    without_keras(monkeypatch)  # the three layers are on disk: no Keras needed
    second = new_oracle()
    assert second.facts(SPEC).total_params == 799
    prefix = ModelSpec(SPEC.input_shape, SPEC.layers[:1])
    assert second.facts(prefix).layers[0].output_shape == (None, 8, 8, 3)


def test_corrupt_or_foreign_entries_are_recomputed(fresh):
    written(lambda oracle: oracle.facts(SPEC))
    for broken in ('{"keras": ["0.0.1", "tensorflow"], "value": {}}', "{half an entr"):
        for entry in entries():
            store(entry, broken)
        again = new_oracle()
        assert again.facts(SPEC).total_params == 799
        assert again.cache.stats == cache.CacheStats(0, 4)
        again.cache.flush()
        for entry in entries():
            assert json.loads(stored(entry))["keras"] == list(cache.installed_keras())


def test_failed_builds_are_cached_as_errors(fresh, monkeypatch):
    with pytest.raises(ArchitectureError, match="negative") as first:
        written(lambda oracle: oracle.facts(IMPOSSIBLE))
    without_keras(monkeypatch)
    with pytest.raises(ArchitectureError) as second:
        new_oracle().facts(IMPOSSIBLE)
    assert str(first.value) == str(second.value)
    assert str(first.value).startswith("layer 0 (Conv2D): ")


def test_no_cache_writes_nothing(fresh):
    off = Oracle()
    assert off.cache.cached("facts", "x", lambda: 5, int, int) == 5
    assert off.facts(SPEC).total_params == 799
    off.cache.flush()
    assert list(fresh.rglob("*")) == [] and off.cache.stats.misses == 5


def test_memo_tables_belong_to_one_oracle(fresh, monkeypatch):
    first = Oracle()
    first.facts(SPEC)
    without_keras(monkeypatch)
    assert first.facts(SPEC).total_params == 799  # remembered by this oracle
    with pytest.raises(AssertionError, match="Keras was asked again"):
        Oracle().facts(SPEC)  # a fresh one computes everything again


DENSE = LayerSpec.make("Dense", units=4)
LAB = ((1, 0, 1, 0), (0, 1, 1, 1), (0, 1, 0, 0), (1, 0, 0, 0))
KERNEL = ((1, 0), (1, 1))
CONV_TASK = Task(LayerSpec.make("Conv2D", filters=1, kernel_size=(2, 2)), LAB, KERNEL)


def files_in(folder: Path) -> list[Path]:
    """Every file below `folder`, hidden temporary files included."""
    return sorted(path for path in folder.rglob("*") if path.is_file())


def cache_warnings(record) -> list[str]:
    return [str(warning.message) for warning in record if issubclass(warning.category, CacheWarning)]


# --- 1. a failed write leaves the database as it was -----------------------------------------

class Connection:
    """The cache's database connection, counting its batch writes; `interrupt` raises
    `KeyboardInterrupt` right after the rows of a batch went in (before its commit)."""

    def __init__(self, real: sqlite3.Connection, interrupt: bool = False) -> None:
        self.real, self.interrupt, self.batches = real, interrupt, 0

    def __getattr__(self, name: str):
        return getattr(self.real, name)

    def __enter__(self):
        return self.real.__enter__()

    def __exit__(self, *exception):
        return self.real.__exit__(*exception)

    def executemany(self, sql: str, rows):
        self.batches += 1
        result = self.real.executemany(sql, rows)
        if self.interrupt:
            raise KeyboardInterrupt
        return result


def connections(monkeypatch, interrupt: bool = False, full: bool = False) -> list[Connection]:
    """From now on, the cache's databases are opened as `Connection`s (listed in the list
    returned); with `full`, SQLite may not add a page to them, as on a full disk (SQLite's own
    `max_page_count` limit: it fails as it does when the disk is full)."""
    opened: list[Connection] = []
    real = cache.connect

    def connect(path):
        connection = real(path)
        if full:
            pages = connection.execute("PRAGMA page_count").fetchone()[0]
            connection.execute(f"PRAGMA max_page_count = {pages}")
        opened.append(Connection(connection, interrupt))
        return opened[-1]

    monkeypatch.setattr(cache, "connect", connect)
    return opened


def test_a_full_disk_leaves_the_database_as_it_was_and_turns_the_cache_off_with_one_warning(
        fresh, monkeypatch):
    folder = cache.default_folder()
    facts = FactCache(folder)
    opened = connections(monkeypatch, full=True)

    with pytest.warns(CacheWarning) as record:
        total = Oracle(facts).facts(SPEC).total_params
        facts.cached("config", cache.key("large"), lambda: "x" * 20_000, str, str)  # 5 pages
        facts.flush()

    assert total == 799
    assert entries() == [], "no entry is written"
    assert [connection.batches for connection in opened] == [1]
    problem = f"{folder} cannot be written: database or disk is full"
    assert cache_warnings(record) == [
        f"fact cache {problem}; carrying on without it (every fact is computed, none is saved): "
        f"set {cache.CACHE_ENV} to a writable folder, or pass --no-cache"]
    assert facts.folder is None and facts.problem == problem
    assert facts.stats == CacheStats(0, 5)  # the model, its three layers, the config: computed
    facts.cached("config", cache.key("y"), lambda: "value", str, str)
    facts.flush()
    assert [connection.batches for connection in opened] == [1], "the cache is not written again"


def test_an_interrupted_write_leaves_the_database_as_it_was(fresh, monkeypatch):
    facts = FactCache(cache.default_folder())
    connections(monkeypatch, interrupt=True)
    facts.cached("config", cache.key("x"), lambda: "value", str, str)
    with pytest.raises(KeyboardInterrupt):
        facts.flush()
    assert entries() == []
    assert {path.name for path in files_in(fresh)} <= {
        cache.DATABASE, f"{cache.DATABASE}-wal", f"{cache.DATABASE}-shm"}


def test_a_database_sqlite_cannot_read_turns_the_cache_off_with_one_warning(fresh):
    folder = cache.default_folder()
    folder.mkdir(parents=True)
    (folder / cache.DATABASE).write_text("not a database " * 100)
    facts = FactCache(folder)
    with pytest.warns(CacheWarning) as record:
        assert Oracle(facts).facts(SPEC).total_params == 799
    assert cache_warnings(record) == [
        f"fact cache {folder / cache.DATABASE} cannot be used: file is not a database; carrying "
        f"on without it (every fact is computed, none is saved): set {cache.CACHE_ENV} to a "
        "writable folder, or pass --no-cache"]
    assert (folder / cache.DATABASE).read_text() == "not a database " * 100, "left as it was"


# --- 2. an unusable folder: one warning, no cache ---------------------------------------------

def a_file_in_its_place(base: Path) -> Path:
    base.write_text("not a folder")
    return base


def a_file_in_its_path(base: Path) -> Path:
    base.mkdir()
    (base / "home").write_text("not a folder")
    return base / "home" / "cache"


def not_writable(base: Path, monkeypatch) -> Path:
    """A folder in which no file can be created: its mode says so, and (as root ignores the
    mode) creating a file below it fails as the kernel would have it fail."""
    base.mkdir(mode=0o555)
    real = os.open

    def open_(path, flags, *args, **kwargs):
        if str(path).startswith(str(base)) and flags & (os.O_CREAT | getattr(os, "O_TMPFILE", 0)):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    return base


@pytest.mark.parametrize("make, reason", [
    (lambda base, _: a_file_in_its_place(base), "a file is in the way"),
    (lambda base, _: a_file_in_its_path(base), "a file is in the way"),
    (not_writable, "Permission denied"),
], ids=["a-file-in-its-place", "a-file-in-its-path", "not-writable"])
def test_an_unusable_folder_gives_one_warning_and_the_run_carries_on_without_the_cache(
        tmp_path, monkeypatch, make, reason):
    monkeypatch.setenv(cache.CACHE_ENV, str(make(tmp_path / "cache", monkeypatch)))
    folder = cache.default_folder()
    before = files_in(tmp_path)

    with pytest.warns(CacheWarning) as record:
        unused = FactCache(folder)
        assert Oracle(unused).facts(SPEC).total_params == 799

    assert cache_warnings(record) == [
        f"fact cache {folder} cannot be written: {reason}; carrying on without it (every fact is "
        f"computed, none is saved): set {cache.CACHE_ENV} to a writable folder, or pass --no-cache"]
    # Off: worker processes are started without a cache, and do not warn again.
    assert unused.folder is None and unused.problem == f"{folder} cannot be written: {reason}"
    assert unused.stats == CacheStats(0, 4)
    assert files_in(tmp_path) == before


def test_generate_with_a_file_as_cache_folder_warns_once_and_writes_the_exam(tmp_path, monkeypatch):
    in_the_way = tmp_path / "cache"
    in_the_way.write_text("not a folder")
    monkeypatch.setenv(cache.CACHE_ENV, str(in_the_way))
    out = tmp_path / "out"

    with pytest.warns(CacheWarning) as record:
        result = run_cli("generate", "--variants", "1", "--jobs", "1", "--template",
                         "classic-conv-dims-1", "--out", str(out))

    assert result.exit_code == 0, result.output
    assert len(cache_warnings(record)) == 1
    assert "a file is in the way" in cache_warnings(record)[0]
    assert "entries read (off: " in result.output
    assert json.loads((out / "key.json").read_text())["questions"], "the exam is written"
    assert in_the_way.read_text() == "not a folder"


# --- 3. an entry of the wrong shape is recomputed and overwritten ------------------------------

@memoized
def bundled(template_id: str):
    """A template of the bundled bank."""
    return next(template for template in load_bank() if template.id == template_id)


#: What reads each kind of entry, from a fresh oracle.
READERS = {
    "item": lambda oracle: cached_item(bundled("conv-params"), 0, oracle),
    "facts": lambda oracle: oracle.facts(SPEC),
    "layer": lambda oracle: oracle.layer_facts(DENSE, (None, 6)),
    "task": lambda oracle: oracle.run_task(CONV_TASK.spec, LAB, KERNEL, 0),
    "config": lambda oracle: oracle.layer_config(DENSE),
    "probe": lambda oracle: oracle.probe_outputs(SPEC, 2),
    "accepts": lambda oracle: oracle.accepts_argument("MaxPooling2D", "activation", "relu"),
    "same": lambda oracle: oracle.same_function(SPEC, SPEC),
}


#: Valid JSON of the wrong shape, as functions of the right value. Unchecked, most decode into a
#: wrong answer ("799" as a count, a valid model reported as impossible) or a traceback later.
WRONG_SHAPES = [
    ("facts", lambda value: [value]),                                   # a list for an object
    ("facts", lambda value: value | {"total_params": "799"}),           # a string for a count
    ("facts", lambda _: {"error": 5}),                                  # a valid model "fails"
    ("facts", lambda value: value | {"layers": {"0": value["layers"][0]}}),
    ("layer", lambda value: value | {"params": "28"}),
    ("layer", lambda value: value | {"output_shape": "abc"}),
    ("layer", lambda value: value | {"weights": [{"name": "kernel", "shape": [6, 4]}]}),
    ("layer", lambda value: value | {"extra": 1}),
    ("task", lambda _: {"0": [1, 2]}),
    ("task", lambda _: [[2, "2", 3]]),
    ("config", lambda _: {"class_name": "Dense"}),
    ("probe", lambda value: [row[:2] for row in value]),                # pairs for triples
    ("probe", lambda value: [value[0], [value[1][0], True, value[1][2]], *value[2:]]),
    ("probe", lambda value: value[:2]),                                 # too few layers
    ("probe", lambda value: value[0]),                                  # a triple, not a list
    ("accepts", lambda value: int(not value)),                          # an int for a bool
    ("same", lambda value: str(value)),                                 # a string for a bool
    ("item", lambda value: value | {"questions": "abc"}),
    ("item", lambda value: value | {"spec": {"layers": "abc"}}),        # no model
    ("item", lambda value: value | {"questions": [value["questions"][0] | {"ref": ["params"]}]}),
    ("item", lambda value: value | {"questions": [value["questions"][0] | {"answer": {"a": 1}}]}),
    ("item", lambda _: {"error": "made up", "type": "SystemExit"}),     # not an error of ours
]


@pytest.mark.parametrize("kind, wrong", WRONG_SHAPES,
                         ids=[f"{kind}-{index}" for index, (kind, _) in enumerate(WRONG_SHAPES)])
def test_an_entry_of_the_wrong_shape_is_recomputed_and_overwritten(fresh, kind, wrong):
    read = READERS[kind]
    expected = written(read)
    (name,) = entries(kind)
    entry = json.loads(stored(name))
    store(name, json.dumps(entry | {"value": wrong(entry["value"])}))

    again = new_oracle()
    assert read(again) == expected
    # made again, an item reads the facts of its model from the cache
    assert again.cache.stats.misses == 1 and again.cache.stats.hits == {"facts": 3, "item": 1}.get(kind, 0)
    again.cache.flush()
    assert json.loads(stored(name)) == entry, "the entry is overwritten with the right value"


def test_an_entry_nested_too_deeply_is_recomputed(fresh):
    expected = written(READERS["config"])
    (name,) = entries("config")
    keras = json.dumps(list(cache.installed_keras()))
    store(name, f'{{"keras": {keras}, "value": {"[" * 100_000}{"]" * 100_000}}}')
    again = new_oracle()
    assert READERS["config"](again) == expected  # unchecked: RecursionError
    again.cache.flush()
    assert again.cache.stats == CacheStats(0, 1) and json.loads(stored(name))["value"] == expected


def test_layers_of_the_wrong_shape_give_the_models_facts_not_a_traceback(fresh):
    computed = written(lambda oracle: oracle.facts(SPEC))
    for name in entries("facts"):
        remove(name)
    for name in entries("layer"):
        entry = json.loads(stored(name))
        value = entry["value"] | {"params": str(entry["value"]["params"])}
        store(name, json.dumps(entry | {"value": value}))
    again = new_oracle()
    assert again.facts(SPEC) == computed  # unchecked: TypeError: ... for +: 'int' and 'str'
    assert again.cache.stats == CacheStats(0, 4)


def test_every_kind_of_entry_is_read_back(fresh, monkeypatch):
    """The shapes of `ENTRY_SHAPES` are those the oracle writes: a second oracle reads them all."""
    first = new_oracle()
    expected = {kind: read(first) for kind, read in READERS.items()} | {
        "default": first.default_argument("Dense", "activation")}
    first.cache.flush()
    assert {kind for kind, _ in entries()} == set(cache.ENTRY_SHAPES)
    monkeypatch.setattr("quizgen.oracle.keras", lambda: pytest.fail("Keras was imported"))
    second = new_oracle()
    assert {kind: read(second) for kind, read in READERS.items()} | {
        "default": second.default_argument("Dense", "activation")} == expected
    assert second.cache.stats.misses == 0


# --- 4. made items ----------------------------------------------------------------------------

def test_every_bundled_template_s_item_is_read_back_equal_without_making_it(fresh, monkeypatch):
    """An item read from the cache is the item made (every field: model, facts, stem, code,
    questions, choices with their values, misconceptions and statements, explanations), and
    so is an error: a warm run writes the files a cold one does."""
    made = written(lambda oracle: {template.id: _outcome(oracle, template) for template in load_bank()})
    assert sum(isinstance(item, questions.Item) for item in made.values()) >= 40
    monkeypatch.setattr(questions, "make_item", lambda *_: pytest.fail("the item was made again"))
    without_keras(monkeypatch)
    again = new_oracle()
    assert {template.id: _outcome(again, template) for template in load_bank()} == made
    assert again.cache.stats.misses == 0


def _outcome(oracle: Oracle, template) -> questions.Item | str:
    try:
        return cached_item(template, 0, oracle)
    except QuizgenError as error:
        return f"{type(error).__name__}: {error}"


def test_an_error_is_read_back_as_the_error_raised(fresh, monkeypatch):
    def make_item(*_):
        raise QuestionError("conv-params.yaml: 25 sampled models cannot carry its questions: none fits")

    monkeypatch.setattr(questions, "make_item", make_item)
    for _ in range(2):
        with pytest.raises(QuestionError, match="none fits"):
            written(READERS["item"])
    assert [kind for kind, _ in entries()] == ["item"]


@pytest.mark.parametrize("change", [
    lambda template: replace(template, content_hash="0" * 64),   # its file was edited
    lambda template: replace(template, id="other-id"),
    # a blueprint's candidate: the template asking one of its questions, or in another form
    lambda template: replace(template, asks=(replace(template.asks[0], text="Which count?"),)),
])
def test_an_item_of_another_template_file_or_quizgen_is_made_again(fresh, monkeypatch, change):
    written(READERS["item"])
    again = new_oracle()
    cached_item(change(bundled("conv-params")), 0, again)
    monkeypatch.setattr(questions, "code_digest", lambda: "other quizgen")
    cached_item(bundled("conv-params"), 0, again)
    assert again.cache.stats.misses == 2
