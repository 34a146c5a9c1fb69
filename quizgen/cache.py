"""The persistent cache of what Keras computed, content-addressed and shared between runs.

Entries live under `QUIZGEN_CACHE_DIR` (default: `$XDG_CACHE_HOME/quizgen`, else
`~/.cache/quizgen`), in a folder per Keras version and backend, one JSON file per entry named by
a SHA-256 of what was computed (e.g. a model spec's digest). Each entry also records the Keras
version and backend that wrote it and is ignored unless they are the installed ones, so an
answer never comes from another Keras. Writers write a temporary file and rename it (atomic on
POSIX), so concurrent runs never see half an entry; an unreadable or corrupt entry is recomputed
and rewritten, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeVar

from quizgen.files import write_atomic

T = TypeVar("T")

CACHE_ENV = "QUIZGEN_CACHE_DIR"


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


def _read(path: Path) -> Any:
    """The entry's value, or raise KeyError when it is missing, corrupt or from another Keras."""
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise KeyError(path) from error
    if not isinstance(entry, dict) or entry.get("keras") != list(installed_keras()):
        raise KeyError(path)
    return entry["value"]


@dataclass
class FactCache:
    """The persistent cache in `folder` (None: off, every value is computed), with the
    statistics of what this process read from it and computed."""

    folder: Path | None
    stats: CacheStats = field(default_factory=CacheStats)

    def cached(self, kind: str, entry_key: str, compute: Callable[[], T],
               encode: Callable[[T], Any], decode: Callable[[Any], T]) -> T:
        """`compute()`, or its value from the disk cache. `encode`/`decode` convert the value
        to and from JSON; a `decode` that raises `KeyError`, `TypeError`, `ValueError` or
        `IndexError` marks the entry corrupt (it is recomputed and rewritten). A cache that
        cannot be written is simply not used."""
        if self.folder is None:
            self.stats.misses += 1
            return compute()
        path = self.folder / kind / entry_key[:2] / f"{entry_key}.json"
        try:
            value = decode(_read(path))
        except (KeyError, TypeError, ValueError, IndexError):
            self.stats.misses += 1
            value = compute()
            entry = {"keras": list(installed_keras()), "value": encode(value)}
            try:
                write_atomic(path, json.dumps(entry).encode("utf-8"))
            except OSError:
                pass
            return value
        self.stats.hits += 1
        return value
