from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.case_create, name="create"),
    path("escalations/", views.escalation_list, name="escalations"),
    path("<int:pk>/", views.case_detail, name="detail"),
    path("<int:pk>/history/", views.case_history, name="history"),
    path("<int:pk>/edit/", views.case_edit, name="edit"),
    path("<int:pk>/close/", views.case_close, name="close"),
    path("<int:pk>/reopen/", views.case_reopen, name="reopen"),
    path("<int:pk>/allocate/", views.case_allocate, name="allocate"),
    path("<int:pk>/access/", views.case_restrict, name="restrict"),
    path("<int:pk>/people/add/", views.person_add, name="person_add"),
    path("<int:pk>/people/<int:person_pk>/edit/", views.person_edit, name="person_edit"),
    path("<int:pk>/people/<int:person_pk>/merge/", views.person_merge, name="person_merge"),
    path("<int:pk>/members/<int:membership_pk>/end/", views.membership_end, name="membership_end"),
    path(
        "<int:pk>/members/<int:membership_pk>/household/",
        views.membership_change,
        name="membership_change",
    ),
    path(
        "<int:pk>/members/<int:membership_pk>/edit/", views.membership_edit, name="membership_edit"
    ),
    path("<int:pk>/addresses/add/", views.address_add, name="address_add"),
    path("<int:pk>/addresses/<int:address_pk>/edit/", views.address_edit, name="address_edit"),
    path("<int:pk>/addresses/<int:address_pk>/end/", views.address_end, name="address_end"),
    path("<int:pk>/plans/start/", views.plan_start, name="plan_start"),
    path("<int:pk>/plans/<int:plan_pk>/edit/", views.plan_edit, name="plan_edit"),
    path("<int:pk>/plans/<int:plan_pk>/end/", views.plan_end, name="plan_end"),
    path("<int:pk>/hazards/add/", views.hazard_add, name="hazard_add"),
    path("<int:pk>/hazards/<int:hazard_pk>/edit/", views.hazard_edit, name="hazard_edit"),
    path("<int:pk>/hazards/<int:hazard_pk>/end/", views.hazard_end, name="hazard_end"),
    path("<int:pk>/agreements/add/", views.agreement_add, name="agreement_add"),
    path(
        "<int:pk>/agreements/<int:agreement_pk>/edit/",
        views.agreement_edit,
        name="agreement_edit",
    ),
    path("<int:pk>/agreements/<int:agreement_pk>/end/", views.agreement_end, name="agreement_end"),
    path(
        "<int:pk>/agreements/<int:agreement_pk>/breach/",
        views.agreement_breach,
        name="agreement_breach",
    ),
    path("<int:pk>/meetings/add/", views.meeting_add, name="meeting_add"),
    path("<int:pk>/meetings/<int:meeting_pk>/edit/", views.meeting_edit, name="meeting_edit"),
    path("<int:pk>/escalations/raise/", views.escalation_raise, name="escalation_raise"),
    path(
        "<int:pk>/escalations/<int:escalation_pk>/edit/",
        views.escalation_edit,
        name="escalation_edit",
    ),
    path(
        "<int:pk>/escalations/<int:escalation_pk>/cancel/",
        views.escalation_cancel,
        name="escalation_cancel",
    ),
    path(
        "<int:pk>/escalations/<int:escalation_pk>/keep/",
        views.escalation_keep,
        name="escalation_keep",
    ),
    path(
        "<int:pk>/in-error/<str:kind>/<int:record_pk>/", views.mark_in_error, name="mark_in_error"
    ),
]
