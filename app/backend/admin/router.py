from __future__ import annotations

from fastapi import APIRouter, Query, Request

from backend.admin import service
from backend.admin.schemas import FailedTask, FailedTaskList, FailedTaskStatus, PurgeResult, PurgeScope

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/failed-tasks", response_model=FailedTaskList)
def list_failed_tasks(
    request: Request,
    status: FailedTaskStatus | None = Query(None),
    limit: int = Query(500, ge=1, le=5000),
) -> FailedTaskList:
    """Tasks that failed for good, newest failure first, with their reason, arguments and attempts."""
    return service.list_failed_tasks(request.app.state.engine, status=status, limit=limit)


@router.post("/failed-tasks/{failed_task_id}/retry", response_model=FailedTask)
def retry_failed_task(failed_task_id: int, request: Request) -> FailedTask:
    """Send the task again now (whatever its status); 503 broker_unavailable without a broker."""
    return service.retry_failed_task(request.app.state.engine, failed_task_id,
                                     redis_url=request.app.state.settings.redis_url)


@router.delete("/failed-tasks", response_model=PurgeResult)
def purge_failed_tasks(request: Request, status: PurgeScope = Query(...)) -> PurgeResult:
    """Delete the rows of one status (resolved, abandoned) or all of them; returns how many."""
    return service.purge_failed_tasks(request.app.state.engine, scope=status)
