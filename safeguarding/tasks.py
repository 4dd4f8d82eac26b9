from celery import shared_task


@shared_task
def ping() -> str:
    """Liveness probe for the worker and broker: returns "pong" and does nothing else."""
    return "pong"
