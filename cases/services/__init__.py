"""Writes to the case record. Each takes the acting user as `actor` and keeps history.

Every state-changing service first asks a named function of the access policy
(`accounts.policy`) whether the actor may do it, then validates what the database
cannot (dates against other rows) and raises ValidationError with field names, so
pages and the API show the message beside the field; then it writes. Nothing here
deletes a row. One module per resource; the escalation engine is `escalations`.
"""

from .addresses import address_add, address_end
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
    escalation_open,
    escalation_refresh,
    escalations_refresh,
    escalations_sweep,
)
from .hazards import hazard_add, hazard_end
from .meetings import meeting_record
from .merge import person_merge
from .people import (
    PERSON_FIELDS,
    membership_add,
    membership_end,
    membership_set_household,
    person_create,
    person_update,
)
from .plans import plan_end, plan_start
from .records import IN_ERROR_MODELS, record_mark_in_error

__all__ = [
    "IN_ERROR_MODELS",
    "PERSON_FIELDS",
    "SWEEP_BATCH",
    "UNMET_REASON",
    "address_add",
    "address_end",
    "case_allocate",
    "case_close",
    "case_create",
    "case_reopen",
    "case_set_restriction",
    "case_update",
    "case_version",
    "escalation_cancel",
    "escalation_open",
    "escalation_refresh",
    "escalations_refresh",
    "escalations_sweep",
    "hazard_add",
    "hazard_end",
    "meeting_record",
    "membership_add",
    "membership_end",
    "membership_set_household",
    "next_case_reference",
    "person_create",
    "person_merge",
    "person_update",
    "plan_end",
    "plan_start",
    "record_mark_in_error",
]
