"""The assistant (Eve): threads, messages, versioned documents; replies streamed over SSE."""
