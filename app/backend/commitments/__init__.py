"""Commitments people made in conversations: listing them and the user's actions on them."""
