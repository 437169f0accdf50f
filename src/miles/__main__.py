"""`python -m miles` runs the same CLI as the `miles` script."""

from miles.cli.main import run

run()
