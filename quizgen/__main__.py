"""`python -m quizgen` runs the command-line interface."""

from quizgen.cli import main

main()
