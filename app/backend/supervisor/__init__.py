"""`chatstats up`: start, watch and stop redis-server, the API, the Celery workers and beat."""
