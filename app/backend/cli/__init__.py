"""The `chatstats` command line: thin commands over services."""
