"""Rules for escalations (DESIGN.md section 2, R1-R3). They decide; they write nothing."""

import datetime

from django.conf import settings

from safeguarding.workdays import add_working_days, is_working_day

from .models import Escalation, Meeting, Membership

# --- Active on a day, a child on a plan, a hazard now: the Python twins -------------------
# Each answer below is also defined once in SQL, in cases/queries.py (active_on_q,
# child_on_plan_q, hazard_active_q); tests/cases/test_one_definition.py holds the two in
# agreement. Pages that have already read the rows ask these; lists ask the database.


def active_on(record, day: datetime.date) -> bool:
    """A membership, plan or hazard active on `day`: not recorded in error, started, not
    yet ended (the twin of each model's `active_on_q`)."""
    return (
        not record.in_error
        and record.start_date <= day
        and (record.end_date is None or record.end_date >= day)
    )


def children_on_plan(plans, memberships, day: datetime.date) -> set[int]:
    """Ids of the children of a case on a plan on `day`: a plan active on the day, for a
    child whose membership of the case as a child covers the day, whichever case the
    plan was recorded under (an unborn child on a pre-birth plan included).
    `memberships` are the case's; `plans` any that may be theirs."""
    children = {
        m.person_id
        for m in memberships
        if m.relationship == Membership.Relationship.CHILD and active_on(m, day)
    }
    return {p.child_id for p in plans if p.child_id in children and active_on(p, day)}


def hazards_active(hazards, memberships, day: datetime.date, *, case_id: int) -> list:
    """The hazards a visitor to a case must know on `day`: active on the day, on the case
    or on someone whose membership of it covers the day. `memberships` are the case's."""
    people = {m.person_id for m in memberships if active_on(m, day)}
    return [
        h for h in hazards if active_on(h, day) and (h.case_id == case_id or h.person_id in people)
    ]


def required_meeting(child_on_plan: bool) -> str:
    """R3: a core group when a child is on a plan; R2: a multi-agency meeting otherwise."""
    return Meeting.Kind.CORE_GROUP if child_on_plan else Meeting.Kind.MULTI_AGENCY


def deadline_working_days(child_on_plan: bool) -> int:
    return settings.ESCALATION_DAYS_ON_PLAN if child_on_plan else settings.ESCALATION_DAYS_NO_PLAN


def due_date(trigger_date: datetime.date, working_days: int) -> datetime.date:
    """Day 0 is the trigger date; the meeting is due by the end of day N."""
    return add_working_days(trigger_date, working_days)


def state_on(escalation: Escalation, today: datetime.date) -> str:
    """What an active escalation's state should be today: open, or overdue once the
    end of its due date has passed. Met, met late and cancelled are final."""
    if escalation.state not in Escalation.ACTIVE_STATES:
        return escalation.state
    return Escalation.State.OVERDUE if escalation.is_overdue(today) else Escalation.State.OPEN


def meeting_outcome(escalation: Escalation, meeting: Meeting) -> str | None:
    """Met, met late, or None if this meeting cannot meet this escalation."""
    if meeting.in_error or meeting.kind != escalation.required_meeting:
        return None
    if meeting.held_on < escalation.trigger_date:
        return None
    if meeting.held_on <= escalation.due_date:
        return Escalation.State.MET
    return Escalation.State.MET_LATE


def is_reminder_day(escalation: Escalation, today: datetime.date) -> bool:
    """The working day before the deadline is the day to remind. If no sweep ran that
    day, the reminder still goes on any later day up to the deadline itself."""
    if escalation.state != Escalation.State.OPEN or today > escalation.due_date:
        return False
    if today == escalation.due_date:
        return True
    return is_working_day(today) and add_working_days(today, 1) == escalation.due_date
