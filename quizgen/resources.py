"""Where the bundled data lives: the question bank, the output templates and the JSON Schemas.

In a wheel the folders `question_bank/` and `templates/` are installed inside the package
(`quizgen/question_bank`, `quizgen/templates`); in a source checkout they sit beside it.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the bundled folder `name` (`"question_bank"`, `"templates"` or `"schemas"`).

    Raises:
        FileNotFoundError: the folder is in neither the installed nor the source layout.
    """
    for candidate in (PACKAGE_DIR / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bundled folder {name!r} not found next to {PACKAGE_DIR}")
