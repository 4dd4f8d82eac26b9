"""Writes for visits. Each takes the acting user as `actor` and the time as `now`."""

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts import policy
from accounts.models import Agency, User
from cases import services as case_services
from cases.models import Case, Escalation, Membership, Person
from cases.services.base import require_open
from common.records import save as _save

from . import last_seen, rules, signals
from .models import ChildSeen, Observation, Visit


@dataclass
class ChildSeenInput:
    child: Person
    seen: bool
    seen_alone: bool = False
    reason_not_seen: str = ""
    bedroom_seen: bool | None = None
    child_views: str = ""
    presentation: str = ""


@dataclass
class ObservationInput:
    what_was_seen: str
    analysis: str = ""
    adult: Person | None = None
    child: Person | None = None


@dataclass
class Outcome:
    outcome: str
    occurred_at: datetime.datetime
    default_reason: str = ""
    children: list[ChildSeenInput] = field(default_factory=list)
    observations: list[ObservationInput] = field(default_factory=list)
    present_members: list[Person] = field(default_factory=list)
    others_present: str = ""
    parent_report: str = ""
    notes: str = ""


def household_on(case: Case, day: datetime.date) -> QuerySet[Membership]:
    """Memberships of people living in the household on a day."""
    return Membership.objects.filter(
        Membership.active_on_q(day), case=case, lives_in_household=True
    ).select_related("person")


def children_in_household(case: Case, day: datetime.date) -> list[Person]:
    return [
        m.person for m in household_on(case, day) if m.relationship == Membership.Relationship.CHILD
    ]


@transaction.atomic
def visit_plan(
    *,
    actor: User,
    case: Case,
    planned_for: datetime.datetime,
    kind: str = Visit.Kind.HOME,
    announced: bool = True,
    lead_worker: User | None = None,
    joint_worker: User | None = None,
    joint_agency: Agency | None = None,
    purpose: str = "",
    now: datetime.datetime | None = None,
) -> Visit:
    now = now or timezone.now()
    if not policy.can_edit_case(actor, case):
        raise PermissionDenied
    case = Case.objects.select_for_update().get(pk=case.pk)
    if not case.is_open:
        raise ValidationError("This case is closed: reopen it before planning a visit")
    if timezone.localdate(planned_for) < case.opened_on:
        raise ValidationError(
            {
                "planned_for": "The visit cannot be before the case opened "
                f"({case.opened_on:%d/%m/%Y})"
            }
        )
    lead_worker = lead_worker or actor
    if joint_worker is not None and joint_worker == lead_worker:
        raise ValidationError({"joint_worker": "The joint visitor must be someone else"})
    visit = Visit(
        case=case,
        planned_for=planned_for,
        kind=kind,
        announced=announced,
        lead_worker=lead_worker,
        joint_worker=joint_worker,
        joint_agency=joint_agency,
        purpose=purpose.strip(),
        created_at=now,
        created_by=actor,
    )
    _save(visit, actor)
    signals.visit_planned.send(sender=Visit, visit=visit, actor=actor, now=now)
    return visit


def _validate_outcome(visit: Visit, data: Outcome, now: datetime.datetime) -> None:
    errors: dict[str, str] = {}
    if data.outcome not in (
        Visit.Outcome.COMPLETED,
        Visit.Outcome.DEFAULTED,
        Visit.Outcome.CANCELLED_BY_WORKER,
    ):
        errors["outcome"] = "Select what happened"
    if data.occurred_at > now:
        errors["occurred_at"] = "The time of the visit must be now or in the past"
    elif timezone.localdate(data.occurred_at) < visit.case.opened_on:
        errors["occurred_at"] = (
            f"The visit cannot be before the case opened ({visit.case.opened_on:%d/%m/%Y})"
        )
    if data.outcome == Visit.Outcome.DEFAULTED:
        if data.default_reason not in Visit.DefaultReason.values:
            errors["default_reason"] = "Select how the family defeated the visit"
    elif data.default_reason:
        errors["default_reason"] = "Only a defaulted visit has a reason for the default"
    if errors:
        raise ValidationError(errors)
    completed = data.outcome == Visit.Outcome.COMPLETED
    if not completed and any(c.seen for c in data.children):
        raise ValidationError({"children": "A child can only be seen on a completed visit"})
    # Children rows are saved whatever the outcome, so each is checked whatever it is.
    day = timezone.localdate(data.occurred_at)
    household = {p.pk for p in children_in_household(visit.case, day)}
    for i, child in enumerate(data.children):
        if child.child.pk not in household:
            raise ValidationError(
                {
                    f"children-{i}": f"{child.child.full_name} was not living in "
                    f"the household on {day:%d/%m/%Y}"
                }
            )
        if child.seen_alone and not child.seen:
            raise ValidationError(
                {
                    f"children-{i}": f"{child.child.full_name} cannot be seen "
                    "alone without being seen"
                }
            )
        if completed and not child.seen and not child.reason_not_seen.strip():
            raise ValidationError(
                {f"children-{i}": f"Say why {child.child.full_name} was not seen"}
            )
    members = {m.person_id for m in household_on(visit.case, day)} | {
        m.person_id for m in Membership.objects.filter(Membership.active_on_q(day), case=visit.case)
    }
    for person in data.present_members:
        if person.pk not in members:
            raise ValidationError({"present_members": f"{person.full_name} is not on this case"})


