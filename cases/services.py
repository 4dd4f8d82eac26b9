"""Writes to the case record. Each takes the acting user as `actor` and keeps history.

Services validate what the database cannot (dates against other rows, who may do
what) and raise ValidationError with field names, so pages and the API show the
message beside the field. Nothing here deletes a row.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts import policy, roles
from accounts.services import Message, notify

from . import rules, signals
from .models import (
    Address,
    Case,
    CaseReferenceCounter,
    ChildProtectionPlan,
    Escalation,
    Hazard,
    Meeting,
    Membership,
    Person,
)
from .queries import case_has_child_on_plan as queries_case_has_child_on_plan
from .validators import normalise_nhs_number, normalise_postcode, normalise_upn


def _acting(obj, actor):
    """Name the acting user on `obj` for the history rows written for it: by its save,
    and by simple_history on a change to a many-to-many field it keeps (who is allocated,
    who may see a restricted case), which writes a version of `obj` at once, outside a
    request with no user unless one is named here. Call it before any such change."""
    obj._history_user = actor
    return obj


def _save(obj, actor, **kwargs):
    """Save with the acting user recorded on the history row."""
    _acting(obj, actor)
    obj.full_clean(validate_unique=False, validate_constraints=False)
    obj.save(**kwargs)
    return obj


def _today(now: datetime.datetime) -> datetime.date:
    return timezone.localdate(now)


def _require_open(case: Case, doing: str):
    # Read the status now: the instance passed in may have been loaded before a close.
    if not Case.objects.filter(pk=case.pk, status=Case.Status.OPEN).exists():
        raise ValidationError(f"This case is closed: reopen it before {doing}")


def _require_not_in_error(record):
    if record.in_error:
        raise ValidationError("This was recorded in error and cannot be changed")


def _not_future(day: datetime.date, now, field: str, label: str):
    if day > _today(now):
        raise ValidationError({field: f"{label} must be today or in the past"})


# --- Case -----------------------------------------------------------------------------


def next_case_reference(year: int) -> str:
    """Issue the next reference of a year, safely when many cases are opened at once.

    One upsert statement increments the year's counter and returns the new number,
    so two transactions never get the same one (the row lock serialises them).
    """
    table = CaseReferenceCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (year, last_number) VALUES (%s, 1) "
            f"ON CONFLICT (year) DO UPDATE SET last_number = {table}.last_number + 1 "
            "RETURNING last_number",
            [year],
        )
        (number,) = cursor.fetchone()
    return f"SG-{year}-{number:05d}"


@transaction.atomic
def case_create(
    *,
    actor,
    family_name: str,
    team,
    summary: str,
    opened_on: datetime.date,
    allocated_workers=(),
    restricted: bool = False,
    restricted_to=(),
    now: datetime.datetime | None = None,
) -> Case:
    now = now or timezone.now()
    _not_future(opened_on, now, "opened_on", "The date the case opened")
    case = Case(
        reference=next_case_reference(opened_on.year),
        family_name=family_name.strip(),
        team=team,
        summary=summary.strip(),
        opened_on=opened_on,
        restricted=restricted,
        created_at=now,
        created_by=actor,
    )
    _save(case, actor)
    workers = list(allocated_workers)
    case.allocated_workers.set(workers)
    if restricted:
        # The people who open and work a restricted case can always see it.
        case.restricted_to.set({*restricted_to, *workers, actor})
    _save(case, actor)
    signals.case_opened.send(sender=Case, case=case, actor=actor, now=now)
    return case


@transaction.atomic
def case_update(*, actor, case: Case, family_name: str, summary: str, team=None) -> Case:
    case = Case.objects.select_for_update().get(pk=case.pk)
    case.family_name = family_name.strip()
    case.summary = summary.strip()
    if team is not None:
        case.team = team
    return _save(case, actor)


@transaction.atomic
def case_allocate(*, actor, case: Case, workers) -> Case:
    if not policy.can_allocate_case(actor, case):
        raise PermissionDenied("Only a manager can allocate workers")
    case = Case.objects.select_for_update().get(pk=case.pk)
    workers = list(workers)
    outside = [w for w in workers if w.team_id != case.team_id]
    if outside:
        raise ValidationError({"workers": f"{outside[0]} is not in {case.team}"})
    _acting(case, actor)
    case.allocated_workers.set(workers)
    if case.restricted:
        case.restricted_to.add(*workers)
    return _save(case, actor)


@transaction.atomic
def case_set_restriction(*, actor, case: Case, restricted: bool, named_users) -> Case:
    if not policy.can_manage_restriction(actor, case):
        raise PermissionDenied("Only a manager can change who may see a case")
    case = Case.objects.select_for_update().get(pk=case.pk)
    named = set(named_users)
    if restricted:
        named |= set(case.allocated_workers.all())
        if actor not in named:
            named.add(actor)
    case.restricted = restricted
    _acting(case, actor)
    case.restricted_to.set(named if restricted else [])
    return _save(case, actor)


@transaction.atomic
def case_close(
    *, actor, case: Case, closed_on: datetime.date, reason: str, notes: str = "", now=None
) -> Case:
    now = now or timezone.now()
    if not policy.can_close_case(actor, case):
        raise PermissionDenied("Only an allocated worker or a manager can close this case")
    case = Case.objects.select_for_update().get(pk=case.pk)
    if not case.is_open:
        raise ValidationError("This case is already closed")
    _not_future(closed_on, now, "closed_on", "The closing date")
    if closed_on < case.opened_on:
        raise ValidationError(
            {
                "closed_on": "The closing date must be on or after the date "
                f"the case opened ({case.opened_on:%d/%m/%Y})"
            }
        )
    if reason not in Case.ClosureReason.values:
        raise ValidationError({"reason": "Select why the case is closing"})
    open_plans = ChildProtectionPlan.objects.filter(
        case=case, end_date__isnull=True, in_error=False
    )
    if open_plans.exists():
        raise ValidationError("End the child protection plans on this case before closing it")
    case.status = Case.Status.CLOSED
    case.closed_on = closed_on
    case.closure_reason = reason
    case.closure_notes = notes.strip()
    _save(case, actor)
    signals.case_closed.send(sender=Case, case=case, actor=actor, now=now)
    return case


@transaction.atomic
def case_reopen(*, actor, case: Case, reason: str, now=None) -> Case:
    now = now or timezone.now()
    if not policy.can_reopen_case(actor, case):
        raise PermissionDenied("Only a manager can reopen a case")
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.is_open:
        raise ValidationError("This case is already open")
    if not reason.strip():
        raise ValidationError({"reason": "Enter why the case is being reopened"})
    case.status = Case.Status.OPEN
    case.closure_notes = (
        f"{case.closure_notes}\n\nReopened {_today(now):%d/%m/%Y}: {reason.strip()}".strip()
    )
    case.closed_on = None
    case.closure_reason = ""
    case._change_reason = f"Reopened: {reason.strip()}"[:100]
    _save(case, actor)
    signals.case_reopened.send(sender=Case, case=case, actor=actor, now=now)
    return case


# --- Person ---------------------------------------------------------------------------

PERSON_FIELDS = (
    "first_name",
    "middle_names",
    "last_name",
    "aliases",
    "date_of_birth",
    "expected_date_of_birth",
    "sex",
    "gender",
    "ethnicity",
    "first_language",
    "interpreter_needed",
    "disability",
    "nhs_number",
    "upn",
    "la_child_id",
)


def _clean_person(person: Person, now):
    person.nhs_number = normalise_nhs_number(person.nhs_number)
    person.upn = normalise_upn(person.upn)
    if person.date_of_birth and person.expected_date_of_birth:
        raise ValidationError(
            {
                "expected_date_of_birth": "Give a date of birth or an expected date of birth, "
                "not both"
            }
        )
    if person.date_of_birth:
        _not_future(person.date_of_birth, now, "date_of_birth", "Date of birth")
    errors = {}
    if (
        person.nhs_number
        and Person.objects.filter(nhs_number=person.nhs_number).exclude(pk=person.pk).exists()
    ):
        errors["nhs_number"] = "Another person already has this NHS number: search for them"
    if person.upn and Person.objects.filter(upn=person.upn).exclude(pk=person.pk).exists():
        errors["upn"] = "Another person already has this UPN: search for them"
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def person_create(*, actor, now=None, **fields) -> Person:
    now = now or timezone.now()
    unknown = set(fields) - set(PERSON_FIELDS)
    if unknown:
        raise TypeError(f"Unknown person fields: {sorted(unknown)}")
    person = Person(created_at=now, created_by=actor, **fields)
    _clean_person(person, now)
    return _save(person, actor)


@transaction.atomic
def person_update(*, actor, person: Person, now=None, **fields) -> Person:
    now = now or timezone.now()
    person = Person.objects.select_for_update().get(pk=person.pk)
    for name, value in fields.items():
        if name not in PERSON_FIELDS:
            raise TypeError(f"Unknown person field: {name}")
        setattr(person, name, value)
    _clean_person(person, now)
    return _save(person, actor)


# --- Membership -----------------------------------------------------------------------


@transaction.atomic
def membership_add(
    *,
    actor,
    case: Case,
    person: Person,
    relationship: str,
    start_date: datetime.date,
    lives_in_household: bool = True,
    now=None,
) -> Membership:
    now = now or timezone.now()
    case = Case.objects.select_for_update().get(pk=case.pk)
    _require_open(case, "adding people")
    _not_future(start_date, now, "start_date", "The date they joined")
    if Membership.objects.filter(
        case=case, person=person, end_date__isnull=True, in_error=False
    ).exists():
        raise ValidationError({"person": f"{person.full_name} is already on this case"})
    previous = Membership.objects.filter(
        case=case, person=person, in_error=False, end_date__gte=start_date
    )
    if previous.exists():
        raise ValidationError(
            {
                "start_date": "They were on this case until "
                f"{previous.latest('end_date').end_date:%d/%m/%Y}: "
                "the new date must be after that"
            }
        )
    membership = Membership(
        case=case,
        person=person,
        relationship=relationship,
        lives_in_household=lives_in_household,
        start_date=start_date,
    )
    _save(membership, actor)
    signals.member_joined.send(sender=Membership, membership=membership, actor=actor, now=now)
    return membership


@transaction.atomic
def membership_end(
    *, actor, membership: Membership, end_date: datetime.date, reason: str = "", now=None
) -> Membership:
    now = now or timezone.now()
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    _require_not_in_error(membership)
    if membership.end_date is not None:
        raise ValidationError("This person has already left")
    _not_future(end_date, now, "end_date", "The date they left")
    if end_date < membership.start_date:
        raise ValidationError(
            {
                "end_date": "The date they left must be on or after the date they joined "
                f"({membership.start_date:%d/%m/%Y})"
            }
        )
    membership.end_date = end_date
    membership.end_reason = reason.strip()
    _save(membership, actor)
    signals.member_left.send(sender=Membership, membership=membership, actor=actor, now=now)
    return membership


@transaction.atomic
def membership_set_household(
    *, actor, membership: Membership, lives_in_household: bool, now=None
) -> Membership:
    now = now or timezone.now()
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    _require_not_in_error(membership)
    if membership.lives_in_household == lives_in_household:
        return membership
    membership.lives_in_household = lives_in_household
    _save(membership, actor)
    signals.member_changed.send(sender=Membership, membership=membership, actor=actor, now=now)
    return membership


# --- Address --------------------------------------------------------------------------


@transaction.atomic
def address_add(
    *,
    actor,
    case: Case,
    line_1: str,
    town: str,
    postcode: str,
    start_date: datetime.date,
    line_2: str = "",
    now=None,
) -> Address:
    """The family's new address from `start_date`; the previous one ends the day before."""
    now = now or timezone.now()
    case = Case.objects.select_for_update().get(pk=case.pk)
    _require_open(case, "recording a move")
    _not_future(start_date, now, "start_date", "The date they moved in")
    previous = Address.objects.filter(case=case, end_date__isnull=True, in_error=False).first()
    if previous is not None:
        if start_date <= previous.start_date:
            raise ValidationError(
                {
                    "start_date": "The move must be after they moved to the current address "
                    f"({previous.start_date:%d/%m/%Y})"
                }
            )
        previous.end_date = start_date - datetime.timedelta(days=1)
        _save(previous, actor)
    address = Address(
        case=case,
        line_1=line_1.strip(),
        line_2=line_2.strip(),
        town=town.strip(),
        postcode=normalise_postcode(postcode),
        start_date=start_date,
    )
    _save(address, actor)
    signals.address_changed.send(
        sender=Address, address=address, previous=previous, actor=actor, now=now
    )
    return address


