"""Receivers for Django's own auth signals (session bookkeeping) and for saving a user
(API tokens end with a password change or a deactivation)."""

import time

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone

from . import services
from .middleware import SESSION_LAST_ACTIVE, SESSION_STARTED
from .models import User


@receiver(user_logged_in, dispatch_uid="accounts.start_session_clocks")
def start_session_clocks(sender, request, user, **kwargs):
    """Measure the 12-hour absolute limit (and the idle limit) from sign-in."""
    session = getattr(request, "session", None)
    if session is None:
        return
    now = time.time()
    session[SESSION_STARTED] = now
    session[SESSION_LAST_ACTIVE] = now


# --- API tokens follow the account ----------------------------------------------------------
# Whatever saves a user (a form, the admin, a management command, a service) with a new
# password or made inactive, their API tokens end: these receivers only notice it and call
# the service. (The authentication class checks the same at every use, for the paths
# that skip save(), such as QuerySet.update().)

_TOKEN_ENDING = "_api_tokens_end_reason"


@receiver(pre_save, sender=User, dispatch_uid="accounts.api_tokens_note_account_change")
def api_tokens_note_account_change(sender, instance, raw=False, update_fields=None, **kwargs):
    setattr(instance, _TOKEN_ENDING, None)
    if raw or instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return
    stored = User.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if stored is None:
        return
    if stored["is_active"] and not instance.is_active:
        setattr(instance, _TOKEN_ENDING, services.REVOKED_DEACTIVATED)
    elif stored["password"] != instance.password:
        setattr(instance, _TOKEN_ENDING, services.REVOKED_PASSWORD_CHANGED)


@receiver(post_save, sender=User, dispatch_uid="accounts.api_tokens_end_on_account_change")
def api_tokens_end_on_account_change(sender, instance, raw=False, **kwargs):
    reason = getattr(instance, _TOKEN_ENDING, None)
    if reason:
        setattr(instance, _TOKEN_ENDING, None)
        services.api_tokens_revoke_all(user=instance, reason=reason, now=timezone.now())
