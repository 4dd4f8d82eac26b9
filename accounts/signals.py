"""Receivers for Django's own auth signals. Session bookkeeping only."""

import time

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .middleware import SESSION_LAST_ACTIVE, SESSION_STARTED


@receiver(user_logged_in, dispatch_uid="accounts.start_session_clocks")
def start_session_clocks(sender, request, user, **kwargs):
    """Measure the 12-hour absolute limit (and the idle limit) from sign-in."""
    session = getattr(request, "session", None)
    if session is None:
        return
    now = time.time()
    session[SESSION_STARTED] = now
    session[SESSION_LAST_ACTIVE] = now
