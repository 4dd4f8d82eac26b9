"""Events visits publish, sent by services inside their transaction (actor, now, visit)."""

from django.dispatch import Signal

visit_planned = Signal()  # visit
visit_recorded = Signal()  # visit (its outcome, children seen and observations are saved)
visit_in_error = Signal()  # visit (now marked recorded in error)
