"""Fixtures of the messaging tests. Each part of the domain keeps its fixtures in its own
block below."""
