"""Simulated patrons: real `/patron` clients with seeded behaviour, for the demo desk and tests.

Not part of the backend: each simulated patron is a `PatronSession` over a real socket,
exactly as a patron's browser or `libchat-tui patron` is.
"""

from .patrons import Behaviour, PatronPlan, PatronResult, Simulator

__all__ = ["Behaviour", "PatronPlan", "PatronResult", "Simulator"]
