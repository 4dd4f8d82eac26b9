from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("sign-in/", views.SignInView.as_view(), name="login"),
    path("sign-out/", views.sign_out, name="logout"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read/", views.notifications_mark_read, name="notifications_read"),
    path("notifications/undelivered/", views.undelivered_emails, name="undelivered_emails"),
    path(
        "notifications/undelivered/<int:pk>/resend/",
        views.undelivered_email_resend,
        name="undelivered_email_resend",
    ),
    path("api-tokens/", views.api_tokens, name="api_tokens"),
    path("api-tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("users/<int:user_id>/api-tokens/", views.user_api_tokens, name="user_api_tokens"),
]
