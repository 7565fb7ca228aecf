"""Celery: the app, its queues and routing. Knows no domain; domains register tasks in their tasks.py."""
