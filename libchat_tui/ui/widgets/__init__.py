"""Widgets of the console, one per file."""
