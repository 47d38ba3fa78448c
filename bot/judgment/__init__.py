"""Judgment: is a post about us, is it a copy, is it a complaint, and which department owns it."""
