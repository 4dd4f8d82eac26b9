from celery import shared_task


@shared_task
def ping() -> str:
    """Liveness probe for the worker and broker: returns "pong" and does nothing else."""
    return "pong"


@shared_task(acks_late=True, time_limit=15 * 60, soft_time_limit=14 * 60)
def dashboards_refresh_service() -> int:
    """Work out the service dashboard's figures for every service manager."""
    from safeguarding.dashboards.snapshots import service_snapshots_refresh_all

    return service_snapshots_refresh_all()
