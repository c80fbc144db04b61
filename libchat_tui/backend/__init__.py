"""The chat desk backend: desk service, SQLite store, WebSocket server and patron simulator.

Nothing in here imports textual; the backend runs on its own (`libchat-tui serve`) or
inside the console process (the demo desk).
"""
