"""The persistent cache of what Keras computed (and of the items made from it), content-addressed
and shared between runs.

Entries live under `QUIZGEN_CACHE_DIR` (default: `$XDG_CACHE_HOME/quizgen`, else
`~/.cache/quizgen`), in a folder per Keras version and backend, in one SQLite database
(`DATABASE`): a row per entry, keyed by its kind and a SHA-256 of what was computed (e.g. a
model spec's digest), whose value is JSON. An `item` entry holds a whole made item (its
questions, choices and explanations: `quizgen.questions.cached_item`), keyed also by the
whole template (its asks too) and quizgen's own code, so a warm run neither draws nor builds. Each entry also
records the Keras version and backend that wrote it and is ignored unless they are the
installed ones, so an answer never comes from another Keras. Entries computed in a process are
written together (`flush`: after each variant, and every `FLUSH_ENTRIES` entries), in one
SQLite transaction, so concurrent runs and workers never see half an entry or half a batch, and
an interrupted run leaves the database as it was (creating a file costs about a millisecond
here, as much as building a layer: one file per entry made cache writes a sixth of a cold run).
An unreadable or corrupt entry, or one whose value does not have its kind's shape
(`ENTRY_SHAPES`), is recomputed and rewritten, never trusted. A folder that cannot be written
(not writable, a file in its place, a full disk), or a database SQLite cannot read, turns the
cache off for the rest of the run, with one `CacheWarning` saying why.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

CACHE_ENV = "QUIZGEN_CACHE_DIR"
#: The database file in the cache folder.
DATABASE = "facts.sqlite"
#: Entries computed and not yet written that make `cached` write them (`flush`).
FLUSH_ENTRIES = 1000
#: Seconds a writer waits for another process's transaction to end.
BUSY_SECONDS = 60


@dataclass
class CacheStats:
    """Entries found on disk (`hits`) and computed (`misses`) in this process (and, added
    with `add`, in the worker processes it started)."""

    hits: int = 0
    misses: int = 0

    def since(self, before: CacheStats) -> CacheStats:
        """What was counted after `before` (a copy taken earlier)."""
        return CacheStats(self.hits - before.hits, self.misses - before.misses)

    def add(self, other: CacheStats) -> None:
        """Count `other` too (a worker's `since`)."""
        self.hits += other.hits
        self.misses += other.misses


@cache
def installed_keras() -> tuple[str, str]:
    """`(version, backend)` of the installed Keras, found without importing it (importing
    TensorFlow costs seconds): the package metadata, and the backend chosen the way Keras
    chooses it (`KERAS_BACKEND`, else `keras.json` in `KERAS_HOME` or `~/.keras`, else
    TensorFlow; keras/src/backend/config.py)."""
    try:
        keras_version = version("keras")
    except PackageNotFoundError:
        keras_version = "none"
    backend = os.environ.get("KERAS_BACKEND")
    if backend is None:
        home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
        try:
            backend = json.loads((home / "keras.json").read_text()).get("backend")
        except (OSError, ValueError, AttributeError):
            backend = None
    return keras_version, backend or "tensorflow"


def default_folder() -> Path:
    """The cache folder of the installed Keras: `QUIZGEN_CACHE_DIR`, else
    `$XDG_CACHE_HOME/quizgen` (`~/.cache/quizgen`), then `keras-<version>-<backend>`."""
    base = os.environ.get(CACHE_ENV) or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "quizgen"
    keras_version, backend = installed_keras()
    return Path(base) / f"keras-{keras_version}-{backend}"


def key(*parts: Any) -> str:
    """A SHA-256 hex key of what an entry is about (parts joined by their `str`)."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


#: A check of a JSON value's shape: whether the value (as `json.loads` returns it) has it.
Check = Callable[[Any], bool]


def of(*types: type) -> Check:
    """Values of exactly one of these JSON types (`True` is no `int`, `1` no `float`)."""
    accepted = frozenset(types)
    return lambda value: type(value) in accepted


def anything(_: Any) -> bool:
    """Any JSON value."""
    return True


def list_of(item: Check) -> Check:
    """Lists whose every element passes `item`."""
    return lambda value: type(value) is list and all(map(item, value))


def row(*items: Check) -> Check:
    """Lists of exactly `len(items)` elements, each passing its check."""
    return lambda value: (type(value) is list and len(value) == len(items)
                          and all(item(element) for item, element in zip(items, value, strict=True)))


def record(**fields: Check) -> Check:
    """Objects with exactly these keys, each value passing its check."""
    keys, pairs = fields.keys(), tuple(fields.items())

    def check(value: Any) -> bool:
        if type(value) is not dict or value.keys() != keys:
            return False
        for name, field_check in pairs:  # a loop: twice as fast as all() on a generator
            if not field_check(value[name]):
                return False
        return True

    return check


def either(*options: Check) -> Check:
    """Values that pass one of `options`."""
    return lambda value: any(option(value) for option in options)


_NUMBER = of(int, float)
_SHAPE = list_of(of(int, type(None)))
_LAYER = record(name=of(str), class_name=of(str), input_shape=either(_SHAPE, list_of(_SHAPE)),
                output_shape=_SHAPE,
                params=of(int), trainable_params=of(int), non_trainable_params=of(int),
                weights=list_of(record(name=of(str), shape=list_of(of(int)), trainable=of(bool))))

_OPTIONAL_TEXT = of(str, type(None))
#: An answer (`quizgen.facts.Answer`): a count or value, a text, a shape (batch axis null),
#: option numbers, or a matrix.
_ANSWER = either(of(int, float, str), _SHAPE, list_of(list_of(_NUMBER)))
_QUESTION = record(ref=row(of(str), of(int, type(None)), _OPTIONAL_TEXT, _OPTIONAL_TEXT,
                           _OPTIONAL_TEXT),
                   kind=of(str), text=of(str), answer=_ANSWER,
                   choices=list_of(record(text=of(str), value=either(_ANSWER, of(dict, type(None))),
                                          correct=of(bool), misconception=_OPTIONAL_TEXT,
                                          statement=either(of(type(None)),
                                                           record(kind=of(str), claim=of(dict))))),
                   explanation=of(str), reading=list_of(row(of(str), of(str))))

#: The shape of the value of each kind of entry, as `quizgen.oracle` encodes it: model and
#: layer facts (or the error Keras raised), by-hand output matrices, layer configs as JSON
#: text, probes' `(min, max, deviation)` per layer, accepted arguments, defaults (any JSON);
#: and as `quizgen.questions` encodes a made item (or the error its template gave).
ENTRY_SHAPES: dict[str, Check] = {
    "item": either(record(error=of(str), type=of(str)),
                   record(spec=of(dict), task=of(dict, type(None)), stem=of(str),
                          code=of(str), questions=list_of(_QUESTION))),
    "facts": either(record(error=of(str), spec=of(dict)),
                    record(layers=list_of(_LAYER), total_params=of(int), trainable_params=of(int),
                           non_trainable_params=of(int), keras_version=of(str), backend=of(str),
                           spec=of(dict))),
    "layer": either(record(error=of(str)), _LAYER),
    "task": list_of(list_of(_NUMBER)),
    "config": of(str),
    "probe": list_of(row(_NUMBER, _NUMBER, _NUMBER)),
    "accepts": of(bool),
    "same": of(bool),
    "default": anything,
}


def _entry(text: str, shape: Check) -> Any:
    """The value of the stored entry `text`, or raise KeyError when it is corrupt, from another
    Keras or not of the shape `shape`."""
    try:
        entry = json.loads(text)
    except (ValueError, TypeError, RecursionError) as error:  # RecursionError: nested too deeply
        raise KeyError(text[:40]) from error
    if not record(keras=anything, value=shape)(entry) or entry["keras"] != list(installed_keras()):
        raise KeyError(text[:40])
    return entry["value"]


def connect(path: Path) -> sqlite3.Connection:
    """The cache database at `path` (created if missing), in write-ahead-log mode (readers do
    not wait for a writer).

    Raises:
        sqlite3.Error: SQLite cannot open, read or set up the database.
    """
    connection = sqlite3.connect(path, timeout=BUSY_SECONDS, check_same_thread=False)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("CREATE TABLE IF NOT EXISTS entries (kind TEXT NOT NULL, "
                           "key TEXT NOT NULL, entry TEXT NOT NULL, PRIMARY KEY (kind, key))")
    except sqlite3.Error:
        connection.close()
        raise
    return connection


class CacheWarning(UserWarning):
    """The fact cache cannot be used: the run carries on without it."""


def _probe(folder: Path) -> None:
    """Create `folder` if needed, and write (then remove) a file in it, as entries are written.

    Raises:
        OSError: `folder` cannot be created or written (e.g. a full disk).
    """
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=folder) as probe:
        probe.write(b"{}")
        probe.flush()


def _reason(error: OSError) -> str:
    """What stopped a write, in words: "a file is in the way", "Permission denied", ..."""
    if isinstance(error, FileExistsError | NotADirectoryError):
        return "a file is in the way"
    return error.strerror or str(error)


@dataclass
class FactCache:
    """The persistent cache in `folder` (None: off, every value is computed), with the
    statistics of what this process read from it and computed. A folder that cannot be
    written, now or later in the run, turns the cache off (`folder` becomes None) with one
    `CacheWarning`, and `problem` says why (e.g. "/x cannot be written: Permission denied").
    Computed entries wait in memory (`pending`, read from there too) until `flush`."""

    folder: Path | None
    stats: CacheStats = field(default_factory=CacheStats)
    problem: str | None = field(default=None, init=False)
    pending: dict[tuple[str, str], str] = field(default_factory=dict, init=False, repr=False)
    _connection: sqlite3.Connection | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.folder is not None:
            try:
                _probe(self.folder)
            except OSError as error:
                self._turn_off(f"{self.folder} cannot be written: {_reason(error)}")

    def _turn_off(self, problem: str) -> None:
        """Stop using the folder, with a CacheWarning saying `problem`; nothing pending is
        written."""
        self.problem = problem
        self.folder = None
        self.pending.clear()
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        warnings.warn(f"fact cache {self.problem}; carrying on without it (every fact is "
                      f"computed, none is saved): set {CACHE_ENV} to a writable folder, or pass "
                      "--no-cache", CacheWarning, stacklevel=1)  # one place: shown once per run

    def _database(self) -> sqlite3.Connection | None:
        """The open database, opened on first use; None while the cache is off (or once
        SQLite cannot open it: the cache is turned off)."""
        if self._connection is None and self.folder is not None:
            try:
                self._connection = connect(self.folder / DATABASE)
            except sqlite3.Error as error:
                self._turn_off(f"{self.folder / DATABASE} cannot be used: {error}")
        return self._connection

    def cached(self, kind: str, entry_key: str, compute: Callable[[], T],
               encode: Callable[[T], Any], decode: Callable[[Any], T]) -> T:
        """`compute()`, or its value from the cache. `encode`/`decode` convert the value to and
        from JSON of the shape `ENTRY_SHAPES[kind]`; an entry of another shape, or whose
        `decode` raises `KeyError`, `TypeError`, `ValueError` or `IndexError`, is corrupt (it is
        recomputed and rewritten). A computed value is written with the next `flush`, which
        comes by itself once `FLUSH_ENTRIES` wait.

        Raises:
            KeyError: `kind` is not one of `ENTRY_SHAPES`.
        """
        shape = ENTRY_SHAPES[kind]
        text = self._stored(kind, entry_key)
        if text is not None:
            try:
                value = decode(_entry(text, shape))
                self.stats.hits += 1
                return value
            except (KeyError, TypeError, ValueError, IndexError):
                pass  # corrupt: recomputed and rewritten
        self.stats.misses += 1
        value = compute()
        if self.folder is not None:  # None if a write while computing turned the cache off
            self.pending[kind, entry_key] = json.dumps(
                {"keras": list(installed_keras()), "value": encode(value)})
            if len(self.pending) >= FLUSH_ENTRIES:
                self.flush()
        return value

    def _stored(self, kind: str, entry_key: str) -> str | None:
        """The stored text of an entry (pending, or in the database), or None."""
        if (kind, entry_key) in self.pending:
            return self.pending[kind, entry_key]
        database = self._database()
        if database is None:
            return None
        try:
            row = database.execute("SELECT entry FROM entries WHERE kind = ? AND key = ?",
                                   (kind, entry_key)).fetchone()
        except sqlite3.Error as error:
            self._turn_off(f"{self.folder / DATABASE} cannot be read: {error}")
            return None
        return row[0] if row and isinstance(row[0], str) else None

    def flush(self) -> None:
        """Write the pending entries in one transaction (all or none), or turn the cache off
        when they cannot be written (e.g. a full disk)."""
        database = self._database() if self.pending else None
        if database is None:
            return
        try:
            with database:  # one transaction: committed, or rolled back on any exception
                database.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)",
                                     [(kind, key, text) for (kind, key), text in self.pending.items()])
        except sqlite3.Error as error:
            self._turn_off(f"{self.folder} cannot be written: {error}")
        self.pending.clear()
