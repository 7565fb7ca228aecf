"""Operator tools: the failed-tasks ledger over HTTP (list, retry now, purge)."""
