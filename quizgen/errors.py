"""The exception family of quizgen: every error a user can cause is a `QuizgenError`.

The CLI prints a `QuizgenError` as one message, without a traceback, and exits non-zero.
"""


class QuizgenError(Exception):
    """Root of quizgen's errors; the message names the file, template and field at fault."""


class TemplateError(QuizgenError):
    """A question template (or its bank folder) is malformed: YAML, schema or content."""


class ArchitectureError(QuizgenError):
    """Keras cannot build a model: an impossible architecture (for example a 0×0 feature map)."""


class QuestionError(QuizgenError):
    """A question cannot be made from a template and model (for example too few distractors)."""


class BatchError(QuizgenError):
    """Several items of a batch run failed; `failures` holds one message per item."""

    def __init__(self, what: str, failures: list[str]):
        self.failures = failures
        lines = "\n".join(f"  - {failure}" for failure in failures)
        super().__init__(f"{len(failures)} {what} failed:\n{lines}")
