from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from backend.settings import service
from backend.settings.schemas import SettingValue

router = APIRouter(prefix="/settings", tags=["settings"])


@router.get("")
def list_settings(request: Request) -> dict[str, Any]:
    return service.list_settings(request.app.state.engine)


@router.get("/{key}")
def get_setting(key: str, request: Request) -> SettingValue:
    return SettingValue(value=service.get_setting(request.app.state.engine, key))


@router.put("/{key}")
def update_setting(key: str, body: SettingValue, request: Request) -> SettingValue:
    return SettingValue(value=service.update_setting(request.app.state.engine, key, body.value))
