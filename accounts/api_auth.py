"""Staff API tokens (django-rest-knox) with the limits of a session.

Knox stores a digest of each token, gives it a sliding expiry (REST_KNOX TOKEN_TTL with
AUTO_REFRESH: the idle limit) and caps the renewal at AUTO_REFRESH_MAX_TTL from its
creation (the absolute limit). This class adds what knox leaves to the project, all
checked when the token is used, so that no way of changing an account can miss it:

- the token has its record (accounts.ApiToken: a name and an owner) and it is not
  revoked;
- the absolute limit, from `created`, whatever knox's settings were when it was made;
- the owner is active and their password has not changed since the token was made.

Only then is the expiry moved on and the last use noted (at most once a minute).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication
from knox.settings import knox_settings
from rest_framework import exceptions

from .models import ApiToken

INVALID = _("Invalid token.")


def password_check(user) -> str:
    """A keyed hash of the user's stored password hash: it changes when the password does."""
    return salted_hmac("accounts.ApiToken.password", user.password, algorithm="sha256").hexdigest()


def absolute_end(created: datetime.datetime) -> datetime.datetime:
    return created + datetime.timedelta(seconds=settings.API_TOKEN_ABSOLUTE_SECONDS)


class ApiTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <token>`; a request without one is told so (401)."""

    def renew_token(self, auth_token) -> None:
        # Knox renews before it looks at the user; renewal waits until every check passed
        # (validate_user below).
        return None

    def validate_user(self, auth_token):
        now = timezone.now()
        user = auth_token.user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(INVALID)
        if absolute_end(auth_token.created) <= now:
            raise exceptions.AuthenticationFailed(INVALID)
        record = ApiToken.objects.filter(auth_token=auth_token).first()
        if record is None or record.revoked_at is not None:
            raise exceptions.AuthenticationFailed(INVALID)
        if record.password_check != password_check(user):
            raise exceptions.AuthenticationFailed(INVALID)
        if knox_settings.AUTO_REFRESH and auth_token.expiry:
            before = auth_token.expiry
            TokenAuthentication.renew_token(self, auth_token)
            moved = (auth_token.expiry - before).total_seconds()
            if moved > knox_settings.MIN_REFRESH_INTERVAL:  # knox saved the new expiry
                ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
        return (user, auth_token)


class ApiTokenScheme(KnoxTokenScheme):
    """The schema's security scheme: `Authorization: Token <token>`."""

    target_class = "accounts.api_auth.ApiTokenAuthentication"
    name = "apiToken"
