from celery import shared_task

from . import services


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def chronology_export_render(export_id: int):
    """Render one chronology export. Idempotent: claims the row by compare-and-swap."""
    export = services.export_render(export_id)
    return export.status


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def chronology_exports_remove_expired():
    return services.exports_remove_expired()
