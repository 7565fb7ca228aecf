from __future__ import annotations

from backend.errors import NotFound


class SettingNotFound(NotFound):
    code = "setting_not_found"
