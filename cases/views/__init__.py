"""Pages of the case record. Views collect input, ask the policy what to show, and call
services and queries; one module per resource."""

from .agreements import agreement_add, agreement_breach, agreement_edit, agreement_end
from .base import case_context, case_for_page
from .case import (
    case_allocate,
    case_close,
    case_detail,
    case_edit,
    case_history,
    case_reopen,
    case_restrict,
)
from .lists import case_create, case_list, escalation_list
from .meetings import (
    escalation_cancel,
    escalation_edit,
    escalation_keep,
    escalation_raise,
    meeting_add,
    meeting_edit,
)
from .people import (
    membership_change,
    membership_edit,
    membership_end,
    person_add,
    person_edit,
    person_merge,
)
from .records import (
    address_add,
    address_edit,
    address_end,
    hazard_add,
    hazard_edit,
    hazard_end,
    mark_in_error,
    plan_edit,
    plan_end,
    plan_start,
)

__all__ = [
    "agreement_add",
    "agreement_breach",
    "agreement_edit",
    "agreement_end",
    "address_add",
    "address_edit",
    "address_end",
    "case_allocate",
    "case_close",
    "case_context",
    "case_create",
    "case_detail",
    "case_edit",
    "case_for_page",
    "case_history",
    "case_list",
    "case_reopen",
    "case_restrict",
    "escalation_cancel",
    "escalation_keep",
    "escalation_edit",
    "escalation_list",
    "escalation_raise",
    "hazard_add",
    "hazard_edit",
    "hazard_end",
    "mark_in_error",
    "meeting_add",
    "meeting_edit",
    "membership_change",
    "membership_edit",
    "membership_end",
    "person_add",
    "person_edit",
    "person_merge",
    "plan_edit",
    "plan_end",
    "plan_start",
]
