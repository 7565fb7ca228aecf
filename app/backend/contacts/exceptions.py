from __future__ import annotations

from backend.errors import NotFound


class ContactNotFound(NotFound):
    code = "contact_not_found"
