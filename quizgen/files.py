"""Writing outputs safely: everything is rendered in memory first, then each file is written to a
temporary file in its folder and atomically renamed over the old one, so an error never leaves a
half-written or half-overwritten output behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from quizgen.errors import QuizgenError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_outputs(folder: Path, files: dict[str, str | bytes]) -> list[Path]:
    """Write `files` (relative path → text, or bytes for binary files such as zips) under
    `folder`; return the written paths in order.

    Raises:
        QuizgenError: a file cannot be written (the message names it); files already replaced
            stay complete, the others keep their old content.
    """
    written = []
    for relative, text in files.items():
        path = Path(folder) / relative
        temporary = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            data = text.encode("utf-8") if isinstance(text, str) else text
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600 files
            os.replace(temporary, path)
        except OSError as error:
            if temporary is not None and os.path.exists(temporary):
                os.unlink(temporary)
            raise QuizgenError(f"{path}: cannot write: {error.strerror}") from error
        written.append(path)
    return written
