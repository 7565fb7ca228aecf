"""Fixtures of the insights statistics tests: a small hand-written mirror, an empty one, a client."""

from tests.insights.stats_fixtures import client, empty, new_york, small  # noqa: F401
