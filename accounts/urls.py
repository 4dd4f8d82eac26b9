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
    path("lockouts/", views.sign_in_lockouts, name="sign_in_lockouts"),
    path("lockouts/unlock/", views.sign_in_unlock, name="sign_in_unlock"),
]
