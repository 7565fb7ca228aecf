"""Search: conversation chunks embedded into vectors, and hybrid (FTS5 bm25 + vector) search over them."""
