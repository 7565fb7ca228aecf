"""Messages as the inbox shows them: sender, text, reactions, attachments, edits, extras."""
