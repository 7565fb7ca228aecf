"""The one module that imports LiteLLM, and the registry of custom LiteLLM providers.

LiteLLM fetches a model price list from the network on import unless LITELLM_LOCAL_MODEL_COST_MAP is set
first, so it is set here, before the import. Everything else in the backend reaches LiteLLM through this
module (the gateway) and never imports it itself.

A custom provider (e.g. the built-in offline analyzer, "chatstats") is a `CustomLLM` subclass registered
under a name; models "<name>/<anything>" are then routed to it by `litellm.completion`/`embedding`:

    from backend.llm.providers import CustomLLM, register_provider
    register_provider("chatstats", OfflineAnalyzer())

A provider that registers itself on import can be listed in `LAZY_PROVIDERS` (name -> module), and the
gateway imports that module the first time a model of that provider is called.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import threading
from functools import lru_cache

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# OpenAI-compatible chat completions through LiteLLM's own httpx handler instead of the OpenAI SDK: the SDK's
# request building (typed-dict transforms of every message) cost ~2.5 ms of CPU per call, a third of LiteLLM's
# share (bench/analysis.py). Set the variable to "false" to go back to the SDK.
os.environ.setdefault("EXPERIMENTAL_OPENAI_BASE_LLM_HTTP_HANDLER", "true")

import litellm
from litellm import CustomLLM, EmbeddingResponse, ModelResponse
from litellm.types.utils import GenericStreamingChunk

__all__ = [
    "CustomLLM", "EmbeddingResponse", "GenericStreamingChunk", "ModelResponse", "LAZY_PROVIDERS", "litellm",
    "ensure_priced", "ensure_provider", "provider_of", "register_provider", "registered_providers",
    "supports_json_mode",
    "unregister_provider",
]

litellm.telemetry = False
litellm.suppress_debug_info = True

# LiteLLM's import leaves a few hundred thousand long-lived objects (its model and price maps among them) that
# the cyclic garbage collector would otherwise scan again and again while calls churn out short-lived ones:
# moved out of its reach, a call costs ~9% less CPU (bench/analysis.py).
gc.collect()
gc.freeze()

# Provider name -> module that calls register_provider() on import (filled in by the modules' owners).
LAZY_PROVIDERS: dict[str, str] = {
    "chatstats": "backend.llm.offline.register", "chatstats-embed": "backend.vectors.register",
}

_lock = threading.Lock()


def register_provider(name: str, handler: CustomLLM) -> None:
    """Route models "<name>/..." to `handler`. Registering a name again replaces its handler."""
    with _lock:
        entries = [item for item in litellm.custom_provider_map if item["provider"] != name]
        entries.append({"provider": name, "custom_handler": handler})
        litellm.custom_provider_map = entries
        litellm.utils.custom_llm_setup()  # adds the name to litellm.provider_list


def unregister_provider(name: str) -> None:
    with _lock:
        litellm.custom_provider_map = [item for item in litellm.custom_provider_map if item["provider"] != name]
        if name in litellm._custom_providers:
            litellm._custom_providers.remove(name)
        if name in litellm.provider_list:
            litellm.provider_list.remove(name)


def registered_providers() -> dict[str, CustomLLM]:
    return {item["provider"]: item["custom_handler"]  # type: ignore[misc]  # the map holds our CustomLLMs
            for item in litellm.custom_provider_map}


def ensure_provider(model: str) -> None:
    """Import the module that registers the model's custom provider, when it is a lazy one."""
    provider = provider_of(model)
    module = LAZY_PROVIDERS.get(provider)
    if module and provider not in registered_providers():
        importlib.import_module(module)


@lru_cache(maxsize=128)
def ensure_priced(model: str, mode: str = "chat") -> bool:
    """True when LiteLLM has a price for `model`. One it has none for (a custom provider, a local or new model) is
    registered once at zero cost: LiteLLM prices every reply, and for an unknown model it searches its whole price
    list for look-alikes each time (~1.5 ms of CPU per call). Its calls are logged at cost 0, as before."""
    try:
        litellm.get_model_info(model)
        return True
    except Exception:  # noqa: BLE001 - LiteLLM raises for a model it has no entry for
        pass
    entry = {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0, "litellm_provider": provider_of(model),
             "mode": mode}
    logger = logging.getLogger("LiteLLM")
    level = logger.level
    logger.setLevel(logging.ERROR)  # register_model warns that a custom price has no cache-token prices
    try:
        with _lock:
            litellm.register_model({model: entry})
    finally:
        logger.setLevel(level)
    return False


def provider_of(model: str) -> str:
    """The provider part of a model string: "openai/gpt-4o-mini" -> "openai"; "gpt-4o-mini" -> "openai".

    A model without a prefix is looked up in LiteLLM's model list ("claude-3-5-haiku-latest" ->
    "anthropic"); unknown ones count as OpenAI, as LiteLLM treats them.
    """
    if "/" in model:
        return model.split("/", 1)[0]
    try:
        return litellm.get_llm_provider(model)[1] or "openai"
    except Exception:  # noqa: BLE001 - LiteLLM raises BadRequestError for names it does not know
        return "openai"


def supports_json_mode(model: str) -> bool:
    """Whether the model accepts `response_format={"type": "json_object"}`."""
    provider = provider_of(model)
    if provider in registered_providers():
        return False  # a custom handler returns JSON on its own terms
    name = model.split("/", 1)[1] if "/" in model else model
    try:
        params = litellm.get_supported_openai_params(model=name, custom_llm_provider=provider) or []
    except Exception:  # noqa: BLE001 - unknown provider/model: do not send the parameter
        return False
    return "response_format" in params
