"""quizgen: auto-graded exams about neural networks whose every answer comes out of Keras."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("quizgen")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
