"""The `miles` command line: thin Typer commands over the service functions."""
