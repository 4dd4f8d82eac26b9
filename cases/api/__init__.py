"""The case record over REST, under /api/v1/ (DESIGN.md section 3).

Thin on purpose: input serializers check the shape of what was sent, then a
service in `cases.services` decides what is allowed and writes it with the
acting user on the history row. Output serializers are for reads only.

Access is the one policy in `accounts.policy`: every queryset here is narrowed
to the cases the user may see (or to the people on them), so a list can never
show what a detail would refuse, and anything outside it is 404, including a
write naming a case the user cannot see. Every response that carries part of a
case record is written to the access log. Nothing here deletes a row: records
are ended, or marked recorded-in-error, through actions.
"""

from .agreements import WrittenAgreementViewSet
from .base import (
    CaseRecordFilter,
    CaseRecordViewSet,
    EndSerializer,
    ReasonSerializer,
    VisibleCaseField,
)
from .cases import CaseViewSet
from .meetings import MeetingViewSet
from .people import MembershipViewSet, PersonViewSet
from .records import AddressViewSet, HazardViewSet, PlanViewSet

__all__ = [
    "AddressViewSet",
    "CaseRecordFilter",
    "CaseRecordViewSet",
    "CaseViewSet",
    "EndSerializer",
    "HazardViewSet",
    "MeetingViewSet",
    "MembershipViewSet",
    "PersonViewSet",
    "PlanViewSet",
    "ReasonSerializer",
    "VisibleCaseField",
    "WrittenAgreementViewSet",
]
