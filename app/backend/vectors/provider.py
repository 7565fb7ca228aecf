"""The local embedding model as the LiteLLM custom provider "chatstats-embed".

`backend.llm.embed(model="chatstats-embed/all-minilm-l6-v2-int8", texts=[...])` reaches `embedding`
below through LiteLLM (the gateway imports `backend.vectors.register` on first use, via LAZY_PROVIDERS).
"""

from __future__ import annotations

from typing import Any

from backend.llm.providers import CustomLLM, EmbeddingResponse, litellm, register_provider
from backend.vectors.local_model import MODEL_NAME, get_embedder

PROVIDER = "chatstats-embed"
MODEL = f"{PROVIDER}/{MODEL_NAME}"


class LocalEmbeddingProvider(CustomLLM):
    def embedding(self, model: str, input: list, model_response: EmbeddingResponse,
                  *args: Any, **kwargs: Any) -> EmbeddingResponse:
        name = model.split("/", 1)[-1]
        if name != MODEL_NAME:
            raise ValueError(f"unknown local embedding model {model!r}: use {MODEL}")
        texts = [input] if isinstance(input, str) else [str(item) for item in input]
        vectors, tokens = get_embedder().embed_counted(texts)
        model_response.model = MODEL
        model_response.object = "list"
        model_response.data = [{"object": "embedding", "index": i, "embedding": vector.tolist()}
                               for i, vector in enumerate(vectors)]
        model_response.usage = litellm.Usage(prompt_tokens=tokens, completion_tokens=0, total_tokens=tokens)
        return model_response

    async def aembedding(self, *args: Any, **kwargs: Any) -> EmbeddingResponse:
        return self.embedding(*args, **kwargs)


def register_local_provider() -> None:
    register_provider(PROVIDER, LocalEmbeddingProvider())
