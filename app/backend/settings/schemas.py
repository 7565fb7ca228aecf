from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class SettingValue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: Any
