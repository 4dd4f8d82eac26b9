"""Visits listens to the escalations of cases (to its left) through their signal."""

from django.utils import timezone

from cases.models import Escalation


def reevaluate_when_escalation_closes(sender, escalation, **kwargs):
    """When a defaulted-visits escalation is met or cancelled the count restarts, and
    defaults logged since may already reach the threshold: evaluate again (a request written
    with the change, sent after commit) rather than waiting for the next visit to be recorded."""
    if escalation.kind != Escalation.Kind.DEFAULTED_VISITS or escalation.is_active:
        return
    from .services import evaluation_request

    evaluation_request(escalation.case_id, now=kwargs.get("now") or timezone.now())
