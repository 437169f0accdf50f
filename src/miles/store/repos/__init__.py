"""Keyword-only, typed query functions over the store (STYLE.md habit 5)."""
