"""Chats as the inbox lists them: names, participants, last message, unread counts."""
