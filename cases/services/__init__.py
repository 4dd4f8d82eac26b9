"""Writes to the case record. Each takes the acting user as `actor` and keeps history.

Every state-changing service first asks a named function of the access policy
(`accounts.policy`) whether the actor may do it, then validates what the database
cannot (dates against other rows) and raises ValidationError with field names, so
pages and the API show the message beside the field; then it writes. Nothing here
deletes a row. One module per resource; the escalation engine is `escalations`.
"""

from .addresses import ADDRESS_FIELDS, address_add, address_end, address_update, address_version
from .agreements import (
    AGREEMENT_FIELDS,
    agreement_breach_record,
    agreement_create,
    agreement_end,
    agreement_in_force,
    agreement_review_due,
    agreement_update,
    agreement_version,
)
from .case import (
    case_allocate,
    case_close,
    case_create,
    case_reopen,
    case_set_restriction,
    case_update,
    case_version,
    next_case_reference,
)
from .escalations import (
    SWEEP_BATCH,
    UNMET_REASON,
    escalation_cancel,
    escalation_keep,
    escalation_open,
    escalation_refresh,
    escalation_trigger_restored,
    escalation_trigger_withdrawn,
    escalation_update,
    escalation_version,
    escalations_refresh,
    escalations_sweep,
)
from .hazards import HAZARD_FIELDS, hazard_add, hazard_end, hazard_update, hazard_version
from .meetings import (
    MEETING_FIELDS,
    meeting_record,
    meeting_update,
    meeting_version,
    meetings_read_attendance,
)
from .merge import person_merge
from .people import (
    MEMBERSHIP_FIELDS,
    PERSON_FIELDS,
    membership_add,
    membership_end,
    membership_set_household,
    membership_update,
    membership_version,
    person_create,
    person_update,
    person_version,
)
from .plans import PLAN_FIELDS, plan_end, plan_start, plan_update, plan_version
from .records import IN_ERROR_MODELS, record_mark_in_error

__all__ = [
    "AGREEMENT_FIELDS",
    "agreement_breach_record",
    "agreement_create",
    "agreement_end",
    "agreement_in_force",
    "agreement_review_due",
    "agreement_update",
    "agreement_version",
    "ADDRESS_FIELDS",
    "HAZARD_FIELDS",
    "IN_ERROR_MODELS",
    "MEETING_FIELDS",
    "MEMBERSHIP_FIELDS",
    "PERSON_FIELDS",
    "PLAN_FIELDS",
    "SWEEP_BATCH",
    "UNMET_REASON",
    "address_add",
    "address_end",
    "address_update",
    "address_version",
    "case_allocate",
    "case_close",
    "case_create",
    "case_reopen",
    "case_set_restriction",
    "case_update",
    "case_version",
    "escalation_cancel",
    "escalation_keep",
    "escalation_open",
    "escalation_refresh",
    "escalation_trigger_restored",
    "escalation_trigger_withdrawn",
    "escalation_update",
    "escalation_version",
    "escalations_refresh",
    "escalations_sweep",
    "hazard_add",
    "hazard_end",
    "hazard_update",
    "hazard_version",
    "meeting_record",
    "meeting_update",
    "meeting_version",
    "meetings_read_attendance",
    "membership_add",
    "membership_end",
    "membership_set_household",
    "membership_update",
    "membership_version",
    "next_case_reference",
    "person_create",
    "person_merge",
    "person_update",
    "person_version",
    "plan_end",
    "plan_start",
    "plan_update",
    "plan_version",
    "record_mark_in_error",
]
