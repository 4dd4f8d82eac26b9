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

from . import lone_working_views  # noqa: E402

urlpatterns += [
    path("<int:pk>/lone-working/check-in/", lone_working_views.check_in, name="check_in"),
    path("lone-working/<int:check_in_pk>/", lone_working_views.detail, name="lone_working"),
    path(
        "lone-working/<int:check_in_pk>/extend/",
        lone_working_views.extend,
        name="lone_working_extend",
    ),
    path(
        "lone-working/<int:check_in_pk>/out/",
        lone_working_views.check_out,
        name="lone_working_out",
    ),
    path(
        "lone-working/<int:check_in_pk>/acknowledge/",
        lone_working_views.acknowledge,
        name="lone_working_acknowledge",
    ),
]
