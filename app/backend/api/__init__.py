"""The HTTP edge: app factory, security, error translation."""
