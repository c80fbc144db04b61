"""The patron chat widget: its settings, its static files and the HTTP that serves them.

`serve` answers `GET /chat`, `/widget.js`, `/chat.js` and `/chat.css` on the WebSocket
port (see `http.static_response`); the widget speaks the `/patron` protocol.
"""