@transaction.atomic
def address_end(*, actor, address: Address, end_date: datetime.date, now=None) -> Address:
    """The family left this address and where they went is not known."""
    now = now or timezone.now()
    address = Address.objects.select_for_update().get(pk=address.pk)
    _require_not_in_error(address)
    if address.end_date is not None:
        raise ValidationError("This address has already ended")
    _not_future(end_date, now, "end_date", "The date they left")
    if end_date < address.start_date:
        raise ValidationError(
            {
                "end_date": "The date they left must be on or after the date "
                f"they moved in ({address.start_date:%d/%m/%Y})"
            }
        )
    address.end_date = end_date
    _save(address, actor)
    signals.address_changed.send(
        sender=Address, address=None, previous=address, actor=actor, now=now
    )
    return address


# --- Child protection plans -----------------------------------------------------------


@transaction.atomic
def plan_start(
    *, actor, case: Case, child: Person, category: str, start_date: datetime.date, now=None
) -> ChildProtectionPlan:
    now = now or timezone.now()
    _require_open(case, "starting a plan")
    _not_future(start_date, now, "start_date", "The plan start date")
    # Lock the child so two plans cannot start for them at once.
    Person.objects.select_for_update().get(pk=child.pk)
    if not Membership.objects.filter(
        Membership.active_on_q(start_date),
        case=case,
        person=child,
        relationship=Membership.Relationship.CHILD,
    ).exists():
        raise ValidationError(
            {"child": "A plan can only start for a child on this case on the start date"}
        )
    plans = ChildProtectionPlan.objects.filter(child=child, in_error=False)
    if plans.filter(end_date__isnull=True).exists():
        raise ValidationError({"child": f"{child.full_name} is already subject to a plan"})
    if plans.filter(end_date__gte=start_date).exists():
        raise ValidationError({"start_date": "This overlaps an earlier plan for this child"})
    plan = ChildProtectionPlan(case=case, child=child, category=category, start_date=start_date)
    _save(plan, actor)
    signals.plan_started.send(sender=ChildProtectionPlan, plan=plan, actor=actor, now=now)
    return plan


