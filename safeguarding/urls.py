from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from oauth2_provider import views as oauth2_views

from accounts import session_views

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("healthz/background", views.healthz_background, name="healthz_background"),
    path("accounts/", include("accounts.urls")),
    path("oidc/", include("accounts.oidc_urls")),
    path("session/status", session_views.session_status, name="session-status"),
    path("session/extend", session_views.session_extend, name="session-extend"),
    path("cases/", include("cases.urls")),
    path("cases/", include("visits.urls")),
    path("cases/", include("chronologies.urls")),
    path("cases/", include("supervision.case_urls")),
    path("supervision/", include("supervision.urls")),
    path("dashboards/", include("safeguarding.dashboards.urls")),
    path("governance/", include("safeguarding.governance.urls")),
    path("api/v1/", include("safeguarding.api_urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"
    ),
    path("admin/", admin.site.urls),
    # OAuth2 for partner systems: the client credentials grant's endpoints only (no
    # authorisation pages, no application management pages).
    path(
        "oauth/",
        include(
            (
                [
                    path("token/", oauth2_views.TokenView.as_view(), name="token"),
                    path(
                        "revoke_token/", oauth2_views.RevokeTokenView.as_view(), name="revoke-token"
                    ),
                    path(
                        "introspect/", oauth2_views.IntrospectTokenView.as_view(), name="introspect"
                    ),
                ],
                "oauth2_provider",
            ),
            namespace="oauth2_provider",
        ),
    ),
]

handler404 = "safeguarding.views.not_found"
