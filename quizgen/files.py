"""Writing files safely: each file is written to a temporary file in its folder and atomically
renamed over the old one, so an error never leaves a half-written or half-overwritten file
behind. Outputs are rendered in memory first and written together with `write_outputs`; the
fact cache writes its entries one by one with `write_atomic`."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from quizgen.errors import QuizgenError


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
    except OSError:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_outputs(folder: Path, files: dict[str, str | bytes]) -> list[Path]:
    """Write `files` (relative path → text, or bytes for binary files such as zips) under
    `folder`; return the written paths in order.

    Raises:
        QuizgenError: a file cannot be written (the message names it); files already replaced
            stay complete, the others keep their old content.
    """
    written = []
    for relative, content in files.items():
        path = Path(folder) / relative
        try:
            write_atomic(path, content.encode("utf-8") if isinstance(content, str) else content)
        except OSError as error:
            raise QuizgenError(f"{path}: cannot write: {error.strerror}") from error
        written.append(path)
    return written
