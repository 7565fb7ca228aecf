"""Readers and writers of Apple's formats: chat.db, AddressBook, typedstream, plists.

This package is the only code that knows Apple's schemas.
"""
