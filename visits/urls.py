from django.urls import path

from . import views

app_name = "visits"
urlpatterns = [
    path("<int:pk>/visits/", views.visit_list, name="list"),
    path("<int:pk>/visits/record/", views.visit_log, name="log"),
    path("<int:pk>/visits/plan/", views.visit_plan, name="plan"),
    path("<int:pk>/visits/<int:visit_pk>/", views.visit_detail, name="detail"),
    path("<int:pk>/visits/<int:visit_pk>/outcome/", views.visit_record, name="record"),
    path("<int:pk>/visits/<int:visit_pk>/in-error/", views.visit_in_error, name="in_error"),
]
