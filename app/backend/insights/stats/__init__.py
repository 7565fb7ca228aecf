"""Exact statistics over the mirror: totals, activity, people, response times, streaks, emoji and words."""
