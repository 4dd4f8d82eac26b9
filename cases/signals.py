"""Events the case record publishes, sent by services inside their transaction.

Apps to the right (the chronology) receive them; cases never imports those apps.
Every signal is sent with `actor` and `now`, plus the objects named below.
"""

from django.dispatch import Signal

case_opened = Signal()  # case
case_closed = Signal()  # case
case_reopened = Signal()  # case
member_joined = Signal()  # membership
member_changed = Signal()  # membership
member_left = Signal()  # membership
address_changed = Signal()  # address, previous (or None)
plan_started = Signal()  # plan
plan_ended = Signal()  # plan
hazard_added = Signal()  # hazard
hazard_ended = Signal()  # hazard
record_in_error = Signal()  # instance
# A record corrected through its edit form or the API's PATCH (membership, address, plan,
# hazard, meeting or escalation): `instance`, as saved. Its entries are written again.
record_corrected = Signal()
meeting_recorded = Signal()  # meeting
# Two records of one person merged (cases.services.person_merge): `keep`, `duplicate`
# (now marked merged into keep) and `reason`. Sent after the case record's own rows
# moved; each app to the right moves the rows it keeps about the duplicate to `keep`
# in the same transaction (and may refuse with a ValidationError, undoing the merge).
person_merged = Signal()
escalation_changed = Signal()  # escalation (its state says what happened)
# Many escalations changed together (a batch of the sweep), instead of escalation_changed
# for each: `escalations`, a list (each one's state says what happened). The sweep sends
# it for the escalations of a batch that went overdue; an escalation met or cancelled is
# still sent alone through escalation_changed.
escalations_changed = Signal()
agreement_made = Signal()  # agreement (a written agreement with the family)
agreement_ended = Signal()  # agreement
agreement_breached = Signal()  # breach (of a written agreement)
