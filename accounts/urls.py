from django.urls import path

from . import admin_views, views

app_name = "accounts"
urlpatterns = [
    path("sign-in/", views.SignInView.as_view(), name="login"),
    path("sign-out/", views.sign_out, name="logout"),
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
]
