"""Keys of the sync_state watermarks shared by the import and the live sync."""

SOURCE_KEY = "chatdb.source"
CURSOR_KEY = "chatdb.message_rowid"  # every source message up to this ROWID is mirrored
DELETED_CURSOR_KEY = "chatdb.deleted_rowid"  # deleted_messages rows up to this ROWID are applied
LAST_IMPORT_KEY = "chatdb.last_import"
