"""Typed events and the outbox they are written to. Knows no domain beyond the event shapes."""
