"""The Textual console. Everything that imports textual lives under here."""
