from __future__ import annotations

from fastapi import APIRouter, Query, Request

from backend.contacts import service
from backend.contacts.schemas import Contact, ContactPage

router = APIRouter(prefix="/contacts", tags=["contacts"])


@router.get("", response_model=ContactPage)
def list_contacts(
    request: Request,
    q: str | None = Query(None, max_length=200, description="Matches name, nickname, organization or identifier"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> ContactPage:
    """Live contacts: named first, then by latest activity."""
    return service.list_contacts(request.app.state.engine, q=q, limit=limit, offset=offset)


@router.get("/{contact_id}", response_model=Contact)
def get_contact(contact_id: int, request: Request) -> Contact:
    """One contact; a merged contact's id answers with the contact it was merged into."""
    return service.get_contact(request.app.state.engine, contact_id)
