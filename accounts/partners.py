"""Partner systems on OAuth2 client credentials (django-oauth-toolkit).

A partner client is an OAuth2 application (client id, hashed secret) with an
accounts.PartnerClient beside it naming the teams it may read and its scopes. The
token endpoint issues a token only to an active partner client, only by the client
credentials grant, and only with scopes that client was granted. The partner API
views (cases.partner_api) accept these tokens and nothing else; no other API view
accepts them (they are not among REST_FRAMEWORK's authentication classes).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from oauth2_provider.models import AbstractApplication
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import SettingsScopes
from rest_framework.permissions import BasePermission

from .models import PartnerClient

CLIENT_CREDENTIALS = "client_credentials"


def partner_of(application: Any) -> PartnerClient | None:
    if application is None:
        return None
    try:
        return application.partner
    except PartnerClient.DoesNotExist:
        return None


def granted_scopes(application: Any) -> list[str]:
    """The scopes an application may ask for: its partner client's, while it is active."""
    partner = partner_of(application)
    if partner is None or not partner.active:
        return []
    return [scope for scope in partner.scope_list if scope in settings.PARTNER_SCOPES]


class PartnerScopes(SettingsScopes):
    """Each client gets the scopes it was granted, not every scope the system knows."""

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        return granted_scopes(application)

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return granted_scopes(application)


class PartnerValidator(OAuth2Validator):
    """Only the client credentials grant, only for an active partner client."""

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        if grant_type != CLIENT_CREDENTIALS:
            return False
        application = request.client
        if application is None or (
            application.authorization_grant_type != AbstractApplication.GRANT_CLIENT_CREDENTIALS
        ):
            return False
        partner = partner_of(application)
        if partner is None or not partner.active:
            return False
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)


class IsActivePartner(BasePermission):
    """The access token belongs to a partner client that is still active."""

    def has_permission(self, request, view) -> bool:
        token = request.auth
        application = getattr(token, "application", None)
        partner = partner_of(application)
        return partner is not None and partner.active
