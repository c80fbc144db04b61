"""Screens and modal dialogs of the console, one per file."""
