"""Events supervision publishes, sent by its services inside their transaction.

Apps to the right (the chronology) receive them; every signal is sent with `actor`
and `now`, plus the objects named below.
"""

from django.dispatch import Signal

session_held = Signal()  # session
session_cancelled = Signal()  # session (its rearranged_as is the new date, if any)
session_signed_off = Signal()  # session
discussion_recorded = Signal()  # discussion (a case discussed in a session)
decision_recorded = Signal()  # decision (with its case: part of the case record)
action_changed = Signal()  # action (its status says what happened)
