"""The mirror: central.db as a faithful copy of the Messages and Contacts sources."""