@transaction.atomic
def plan_end(
    *, actor, plan: ChildProtectionPlan, end_date: datetime.date, reason: str = "", now=None
) -> ChildProtectionPlan:
    now = now or timezone.now()
    plan = ChildProtectionPlan.objects.select_for_update().get(pk=plan.pk)
    _require_not_in_error(plan)
    if not plan.is_open:
        raise ValidationError("This plan has already ended")
    _not_future(end_date, now, "end_date", "The plan end date")
    if end_date < plan.start_date:
        raise ValidationError(
            {"end_date": f"The plan cannot end before it started ({plan.start_date:%d/%m/%Y})"}
        )
    plan.end_date = end_date
    plan.end_reason = reason.strip()
    _save(plan, actor)
    signals.plan_ended.send(sender=ChildProtectionPlan, plan=plan, actor=actor, now=now)
    return plan


# --- Hazards --------------------------------------------------------------------------


@transaction.atomic
def hazard_add(
    *,
    actor,
    kind: str,
    details: str,
    start_date: datetime.date,
    case: Case | None = None,
    person: Person | None = None,
    end_date: datetime.date | None = None,
    now=None,
) -> Hazard:
    now = now or timezone.now()
    if (case is None) == (person is None):
        raise ValidationError("A hazard is about a case or about one person")
    if case is not None:
        _require_open(case, "adding a hazard")
    if end_date is not None and end_date < start_date:
        raise ValidationError({"end_date": "The end date must be on or after the start date"})
    hazard = Hazard(
        case=case,
        person=person,
        kind=kind,
        details=details.strip(),
        start_date=start_date,
        end_date=end_date,
        created_at=now,
        created_by=actor,
    )
    _save(hazard, actor)
    signals.hazard_added.send(sender=Hazard, hazard=hazard, actor=actor, now=now)
    return hazard


