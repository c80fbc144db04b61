"""libchat-tui: a terminal console for chat reference librarians, and its chat desk backend."""

__version__ = "0.1.0"
