from django.urls import path

from . import admin_views, views, views_second_factor

app_name = "accounts"
urlpatterns = [
    path("sign-in/", views.SignInView.as_view(), name="login"),
    path("sign-out/", views.sign_out, name="logout"),
    path("sign-in/code/", views_second_factor.second_factor_verify, name="second_factor_verify"),
    path(
        "sign-in/set-up-app/", views_second_factor.second_factor_enrol, name="second_factor_enrol"
    ),
    path("second-factor/", views_second_factor.second_factor_manage, name="second_factor"),
    path(
        "users/<int:pk>/second-factor/reset/",
        views_second_factor.second_factor_reset,
        name="second_factor_reset",
    ),
    path("password/", admin_views.password_change, name="password_change"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read/", views.notifications_mark_read, name="notifications_read"),
    path("notifications/undelivered/", views.undelivered_emails, name="undelivered_emails"),
    path(
        "notifications/undelivered/<int:pk>/resend/",
        views.undelivered_email_resend,
        name="undelivered_email_resend",
    ),
    # --- Administration (accounts/admin_views.py) ---
    path("administration/", admin_views.home, name="administration"),
    path("users/", admin_views.user_list, name="users"),
    path("users/new/", admin_views.user_create, name="user_create"),
    path("users/<int:pk>/", admin_views.user_detail, name="user_detail"),
    path("users/<int:pk>/edit/", admin_views.user_edit, name="user_edit"),
    path("users/<int:pk>/switch-off/", admin_views.user_deactivate, name="user_deactivate"),
    path("users/<int:pk>/switch-on/", admin_views.user_reactivate, name="user_reactivate"),
    path("users/<int:pk>/password/", admin_views.user_password, name="user_password"),
    path("users/<int:pk>/single-sign-on/", admin_views.user_identity, name="user_identity"),
    path(
        "users/<int:pk>/single-sign-on/<int:identity_pk>/end/",
        admin_views.user_identity_end,
        name="user_identity_end",
    ),
    path("administration/teams/", admin_views.team_list, name="teams"),
    path("administration/teams/new/", admin_views.team_create, name="team_create"),
    path("administration/teams/<int:pk>/", admin_views.team_edit, name="team_edit"),
    path("administration/agencies/", admin_views.agency_list, name="agencies"),
    path("administration/agencies/new/", admin_views.agency_create, name="agency_create"),
    path("administration/agencies/<int:pk>/", admin_views.agency_edit, name="agency_edit"),
    path("administration/closure-days/", admin_views.closure_day_list, name="closure_days"),
    path(
        "administration/closure-days/new/",
        admin_views.closure_day_create,
        name="closure_day_create",
    ),
    path(
        "administration/closure-days/<int:pk>/withdraw/",
        admin_views.closure_day_withdraw,
        name="closure_day_withdraw",
    ),
    path("lockouts/", views.sign_in_lockouts, name="sign_in_lockouts"),
    path("lockouts/unlock/", views.sign_in_unlock, name="sign_in_unlock"),
    path("api-tokens/", views.api_tokens, name="api_tokens"),
    path("api-tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("users/<int:user_id>/api-tokens/", views.user_api_tokens, name="user_api_tokens"),
]
