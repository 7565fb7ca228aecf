"""SQLite infrastructure: connections, transactions, migrations. Knows no domain."""
