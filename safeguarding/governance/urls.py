from django.urls import path

from . import views

app_name = "governance"

urlpatterns = [
    path("access/", views.access_start, name="access"),
    path("access/child/", views.access_child, name="access_child"),
    path("access/user/", views.access_user, name="access_user"),
]
