"""Writing files safely.

`write_atomic` writes one file through a temporary file renamed over the old one (the fact cache
writes its entries this way). `write_outputs` writes the outputs of a run (`quizgen generate`,
`quizgen grade`) as one set: every file is first written to a staging folder inside the output
folder (same file system), and only when all are complete are they renamed into place, the
previous run's files moved aside and then deleted. A failure while writing (a full disk, an
unwritable file) leaves the output folder as it was; a failure while swapping rolls back.

A manifest in the output folder, `.quizgen-<command>.json`, lists what the last run of that command
wrote with each file's SHA-256. The next run removes the files it listed and no longer writes (a
smaller run into the folder of a bigger one leaves no stale variants beside the new key), and it
refuses to replace or remove a file that the manifest does not list or that was changed since.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from quizgen.errors import QuizgenError

#: The manifest of a command's outputs, in its output folder.
MANIFEST = ".quizgen-{command}.json"

#: At most this many conflicting files are named in an error message.
SHOWN = 10


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file renamed over it (atomic on POSIX), with
    the permissions of a normally created file; the folder is created if needed.

    Raises:
        OSError: the file cannot be written (the temporary file is removed).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600 files
        os.replace(temporary, path)
    except BaseException:  # an OSError, or an interruption (KeyboardInterrupt, MemoryError)
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


@dataclass(frozen=True)
class OutputSet:
    """What `write_outputs` did: the files it wrote (in the order given), its manifest and the
    previous run's files it removed."""

    written: tuple[Path, ...]
    manifest: Path
    removed: tuple[Path, ...]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _is_output_name(name: object) -> bool:
    """Whether `name` is a relative path inside the output folder (no `..`, not absolute, not
    quizgen's own staging or manifest files)."""
    if not isinstance(name, str) or not name or "\\" in name:
        return False
    parts = PurePosixPath(name).parts
    return (not PurePosixPath(name).is_absolute() and ".." not in parts
            and not parts[0].startswith(".quizgen-"))


def _read_manifest(path: Path) -> dict[str, str]:
    """The files a manifest lists, `{relative name: SHA-256}`; none if there is no manifest.

    Raises:
        QuizgenError: the manifest is unreadable or malformed (names the file).
    """
    if not path.exists():
        return {}
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise QuizgenError(f"{path}: unreadable manifest ({error}); delete it and the files "
                           "of the run it lists, or choose another output folder") from error
    if not isinstance(files, dict) or not all(
            _is_output_name(name) and isinstance(digest, str) for name, digest in files.items()):
        raise QuizgenError(f"{path}: malformed manifest (field 'files'); delete it and the "
                           "files of the run it lists, or choose another output folder")
    return files


def _conflicts(folder: Path, names: list[str], previous: dict[str, str], manifest: str) -> list[str]:
    """The files among `names` that exist in `folder` but must not be replaced or removed: not
    listed in the previous manifest, changed since it was written, or not a regular file."""
    problems = []
    for name in names:
        path = folder / name
        if not (path.exists() or path.is_symlink()):
            continue
        if path.is_symlink() or not path.is_file():
            problems.append(f"{path}: not a regular file")
        elif name not in previous:
            problems.append(f"{path}: not written by this command (not listed in {manifest})")
        elif _digest(path.read_bytes()) != previous[name]:
            problems.append(f"{path}: changed since it was written")
    return problems


def _stage(staging: Path, files: dict[str, bytes], folder: Path) -> None:
    """Write every file under `staging` (same relative names).

    Raises:
        QuizgenError: a file cannot be written (names its place in `folder`).
    """
    for name, data in files.items():
        path = staging / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as error:
            raise QuizgenError(f"{folder / name}: cannot write: {error.strerror}; nothing in "
                               f"{folder} was changed") from error


def _swap(folder: Path, staged: Path, aside: Path, names: list[str], stale: list[str]) -> None:
    """Move the existing files among `names` and `stale` from `folder` to `aside`, then the
    staged `names` into `folder`; on a failure, undo every move.

    Raises:
        QuizgenError: a rename failed (names the file); `folder` is as it was.
    """
    moves: list[tuple[Path, Path]] = []
    planned = [(folder / name, aside / name) for name in [*names, *stale] if (folder / name).exists()]
    planned += [(staged / name, folder / name) for name in names]
    try:
        for source, target in planned:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            moves.append((source, target))
    except OSError as error:
        for source, target in reversed(moves):
            os.replace(target, source)
        raise QuizgenError(f"{source}: cannot move into place: {error.strerror}; {folder} is "
                           "as it was") from error


def _prune(folder: Path, removed: list[str]) -> None:
    """Remove the folders under `folder` that removing `removed` left empty."""
    for name in removed:
        parent = (folder / name).parent
        while parent != folder and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent


def write_outputs(folder: Path, files: dict[str, str | bytes], command: str) -> OutputSet:
    """Write `files` (relative path → text, or bytes for binary files such as zips) under
    `folder` as one set, the outputs of `quizgen <command>`, replacing the files of its previous
    run there (see the module docstring).

    Raises:
        QuizgenError: the folder cannot be created; a file would replace or remove one this
            command did not write, or one changed since (all listed, nothing written); the
            manifest is malformed; a file cannot be written or moved into place (the folder is
            left as it was).
    """
    folder = Path(folder)
    manifest = MANIFEST.format(command=command)
    data = {name: content.encode("utf-8") if isinstance(content, str) else content
            for name, content in files.items()}
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise QuizgenError(f"{folder}: cannot create the output folder: {error.strerror}") from error
    previous = _read_manifest(folder / manifest)
    stale = sorted(set(previous) - set(data))
    problems = _conflicts(folder, [*data, *stale], previous, manifest)
    if problems:
        more = f"\n  … and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
        raise QuizgenError(f"{folder}: will not replace or remove these files:\n  "
                           + "\n  ".join(problems[:SHOWN]) + more
                           + "\nMove them away or choose another output folder; nothing was written.")
    removed = [name for name in stale if (folder / name).exists()]
    written = tuple(folder / name for name in data)
    data[manifest] = json.dumps({"files": {name: _digest(content) for name, content in data.items()}},
                                indent=1, sort_keys=True).encode("utf-8") + b"\n"
    try:
        with tempfile.TemporaryDirectory(dir=folder, prefix=".quizgen-staging-",
                                         ignore_cleanup_errors=True) as staging:
            _stage(Path(staging) / "new", data, folder)
            _swap(folder, Path(staging) / "new", Path(staging) / "old", list(data), removed)
    except OSError as error:  # the staging folder itself cannot be made or removed
        raise QuizgenError(f"{folder}: cannot write: {error.strerror}") from error
    _prune(folder, removed)
    return OutputSet(written, folder / manifest, tuple(folder / name for name in removed))