@transaction.atomic
@last_seen.deferred()
def visit_record(
    *, actor: User, visit: Visit, data: Outcome, now: datetime.datetime | None = None
) -> Visit:
    """Record what happened, also after the fact with the real time. Saves it all or
    nothing; then the defaulted-visits rule is evaluated once the transaction commits."""
    now = now or timezone.now()
    visit = Visit.objects.select_for_update().select_related("case").get(pk=visit.pk)
    if not policy.can_edit_case(actor, visit.case):
        raise PermissionDenied
    if not visit.case.is_open:
        raise ValidationError("This case is closed: reopen it before recording a visit")
    if visit.in_error:
        raise ValidationError("This visit was recorded in error")
    _validate_outcome(visit, data, now)
    visit.outcome = data.outcome
    visit.occurred_at = data.occurred_at
    visit.default_reason = data.default_reason if data.outcome == Visit.Outcome.DEFAULTED else ""
    visit.others_present = data.others_present.strip()
    visit.parent_report = data.parent_report.strip()
    visit.notes = data.notes.strip()
    visit.outcome_recorded_at = now
    visit.outcome_recorded_by = actor
    _save(visit, actor)
    visit.present_members.set(data.present_members)
    existing = {c.child_id: c for c in visit.children.all()}
    for item in data.children:
        row = existing.get(item.child.pk) or ChildSeen(visit=visit, child=item.child)
        row.seen = item.seen
        row.seen_alone = item.seen and item.seen_alone
        row.reason_not_seen = item.reason_not_seen.strip()
        row.bedroom_seen = item.bedroom_seen
        row.child_views = item.child_views.strip()
        row.presentation = item.presentation.strip()
        _save(row, actor)
    # Observations are added, never replaced: what was seen stays on record. Sending
    # the same observation again (a re-recorded visit, a retried request) adds nothing.
    kept = {(o.adult_id, o.child_id, o.what_was_seen, o.analysis) for o in visit.observations.all()}
    for observed in data.observations:
        key = (
            observed.adult.pk if observed.adult else None,
            observed.child.pk if observed.child else None,
            observed.what_was_seen.strip(),
            observed.analysis.strip(),
        )
        if observed.what_was_seen.strip() and key not in kept:
            kept.add(key)
            _save(
                Observation(
                    visit=visit,
                    adult=observed.adult,
                    child=observed.child,
                    what_was_seen=observed.what_was_seen.strip(),
                    analysis=observed.analysis.strip(),
                ),
                actor,
            )
    _save(visit, actor)  # a history row with the people present
    signals.visit_recorded.send(sender=Visit, visit=visit, actor=actor, now=now)
    case_id = visit.case_id
    transaction.on_commit(lambda: _enqueue_evaluation(case_id))
    return visit


def visit_log(
    *,
    actor: User,
    case: Case,
    data: Outcome,
    kind: str = Visit.Kind.HOME,
    announced: bool = True,
    joint_worker: User | None = None,
    joint_agency: Agency | None = None,
    purpose: str = "",
    now: datetime.datetime | None = None,
) -> Visit:
    """Plan and record in one step: the visit a worker logs from the doorstep."""
    with transaction.atomic():
        visit = visit_plan(
            actor=actor,
            case=case,
            planned_for=data.occurred_at,
            kind=kind,
            announced=announced,
            joint_worker=joint_worker,
            joint_agency=joint_agency,
            purpose=purpose,
            now=now,
        )
        return visit_record(actor=actor, visit=visit, data=data, now=now)


def _enqueue_evaluation(case_id: int) -> None:
    from .tasks import visits_evaluate_case

    visits_evaluate_case.delay(case_id)


def visits_evaluate_case(
    case_id: int, *, now: datetime.datetime | None = None
) -> Escalation | None:
    """R1: fire a defaulted-visits escalation if this case has reached the threshold.
    Safe to run any number of times and concurrently: at most one fires."""
    now = now or timezone.now()
    case = Case.objects.get(pk=case_id)
    verdict = rules.defaulted_visits_verdict(case)
    visit = verdict.trigger_visit
    if not verdict.fires or visit is None:
        return None
    trigger_date = timezone.localdate(visit.occurred_at)
    reason = (
        f"{verdict.count} visits defaulted since {verdict.window_start:%d %B %Y}; the latest, "
        f"{visit.get_kind_display().lower()} on {trigger_date:%d %B %Y}: "
        f"{visit.get_default_reason_display().lower()}."
    )
    return case_services.escalation_open(
        case=case,
        kind=Escalation.Kind.DEFAULTED_VISITS,
        trigger_date=trigger_date,
        reason=reason,
        trigger_count=verdict.count,
        now=now,
    )


@transaction.atomic
def visit_mark_in_error(
    *, actor: User, visit: Visit, reason: str, now: datetime.datetime | None = None
) -> Visit:
    now = now or timezone.now()
    if not policy.can_mark_in_error(actor, visit):
        raise PermissionDenied
    require_open(visit.case, "marking a visit recorded in error")
    if not reason.strip():
        raise ValidationError({"reason": "Enter why this visit was recorded in error"})
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if visit.in_error:
        raise ValidationError("This visit is already marked as recorded in error")
    visit.in_error, visit.in_error_reason = True, reason.strip()
    visit.in_error_at, visit.in_error_by = now, actor
    _save(visit, actor)
    signals.visit_in_error.send(sender=Visit, visit=visit, actor=actor, now=now)
    case_id = visit.case_id
    transaction.on_commit(lambda: _enqueue_evaluation(case_id))
    return visit
