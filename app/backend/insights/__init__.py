"""Read API of analysis results: per chat, per conversation, and chats ranked by activity."""
