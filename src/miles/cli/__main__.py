"""`python -m miles.cli` runs the same CLI as the `miles` script."""

from miles.cli.main import run

run()
