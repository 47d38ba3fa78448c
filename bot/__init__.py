"""Earshot: every public mention of the brand, within earshot of the whole company."""

__version__ = "0.1.0"
