"""Benchmarks for libchat-tui (not part of the test run): `python -m benchmarks [--quick]`."""
