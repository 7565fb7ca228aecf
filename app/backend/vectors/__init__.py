"""Vectors: the local embedding model (LiteLLM provider "chatstats-embed") and the FAISS index cache.

Infrastructure: knows no domain. The truth of every vector is the `embeddings` table; the index is a
derived file that can always be rebuilt from it.
"""
