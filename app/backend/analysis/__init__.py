"""Analysis passes over conversations: the registry, the exactly-once job ledger, the tasks."""
