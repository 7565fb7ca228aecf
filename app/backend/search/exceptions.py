from __future__ import annotations

from backend.errors import BackendError


class InvalidSearch(BackendError):
    status_code = 400
    code = "invalid_search"
