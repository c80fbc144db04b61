"""The LibAnswers integration: tickets and Reference Analytics pushed over API 1.1.

Optional: without `[libanswers]` in the settings nothing here runs. See docs/libanswers.md.
`settings` parses the section, `api` talks HTTP, `mapping` matches RA fields by label,
`push` is the durable queue and its worker, `check` backs `libchat-tui libanswers check`.
"""
