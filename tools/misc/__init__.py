"""Miscellaneous tools (the demo dataset)."""