@transaction.atomic
def hazard_end(*, actor, hazard: Hazard, end_date: datetime.date, now=None) -> Hazard:
    now = now or timezone.now()
    hazard = Hazard.objects.select_for_update().get(pk=hazard.pk)
    _require_not_in_error(hazard)
    if hazard.end_date is not None and hazard.end_date <= _today(now):
        raise ValidationError("This hazard has already ended")
    if end_date < hazard.start_date:
        raise ValidationError(
            {
                "end_date": "The end date must be on or after the start date "
                f"({hazard.start_date:%d/%m/%Y})"
            }
        )
    hazard.end_date = end_date
    _save(hazard, actor)
    signals.hazard_ended.send(sender=Hazard, hazard=hazard, actor=actor, now=now)
    return hazard


# --- Recorded in error ----------------------------------------------------------------

IN_ERROR_MODELS = (Membership, Address, ChildProtectionPlan, Hazard, Meeting)


@transaction.atomic
def record_mark_in_error(*, actor, record, reason: str, now=None):
    """Keep a wrong record but take it out of every current view, with the reason.

    A meeting recorded in error met nothing: the escalations it met are worked out
    again in the same transaction (`_escalations_unmet`)."""
    now = now or timezone.now()
    if not isinstance(record, IN_ERROR_MODELS):
        raise TypeError(f"{type(record).__name__} cannot be marked recorded in error")
    if isinstance(record, Meeting) and not policy.can_edit_case(actor, record.case):
        raise PermissionDenied
    if not reason.strip():
        raise ValidationError({"reason": "Enter why this was recorded in error"})
    record = type(record).objects.select_for_update().get(pk=record.pk)
    if record.in_error:
        raise ValidationError("This is already marked as recorded in error")
    record.in_error = True
    record.in_error_reason = reason.strip()
    record.in_error_at = now
    record.in_error_by = actor
    record._change_reason = "Recorded in error"
    _save(record, actor)
    # Sent while the escalations still name the meeting: their "met" entries are struck.
    signals.record_in_error.send(sender=type(record), instance=record, actor=actor, now=now)
    if isinstance(record, Meeting):
        _escalations_unmet(record, actor=actor, now=now)
    return record


