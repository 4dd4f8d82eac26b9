from django.conf import settings
from django.db import models


class DashboardSnapshot(models.Model):
    """The service dashboard's figures for one service manager, worked out by the
    periodic task (and on demand) rather than on every page view: counting every team
    of a county at once takes about a second, the page should take milliseconds.

    Derived data, not a record of anyone's work: it is replaced each time it is worked
    out, and the page says when that was. The lists behind each figure are always live.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dashboard_snapshot"
    )
    computed_at = models.DateTimeField(help_text="The moment the figures are about")
    seconds = models.FloatField(default=0, help_text="How long working them out took")
    counts = models.JSONField(default=dict)

    def __str__(self):
        return f"Service dashboard of {self.user} at {self.computed_at:%Y-%m-%d %H:%M}"
