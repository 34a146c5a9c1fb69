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
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeVar

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


STATS = CacheStats()
_enabled = True


def configure(enabled: bool) -> None:
    """Turn the persistent cache on or off for this process (`--no-cache` turns it off)."""
    global _enabled
    _enabled = enabled


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


def folder() -> Path | None:
    """The cache folder of the installed Keras, or None when the cache is off."""
    if not _enabled:
        return None
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


def _write(path: Path, value: Any) -> None:
    """Write an entry atomically; a cache that cannot be written is simply not used."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump({"keras": list(installed_keras()), "value": value}, stream)
        os.replace(temporary, path)
    except OSError:
        pass


def cached(kind: str, entry_key: str, compute: Callable[[], T],
           encode: Callable[[T], Any], decode: Callable[[Any], T]) -> T:
    """`compute()`, or its value from the disk cache. `encode`/`decode` convert the value to and
    from JSON; a `decode` that raises `KeyError`, `TypeError` or `ValueError` marks the entry
    corrupt (it is recomputed and rewritten)."""
    base = folder()
    if base is None:
        STATS.misses += 1
        return compute()
    path = base / kind / entry_key[:2] / f"{entry_key}.json"
    try:
        value = decode(_read(path))
    except (KeyError, TypeError, ValueError, IndexError):
        STATS.misses += 1
        value = compute()
        _write(path, encode(value))
        return value
    STATS.hits += 1
    return value
