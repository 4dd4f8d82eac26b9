from django.urls import path

from . import views

app_name = "chronologies"
urlpatterns = [
    path("<int:pk>/chronology/", views.chronology, name="list"),
    path("<int:pk>/chronology/add/", views.entry_add, name="add"),
    path("<int:pk>/chronology/analysis/", views.analysis_view, name="analysis"),
    path("<int:pk>/chronology/<int:entry_pk>/", views.entry_detail, name="entry"),
    path("<int:pk>/chronology/<int:entry_pk>/change/", views.entry_edit, name="entry_edit"),
    path("<int:pk>/chronology/<int:entry_pk>/in-error/", views.entry_in_error, name="in_error"),
    path("<int:pk>/chronology/export/", views.export_request, name="export_request"),
    path("<int:pk>/chronology/exports/<int:export_pk>/", views.export_status, name="export"),
    path(
        "<int:pk>/chronology/exports/<int:export_pk>/review/",
        views.export_review,
        name="review",
    ),
    path(
        "<int:pk>/chronology/exports/<int:export_pk>/approve/",
        views.export_approve,
        name="approve",
    ),
    path(
        "<int:pk>/chronology/exports/<int:export_pk>/download/",
        views.export_download,
        name="download",
    ),
]
