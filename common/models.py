"""Bookkeeping of the periodic sweeps: when each last ran, and what each set aside.

Operational rows, not records of anyone's work: they say whether the background work
that keeps escalations right is running, for /healthz and the operators.
"""

from django.db import models


class SweepRun(models.Model):
    """One row per sweep (its name), updated every time it runs."""

    name = models.CharField(max_length=50, unique=True)
    watched_since = models.DateTimeField(
        auto_now_add=True, help_text="A sweep never run is late three intervals after this"
    )
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_succeeded_at = models.DateTimeField(
        null=True, blank=True, help_text="When a run last finished (items set aside or not)"
    )
    last_for = models.DateTimeField(
        null=True, blank=True, help_text="The moment the last run worked things out for"
    )
    last_result = models.JSONField(default=dict, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    runs = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Sweep {self.name}"


class SetAside(models.Model):
    """An item a sweep failed on: logged, set aside until `next_try_at`, and tried again
    then, while the rest of the sweep goes on. Cleared (not deleted) once it succeeds."""

    sweep = models.CharField(max_length=50)
    object_id = models.BigIntegerField()
    first_failed_at = models.DateTimeField()
    last_failed_at = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)
    next_try_at = models.DateTimeField()
    last_error = models.CharField(max_length=500, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sweep", "object_id"], name="set_aside_once"),
        ]
        indexes = [
            models.Index(
                fields=["sweep", "next_try_at"],
                name="set_aside_waiting",
                condition=models.Q(cleared_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sweep} #{self.object_id} set aside until {self.next_try_at:%H:%M}"
