"""Eve: the prompts and context packs under app/eve/, loaded into strict models.

    from backend.prompts import load_prompt, load_pack
    messages = load_prompt("convo-all-v1").render(conversation={...})
"""

from __future__ import annotations

from backend.prompts.pack import ContextPack, ContextPackInvalid, ContextPackNotFound, list_packs, load_pack
from backend.prompts.prompt import Prompt, PromptInvalid, PromptNotFound, PromptRenderError, list_prompts, load_prompt

__all__ = [
    "ContextPack", "ContextPackInvalid", "ContextPackNotFound", "Prompt", "PromptInvalid", "PromptNotFound",
    "PromptRenderError", "list_packs", "list_prompts", "load_pack", "load_prompt",
]
