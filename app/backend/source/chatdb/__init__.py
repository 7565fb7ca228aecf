"""chat.db / sms.db: opened read-only, schema probed, rows read as tuples."""