# --- Meetings and escalations -----------------------------------------------------------


def _escalation_recipients(case: Case, *, overdue: bool = False):
    """Who hears about an escalation: the allocated workers and the team's managers;
    once overdue, the team's managers and the service managers. On a restricted case
    only those named on it; if none of the usual people is named, the named people, so
    that someone who may see it is told."""
    return _escalation_recipients_by_case([case], overdue=overdue)[case.pk]


def _escalation_recipients_by_case(cases, *, overdue: bool = False) -> dict:
    """`_escalation_recipients` for many cases at once, in a few queries whatever their
    number: {case id: [users]}."""
    from accounts.models import User

    cases = list({case.pk: case for case in cases}.values())
    managers: dict[int, list] = {}
    for user in User.objects.filter(
        is_active=True, groups__name=roles.TEAM_MANAGER, team_id__in={c.team_id for c in cases}
    ).distinct():
        managers.setdefault(user.team_id, []).append(user)
    service = (
        list(User.objects.filter(is_active=True, groups__name=roles.SERVICE_MANAGER).distinct())
        if overdue
        else []
    )

    def users_by_case(through, case_ids):
        found: dict[int, list] = {}
        if case_ids:
            for row in through.objects.filter(
                case_id__in=case_ids, user__is_active=True
            ).select_related("user"):
                found.setdefault(row.case_id, []).append(row.user)
        return found

    workers = (
        {} if overdue else users_by_case(Case.allocated_workers.through, [c.pk for c in cases])
    )
    named = users_by_case(Case.restricted_to.through, [c.pk for c in cases if c.restricted])
    result = {}
    for case in cases:
        team = managers.get(case.team_id, [])
        people = [*team, *service] if overdue else [*workers.get(case.pk, []), *team]
        if case.restricted:
            allowed = {u.pk for u in named.get(case.pk, [])}
            people = [u for u in people if u.pk in allowed] or named.get(case.pk, [])
        result[case.pk] = list({u.pk: u for u in people}.values())
    return result


def _escalation_message(escalation: Escalation, event: str, recipients=None) -> Message:
    """What the people who hear of an escalation are told when it fires, the working day
    before its deadline ("reminder") and once it is overdue."""
    case = escalation.case
    meeting = escalation.get_required_meeting_display().lower()
    due = f"{escalation.due_date:%A %d %B %Y}"
    texts = {
        "fired": (
            f"Escalation on {case.reference}: {meeting} due by {due}",
            f"{escalation.reason}\n\nA {meeting} must be held by the end of {due} "
            f"({escalation.working_days} working days).",
        ),
        "reminder": (
            f"Reminder: {meeting} for {case.reference} is due tomorrow",
            f"The {meeting} for {case.reference} is due by the end of {due} and has "
            "not been recorded yet.",
        ),
        "overdue": (
            f"Overdue: {meeting} for {case.reference} was due {due}",
            f"No {meeting} was recorded for {case.reference} by the end of {due}. "
            f"The escalation fired on {escalation.trigger_date:%d %B %Y}: "
            f"{escalation.reason}",
        ),
    }
    subject, body = texts[event]
    if recipients is None:
        recipients = _escalation_recipients(case, overdue=event == "overdue")
    return Message(
        recipients=recipients,
        event_key=f"escalation:{escalation.pk}:{event}",
        subject=subject,
        body=body,
        link=f"/cases/{case.pk}/",
        case_id=case.pk,
    )


