"""ChatStats backend: a live, searchable mirror of macOS Messages."""

__version__ = "0.1.0"
