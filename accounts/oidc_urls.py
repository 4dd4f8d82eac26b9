"""Single sign-on (accounts/oidc.py). The callback is the redirect URI registered at the
identity provider: <site>/oidc/callback/. Both answer 404 while OIDC_ENABLED is off."""

from django.urls import path

from . import oidc

urlpatterns = [
    path("callback/", oidc.CallbackView.as_view(), name="oidc_authentication_callback"),
    path("authenticate/", oidc.SignInStartView.as_view(), name="oidc_authentication_init"),
]
