"""Live updates for the UI: the in-process message hub and the SSE streams."""
