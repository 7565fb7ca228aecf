"""Conversations: runs of a chat's messages separated by gaps longer than the conversation gap."""
