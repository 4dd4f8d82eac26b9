"""Supervision pages about one case, under /cases/<pk>/ (the case access policy)."""

from django.urls import path

from . import views

app_name = "supervision_case"
urlpatterns = [
    path("<int:pk>/supervision-decisions/", views.case_decisions, name="decisions"),
]