@transaction.atomic
def escalation_open(
    *,
    case: Case,
    kind: str,
    trigger_date: datetime.date,
    reason: str,
    actor=None,
    trigger_count: int | None = None,
    now=None,
) -> Escalation | None:
    """Start the clock (R1-R3). Returns None if one of this kind is already active.

    Whether a child is on a plan on the trigger date picks the meeting and the
    deadline; both are fixed on the escalation. Safe under concurrency: the
    database allows one active escalation per case and kind. The escalation and its
    notifications are written in one transaction: nothing fires without being heard.
    """
    now = now or timezone.now()
    if kind == Escalation.Kind.NON_COMPLIANCE:
        if actor is None or not policy.can_raise_escalation(actor, case):
            raise PermissionDenied(
                "Only a worker or manager who can see the case can raise an escalation"
            )
        if not reason.strip():
            raise ValidationError({"reason": "Enter the non-compliance concern"})
        _not_future(trigger_date, now, "trigger_date", "The date of the concern")
    _require_open(case, "raising an escalation")
    on_plan = queries_case_has_child_on_plan(case.pk, trigger_date)
    days = rules.deadline_working_days(on_plan)
    escalation = Escalation(
        case=case,
        kind=kind,
        trigger_date=trigger_date,
        child_on_plan=on_plan,
        required_meeting=rules.required_meeting(on_plan),
        working_days=days,
        due_date=rules.due_date(trigger_date, days),
        reason=reason.strip(),
        trigger_count=trigger_count,
        raised_by=actor,
        created_at=now,
    )
    escalation.state = rules.state_on(escalation, timezone.localdate(now))
    if escalation.state == Escalation.State.OVERDUE:
        escalation.overdue_at = now  # fired already past its deadline (recorded late)
    try:
        with transaction.atomic():
            escalation._history_user = actor
            escalation.save()
    except IntegrityError:
        return None  # another evaluation got there first
    events = ["fired"] + (["overdue"] if escalation.state == Escalation.State.OVERDUE else [])
    notify([_escalation_message(escalation, event) for event in events], now=now)
    signals.escalation_changed.send(sender=Escalation, escalation=escalation, actor=actor, now=now)
    return escalation


@transaction.atomic
def escalation_cancel(*, actor, escalation: Escalation, reason: str, now=None) -> Escalation:
    now = now or timezone.now()
    if not (actor.is_manager and policy.can_view_case(actor, escalation.case)):
        raise PermissionDenied("Only a manager can cancel an escalation")
    if not reason.strip():
        raise ValidationError({"reason": "Enter why the escalation is being cancelled"})
    escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
    if not escalation.is_active:
        state = escalation.get_state_display().lower()
        raise ValidationError(f"This escalation is already {state}")
    escalation.state = Escalation.State.CANCELLED
    escalation.cancelled_by = actor
    escalation.cancelled_reason = reason.strip()
    escalation.closed_at = now
    escalation._history_user = actor
    escalation.save()
    signals.escalation_changed.send(sender=Escalation, escalation=escalation, actor=actor, now=now)
    return escalation


def escalation_refresh(escalation_id: int, *, now=None) -> Escalation | None:
    """Recompute one active escalation from its dates and meetings, not from its stored
    state: a closure day added since it fired moves the deadline; a meeting that meets
    it closes it; a passed deadline makes it overdue (notifying managers once); the
    working day before the deadline queues a reminder once.

    Runs under a row lock taken with SKIP LOCKED, so two sweeps never work on the same
    escalation; notifications are rows, sent after commit.
    """
    refreshed = escalations_refresh([escalation_id], now=now)
    return refreshed[0][0] if refreshed else None


