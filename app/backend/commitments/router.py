from __future__ import annotations

from fastapi import APIRouter, Query, Request

from backend.commitments import service
from backend.commitments.schemas import CommitmentDetail, CommitmentList, SnoozeRequest, StatusFilter

router = APIRouter(prefix="/commitments", tags=["commitments"])


@router.get("", response_model=CommitmentList)
def list_commitments(
    request: Request,
    status: StatusFilter = Query("active", description="a snoozed one whose time has passed counts as active"),
    chat_id: int | None = Query(None),
    limit: int = Query(200, ge=1, le=1000),
) -> CommitmentList:
    """Commitments, active ones due soonest first."""
    return service.list_commitments(request.app.state.engine, status=status, chat_id=chat_id, limit=limit)


@router.get("/{commitment_id}", response_model=CommitmentDetail)
def get_commitment(commitment_id: int, request: Request) -> CommitmentDetail:
    return service.get_commitment(request.app.state.engine, commitment_id)


@router.post("/{commitment_id}/complete", response_model=CommitmentDetail)
def complete_commitment(commitment_id: int, request: Request) -> CommitmentDetail:
    return service.complete(request.app.state.engine, commitment_id)


@router.post("/{commitment_id}/cancel", response_model=CommitmentDetail)
def cancel_commitment(commitment_id: int, request: Request) -> CommitmentDetail:
    return service.cancel(request.app.state.engine, commitment_id)


@router.post("/{commitment_id}/snooze", response_model=CommitmentDetail)
def snooze_commitment(commitment_id: int, body: SnoozeRequest, request: Request) -> CommitmentDetail:
    return service.snooze(request.app.state.engine, commitment_id, until=body.until)


@router.post("/{commitment_id}/reopen", response_model=CommitmentDetail)
def reopen_commitment(commitment_id: int, request: Request) -> CommitmentDetail:
    return service.reopen(request.app.state.engine, commitment_id)
