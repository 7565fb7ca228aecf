"""People as the inbox shows them: live contacts (not merged away), their identifiers and activity."""