def escalations_refresh(ids, *, now=None) -> list[tuple[Escalation, str]]:
    """`escalation_refresh` for many escalations at once, in statements whose number does
    not grow with theirs: one statement locks them (SKIP LOCKED: rows another sweep
    holds are left to it), one reads the meetings that could meet them, deadlines are
    worked out once per trigger date, the changed rows are written (with their history)
    in one statement, the recipients of their notifications read once per event, the
    notifications of every one gone overdue or reminded written in one statement, and
    those gone overdue are announced together (`escalations_changed`).

    Returns each escalation this call held the lock on, with its state before."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        rows = list(
            Escalation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("case")
            .filter(pk__in=list(ids), state__in=Escalation.ACTIVE_STATES)
            .order_by("pk")
        )
        if not rows:
            return []
        before = [(escalation, escalation.state) for escalation in rows]
        meetings: dict[tuple[int, str], list[Meeting]] = {}
        for meeting in Meeting.objects.filter(
            case_id__in={e.case_id for e in rows},
            in_error=False,
            held_on__gte=min(e.trigger_date for e in rows),
        ).order_by("held_on", "id"):
            meetings.setdefault((meeting.case_id, meeting.kind), []).append(meeting)
        deadlines: dict[tuple[datetime.date, int], datetime.date] = {}
        reminder_days: dict[tuple[str, datetime.date], bool] = {}
        to_save, overdue, reminders = [], [], []
        for escalation in rows:
            key = (escalation.trigger_date, escalation.working_days)
            if key not in deadlines:
                deadlines[key] = rules.due_date(*key)
            changed = False
            if deadlines[key] != escalation.due_date:
                escalation.due_date, changed = deadlines[key], True
            meeting = next(
                (
                    m
                    for m in meetings.get((escalation.case_id, escalation.required_meeting), ())
                    if rules.meeting_outcome(escalation, m)
                ),
                None,
            )
            if meeting is not None:
                _close_met(escalation, meeting, now)
                continue
            state = rules.state_on(escalation, today)
            if state != escalation.state:
                if state == Escalation.State.OVERDUE:
                    escalation.overdue_at = now
                    overdue.append(escalation)
                escalation.state, changed = state, True
            # The rule reads the calendar; it depends on the state and deadline only.
            reminder_key = (escalation.state, escalation.due_date)
            if reminder_key not in reminder_days:
                reminder_days[reminder_key] = rules.is_reminder_day(escalation, today)
            if reminder_days[reminder_key] and escalation.reminder_queued_at is None:
                escalation.reminder_queued_at, changed = now, True
                reminders.append(escalation)
            if changed:
                to_save.append(escalation)
        if to_save:
            from simple_history.utils import bulk_update_with_history

            bulk_update_with_history(
                to_save,
                Escalation,
                ["due_date", "state", "overdue_at", "reminder_queued_at"],
                default_user=None,
            )
        messages = []
        for event, escalations in (("overdue", overdue), ("reminder", reminders)):
            if escalations:
                people = _escalation_recipients_by_case(
                    [e.case for e in escalations], overdue=event == "overdue"
                )
                messages += [_escalation_message(e, event, people[e.case_id]) for e in escalations]
        notify(messages, now=now)
        if overdue:
            signals.escalations_changed.send(
                sender=Escalation, escalations=overdue, actor=None, now=now
            )
    return before


def _close_met(escalation: Escalation, meeting: Meeting, now, actor=None):
    escalation.state = rules.meeting_outcome(escalation, meeting)
    escalation.met_by = meeting
    escalation.met_on = meeting.held_on
    escalation.closed_at = now
    escalation._history_user = actor
    escalation.save()
    signals.escalation_changed.send(sender=Escalation, escalation=escalation, actor=actor, now=now)


UNMET_REASON = "Meeting recorded in error"


def _escalations_unmet(meeting: Meeting, *, actor, now):
    """The escalations `meeting` met were not met by it after all. Each is met by the
    first other meeting of its kind held on or after the day it fired, if there is one
    (`rules.meeting_outcome`); otherwise it is active again, open or overdue by its
    dates (`rules.state_on`), and its people are told if that makes it overdue.

    Only one escalation of a kind may be active on a case: if a newer one of the same
    kind is active, that one carries the concern on, and the old one is closed as
    cancelled with the reason, by the person who marked the meeting. Each change is
    saved with its history by `actor` and announced (`escalation_changed`)."""
    today = _today(now)
    for escalation in (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("case")
        .filter(met_by=meeting)
        .order_by("pk")
    ):
        escalation.due_date = rules.due_date(escalation.trigger_date, escalation.working_days)
        other = next(
            (
                m
                for m in Meeting.objects.filter(
                    case_id=escalation.case_id,
                    kind=escalation.required_meeting,
                    in_error=False,
                    held_on__gte=escalation.trigger_date,
                ).order_by("held_on", "id")
                if rules.meeting_outcome(escalation, m)
            ),
            None,
        )
        escalation._change_reason = UNMET_REASON
        if other is not None:
            escalation._change_reason = f"{UNMET_REASON}; met by the {other}"[:100]
            _close_met(escalation, other, now, actor=actor)
            continue
        escalation.met_by = None
        escalation.met_on = None
        escalation.closed_at = None
        newer = (
            Escalation.objects.filter(
                case_id=escalation.case_id, kind=escalation.kind, state__in=Escalation.ACTIVE_STATES
            )
            .exclude(pk=escalation.pk)
            .first()
        )
        events = []
        if newer is not None:
            escalation.state = Escalation.State.CANCELLED
            escalation.cancelled_by = actor
            escalation.cancelled_reason = (
                f"{UNMET_REASON} ({meeting}: {meeting.in_error_reason}). The escalation "
                f"due {newer.due_date:%d/%m/%Y} is active for the same concern."
            )
            escalation.closed_at = now
        else:
            escalation.state = Escalation.State.OPEN
            escalation.state = rules.state_on(escalation, today)
            if escalation.state == Escalation.State.OVERDUE and escalation.overdue_at is None:
                escalation.overdue_at = now
                events.append("overdue")
        escalation._history_user = actor
        escalation.save()
        notify([_escalation_message(escalation, event) for event in events], now=now)
        signals.escalation_changed.send(
            sender=Escalation, escalation=escalation, actor=actor, now=now
        )


@transaction.atomic
def meeting_record(
    *,
    actor,
    case: Case,
    kind: str,
    held_on: datetime.date,
    chair: str,
    decisions: str,
    actions: str = "",
    staff_attendees=(),
    agencies=(),
    other_attendees: str = "",
    meets: Escalation | None = None,
    now=None,
) -> Meeting:
    """Record a meeting; it meets every active escalation on the case that asks for a
    meeting of its kind and fired on or before the day it was held."""
    now = now or timezone.now()
    if not policy.can_edit_case(actor, case):
        raise PermissionDenied
    _require_open(case, "recording a meeting")
    _not_future(held_on, now, "held_on", "The date of the meeting")
    if held_on < case.opened_on:
        raise ValidationError(
            {"held_on": f"The meeting cannot be before the case opened ({case.opened_on:%d/%m/%Y})"}
        )
    if meets is not None:
        if meets.case_id != case.pk:
            raise ValidationError({"meets": "That escalation is on another case"})
        if not meets.is_active:
            state = meets.get_state_display().lower()
            raise ValidationError({"meets": f"That escalation is already {state}"})
        if meets.required_meeting != kind:
            raise ValidationError(
                {"kind": f"That escalation needs a {meets.get_required_meeting_display().lower()}"}
            )
        if held_on < meets.trigger_date:
            raise ValidationError(
                {
                    "held_on": "A meeting held before the escalation fired "
                    f"({meets.trigger_date:%d/%m/%Y}) cannot meet it"
                }
            )
    meeting = Meeting(
        case=case,
        kind=kind,
        held_on=held_on,
        chair=chair.strip(),
        decisions=decisions.strip(),
        actions=actions.strip(),
        other_attendees=other_attendees.strip(),
        created_at=now,
        created_by=actor,
    )
    _save(meeting, actor)
    meeting.staff_attendees.set(staff_attendees)
    meeting.agencies.set(agencies)
    _save(meeting, actor)
    signals.meeting_recorded.send(sender=Meeting, meeting=meeting, actor=actor, now=now)
    active = Escalation.objects.select_for_update().filter(
        case=case,
        state__in=Escalation.ACTIVE_STATES,
        required_meeting=kind,
        trigger_date__lte=held_on,
    )
    for escalation in active:
        if rules.meeting_outcome(escalation, meeting):
            _close_met(escalation, meeting, now, actor=actor)
    return meeting


SWEEP_BATCH = 200  # escalations locked and recomputed together, in one transaction


def escalations_sweep(*, now=None) -> dict:
    """Every active escalation due within the next few days or already past due, found
    by the partial index on the stored deadline, is recomputed from its dates, a batch
    at a time (`escalations_refresh`). The window is wide enough to catch reminders
    before a long bank-holiday weekend."""
    from accounts.services import notifications_send_due

    now = now or timezone.now()
    today = timezone.localdate(now)
    horizon = today + datetime.timedelta(days=14)
    ids = list(
        Escalation.objects.filter(state__in=Escalation.ACTIVE_STATES, due_date__lte=horizon)
        .order_by("due_date", "id")
        .values_list("pk", flat=True)
    )
    changed = 0
    for start in range(0, len(ids), SWEEP_BATCH):
        refreshed = escalations_refresh(ids[start : start + SWEEP_BATCH], now=now)
        changed += sum(1 for escalation, before in refreshed if escalation.state != before)
    sent = notifications_send_due(now=now)
    return {"checked": len(ids), "changed": changed, "emails_sent": sent}
