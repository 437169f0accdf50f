"""Miles: honest performance predictions and ideas for short-form video creators."""

__version__ = "0.1.0"
