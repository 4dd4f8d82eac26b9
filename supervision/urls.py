from django.urls import path

from . import views

app_name = "supervision"
urlpatterns = [
    path("", views.home, name="home"),
    path("actions/", views.my_actions, name="my_actions"),
    path("actions/<int:action_pk>/status/", views.action_status, name="action_status"),
    path("new/", views.session_create, name="create"),
    path("<int:session_pk>/", views.session_detail, name="detail"),
    path("<int:session_pk>/held/", views.session_hold, name="hold"),
    path("<int:session_pk>/cancel/", views.session_cancel, name="cancel"),
    path("<int:session_pk>/record/", views.session_record, name="record"),
    path("<int:session_pk>/sign-off/", views.session_sign_off, name="sign_off"),
    path("<int:session_pk>/cases/add/", views.discussion_add, name="discussion_add"),
    path(
        "<int:session_pk>/cases/<int:discussion_pk>/", views.discussion_edit, name="discussion_edit"
    ),
    path(
        "<int:session_pk>/cases/<int:discussion_pk>/decision/",
        views.decision_add,
        name="decision_add",
    ),
    path("<int:session_pk>/cases/<int:discussion_pk>/action/", views.action_add, name="action_add"),
    path(
        "<int:session_pk>/cases/<int:discussion_pk>/decisions/<int:decision_pk>/",
        views.decision_edit,
        name="decision_edit",
    ),
    path(
        "<int:session_pk>/cases/<int:discussion_pk>/actions/<int:action_pk>/",
        views.action_edit,
        name="action_edit",
    ),
]
