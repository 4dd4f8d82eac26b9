from django.urls import path

from . import views, views_second_factor

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
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read/", views.notifications_mark_read, name="notifications_read"),
    path("notifications/undelivered/", views.undelivered_emails, name="undelivered_emails"),
    path(
        "notifications/undelivered/<int:pk>/resend/",
        views.undelivered_email_resend,
        name="undelivered_email_resend",
    ),
]
