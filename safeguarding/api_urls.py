"""The REST API under /api/v1/ (schema and docs are routed in safeguarding/urls.py)."""

from django.urls import path, register_converter
from rest_framework.routers import DefaultRouter

from cases import api as cases_api
from cases.api import partner as partner_api
from chronologies import api as chronology_api
from common.api import IdConverter
from supervision import api as supervision_api
from visits import api as visits_api

register_converter(IdConverter, "id")

# Path converters, not regular expressions: every id in a path is `<id:...>` (digits that
# fit a 64-bit integer), anything else there is 404, and the schema says integer.
router = DefaultRouter(use_regex_path=False)
router.include_format_suffixes = False  # JSON only: no /cases.json
router.register("cases", cases_api.CaseViewSet, basename="case")
router.register("people", cases_api.PersonViewSet, basename="person")
router.register("memberships", cases_api.MembershipViewSet, basename="membership")
router.register("addresses", cases_api.AddressViewSet, basename="address")
router.register("cp-plans", cases_api.PlanViewSet, basename="cpplan")
router.register("hazards", cases_api.HazardViewSet, basename="hazard")
router.register("meetings", cases_api.MeetingViewSet, basename="meeting")
router.register(
    "written-agreements", cases_api.WrittenAgreementViewSet, basename="writtenagreement"
)
router.register("visits", visits_api.VisitViewSet, basename="visit")
router.register(
    "supervision/sessions", supervision_api.SessionViewSet, basename="supervisionsession"
)
router.register(
    "supervision/discussions", supervision_api.DiscussionViewSet, basename="supervisiondiscussion"
)
router.register("supervision/actions", supervision_api.ActionViewSet, basename="supervisionaction")
router.register(
    "supervision/decisions", supervision_api.DecisionViewSet, basename="supervisiondecision"
)
router.register(
    "cases/<id:case_pk>/chronology",
    chronology_api.ChronologyViewSet,
    basename="chronology",
)
router.register(
    "cases/<id:case_pk>/chronology-exports",
    chronology_api.ChronologyExportViewSet,
    basename="chronologyexport",
)

urlpatterns = [
    # Partner systems (OAuth2 client credentials tokens only; cases/api/partner.py).
    path(
        "partner/escalations/",
        partner_api.PartnerEscalationList.as_view(),
        name="partner-escalations",
    ),
    *router.urls,
]
