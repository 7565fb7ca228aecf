"""Health of the backend and its processes."""
