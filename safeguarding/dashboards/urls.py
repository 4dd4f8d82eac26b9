from django.urls import path

from . import manager, views, worker

app_name = "dashboards"
urlpatterns = [
    path("", views.home, name="home"),
    path("mine/", worker.my_work, name="mine"),
    *manager.urlpatterns,
]
