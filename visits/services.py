"""Writes for visits. Each takes the acting user as `actor` and the time as `now`."""

import datetime
import logging
from dataclasses import dataclass, field
from typing import TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from accounts import policy
from accounts.models import Agency, User
from cases import services as case_services
from cases.models import Case, Escalation, Membership, Person
from cases.services.base import require_open
from common import records, sweeps
from common.concurrency import check_version, version_of

from . import last_seen, rules, signals
from .models import ChildSeen, EvaluationRequest, Observation, Visit

logger = logging.getLogger(__name__)


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
    """A new observation; or, with `observation_id`, a correction of one already on the
    visit (what was seen and the analysis; who was observed stays as recorded)."""

    what_was_seen: str
    analysis: str = ""
    adult: Person | None = None
    child: Person | None = None
    observation_id: int | None = None


@dataclass
class Outcome:
    """What happened at a visit. Recording it again (a correction) changes what is given
    and keeps the rest: the children not listed keep their rows, the observations not
    listed stay as they are, and the fields left None keep what is stored."""

    outcome: str
    occurred_at: datetime.datetime
    # None: as stored while the visit stays defaulted (nothing for any other outcome).
    default_reason: str | None = None
    children: list[ChildSeenInput] = field(default_factory=list)
    observations: list[ObservationInput] = field(default_factory=list)
    present_members: list[Person] | None = None
    others_present: str | None = None
    parent_report: str | None = None
    notes: str | None = None


M = TypeVar("M", bound=Model)


def _save(obj: M, actor: User) -> M:
    return records.save(obj, actor)


def household_on(case: Case, day: datetime.date) -> QuerySet[Membership]:
    """Memberships of people living in the household on a day."""
    return Membership.objects.filter(
        Membership.active_on_q(day), case=case, lives_in_household=True
    ).select_related("person")


def children_in_household(case: Case, day: datetime.date) -> list[Person]:
    return [
        m.person for m in household_on(case, day) if m.relationship == Membership.Relationship.CHILD
    ]


def children_to_see(case: Case, day: datetime.date) -> list[Person]:
    """The children in the household on a day who were born by then: those a visit that
    day is to see (R5). An unborn baby is not (visits.rules.unborn_on)."""
    return [c for c in children_in_household(case, day) if not rules.person_unborn_on(c, day)]


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


def _validate_outcome(
    visit: Visit, data: Outcome, default_reason: str, now: datetime.datetime
) -> None:
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
        if default_reason not in Visit.DefaultReason.values:
            errors["default_reason"] = "Select how the family defeated the visit"
    elif default_reason:
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
        name = child.child.display_name
        if child.child.pk not in household:
            raise ValidationError(
                {f"children-{i}": f"{name} was not living in the household on {day:%d/%m/%Y}"}
            )
        if rules.person_unborn_on(child.child, day):
            raise ValidationError(
                {
                    f"children-{i}": f"{name} was not yet born on {day:%d/%m/%Y}: a visit "
                    "does not see an unborn baby. Once the baby is born, record their date "
                    "of birth first."
                }
            )
        if child.seen_alone and not child.seen:
            raise ValidationError(
                {f"children-{i}": f"{name} cannot be seen alone without being seen"}
            )
        if completed and not child.seen and not child.reason_not_seen.strip():
            raise ValidationError({f"children-{i}": f"Say why {name} was not seen"})
    if data.present_members is not None:
        members = {m.person_id for m in household_on(visit.case, day)} | {
            m.person_id
            for m in Membership.objects.filter(Membership.active_on_q(day), case=visit.case)
        }
        for person in data.present_members:
            if person.pk not in members:
                raise ValidationError(
                    {"present_members": f"{person.full_name} is not on this case"}
                )


def _versioned(visit: Visit) -> list:
    """What a visit's version is worked out from: the visit, its children's rows and its
    observations, each in the order they were written. Reads prefetched rows if any."""
    return [
        visit,
        sorted(visit.children.all(), key=lambda row: row.pk),
        sorted(visit.observations.all(), key=lambda row: row.pk),
    ]


def visit_version(visit: Visit) -> str:
    """The version of a visit that its edit form (and the API) starts from
    (common.concurrency)."""
    return version_of(*_versioned(visit))


def _children_changes(visit: Visit, data: Outcome) -> list[ChildSeen]:
    """The children's rows to write: new ones, and stored ones the input changes."""
    existing = {c.child_id: c for c in visit.children.all()}
    rows = []
    for item in data.children:
        row = existing.get(item.child.pk)
        if row is None:
            row = ChildSeen(visit=visit, child=item.child, seen=item.seen)
            rows.append(row)
        values = {
            "seen": item.seen,
            "seen_alone": item.seen and item.seen_alone,
            "reason_not_seen": item.reason_not_seen.strip(),
            "bedroom_seen": item.bedroom_seen,
            "child_views": item.child_views.strip(),
            "presentation": item.presentation.strip(),
        }
        if records.assign(row, **values) and row.pk is not None:
            rows.append(row)
    return rows


def _observation_changes(visit: Visit, data: Outcome) -> list[Observation]:
    """The observations to write: corrections of stored ones that change them, and new
    ones. A new one the visit already holds (the same people, words and analysis: a
    form or request sent again) is not added twice; nor is one given twice."""
    stored = {o.pk: o for o in visit.observations.all()}
    rows: list[Observation] = []
    for i, item in enumerate(data.observations):
        if item.observation_id is None:
            continue
        observation = stored.get(item.observation_id)
        if observation is None:
            raise ValidationError(
                {f"observations-{i}": "There is no such observation on this visit"}
            )
        if not item.what_was_seen.strip():
            raise ValidationError(
                {
                    f"observations-{i}": "Enter what you saw: an observation is corrected, "
                    "never emptied"
                }
            )
        if records.assign(
            observation, what_was_seen=item.what_was_seen.strip(), analysis=item.analysis.strip()
        ):
            rows.append(observation)
    kept = {(o.adult_id, o.child_id, o.what_was_seen, o.analysis) for o in stored.values()}
    for item in data.observations:
        if item.observation_id is not None or not item.what_was_seen.strip():
            continue
        key = (
            item.adult.pk if item.adult else None,
            item.child.pk if item.child else None,
            item.what_was_seen.strip(),
            item.analysis.strip(),
        )
        if key in kept:
            continue
        kept.add(key)
        rows.append(
            Observation(
                visit=visit,
                adult=item.adult,
                child=item.child,
                what_was_seen=key[2],
                analysis=key[3],
            )
        )
    return rows


@transaction.atomic
@last_seen.deferred()
def visit_record(
    *,
    actor: User,
    visit: Visit,
    data: Outcome,
    version: str | None = None,
    now: datetime.datetime | None = None,
) -> Visit:
    """Record what happened, also after the fact with the real time, and correct it
    later. Saves it all or nothing; what the input does not change is kept, and an input
    that changes nothing saves nothing. `version` (visit_version, from the form): refuse
    to save over a visit someone changed since. Once it commits, the defaulted-visits
    rule is evaluated."""
    now = now or timezone.now()
    visit = Visit.objects.select_for_update().select_related("case").get(pk=visit.pk)
    if not policy.can_edit_case(actor, visit.case):
        raise PermissionDenied
    if not visit.case.is_open:
        raise ValidationError("This case is closed: reopen it before recording a visit")
    if visit.in_error:
        raise ValidationError("This visit was recorded in error")
    check_version(version, _versioned(visit), what="this visit")
    default_reason = data.default_reason
    if default_reason is None:
        default_reason = visit.default_reason if data.outcome == Visit.Outcome.DEFAULTED else ""
    _validate_outcome(visit, data, default_reason, now)
    changed = records.assign(
        visit,
        outcome=data.outcome,
        occurred_at=data.occurred_at,
        default_reason=default_reason,
        **{
            name: value.strip()
            for name, value in (
                ("others_present", data.others_present),
                ("parent_report", data.parent_report),
                ("notes", data.notes),
            )
            if value is not None
        },
    )
    members = None
    if data.present_members is not None:
        wanted = {p.pk for p in data.present_members}
        if wanted != set(visit.present_members.values_list("pk", flat=True)):
            members = data.present_members
    children = _children_changes(visit, data)
    observations = _observation_changes(visit, data)
    if not (changed or members is not None or children or observations):
        return visit
    visit.outcome_recorded_at = now
    visit.outcome_recorded_by = actor
    _save(visit, actor)
    if members is not None:
        records.acting(visit, actor)
        visit.present_members.set(members)
    for row in children:
        _save(row, actor)
    for observation in observations:
        _save(observation, actor)
    signals.visit_recorded.send(sender=Visit, visit=visit, actor=actor, now=now)
    evaluation_request(visit.case_id, now=now)
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


# --- R1: evaluating the defaulted-visits rule, durably -----------------------------------


def evaluation_request(case_id: int, *, now: datetime.datetime) -> None:
    """Write, in the caller's transaction, that this case's defaulted visits must be
    evaluated (`EvaluationRequest`), and send the task once it commits. If sending fails
    (the broker is down) that is logged and the visits sweep does it: nothing after the
    commit can turn a saved change into an error."""
    EvaluationRequest.objects.bulk_create(
        [EvaluationRequest(case_id=case_id, requested_at=now)],
        update_conflicts=True,
        unique_fields=["case"],
        update_fields=["requested_at"],
    )
    transaction.on_commit(lambda: _enqueue_evaluation(case_id))


def _enqueue_evaluation(case_id: int) -> None:
    from .tasks import visits_evaluate_case

    try:
        visits_evaluate_case.delay(case_id)
    except Exception as error:
        logger.warning(
            "could not send the evaluation of case %s to the worker (%s: %s); the visits "
            "sweep will evaluate it",
            case_id,
            type(error).__name__,
            error,
        )


def visits_evaluate_case(
    case_id: int, *, now: datetime.datetime | None = None
) -> Escalation | None:
    """R1: fire a defaulted-visits escalation if this case has reached the threshold;
    mark an active one's trigger withdrawn if its count fell back to the threshold or
    below (or restore it when it rises again). Returns the escalation fired, if any.

    Evaluations of one case run one at a time, under the lock of its evaluation request
    row, and the request is cleared in the transaction that commits the evaluation: a
    change recorded meanwhile waits for the lock and asks again. Safe to run any number
    of times and concurrently: at most one escalation fires."""
    now = now or timezone.now()
    with transaction.atomic():
        EvaluationRequest.objects.bulk_create(
            [EvaluationRequest(case_id=case_id)], ignore_conflicts=True
        )
        request = EvaluationRequest.objects.select_for_update().get(case_id=case_id)
        case = Case.objects.get(pk=case_id)
        escalation = first = _evaluate(case, now)
        # Fired late and met at once by a meeting already held, it moves the counting
        # window past that meeting: the defaults since may call for another.
        while escalation is not None and not escalation.is_active:
            escalation = _evaluate(case, now)
        escalation = escalation or first
        request.requested_at, request.evaluated_at = None, now
        request.save(update_fields=["requested_at", "evaluated_at"])
    return escalation


def _evaluate(case: Case, now: datetime.datetime) -> Escalation | None:
    verdict = rules.defaulted_visits_verdict(case)
    active = (
        Escalation.objects.select_for_update()
        .filter(
            case=case, kind=Escalation.Kind.DEFAULTED_VISITS, state__in=Escalation.ACTIVE_STATES
        )
        .first()
    )
    if active is not None:
        if rules.trigger_withdrawn(verdict):
            case_services.escalation_trigger_withdrawn(
                escalation=active, count=verdict.count, now=now
            )
        elif active.trigger_withdrawn_at is not None:
            case_services.escalation_trigger_restored(escalation=active, now=now)
        return None
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


VISITS_SWEEP = "visits"


def visits_sweep(*, now: datetime.datetime | None = None) -> dict:
    """Evaluate every case with an evaluation request waiting, however old: what a lost
    message, a stopped worker or a broker outage left undone is done by the first sweep
    after it. Each case on its own: one that raises is logged and set aside to be tried
    again later (`common.sweeps`), and the rest go on."""
    now = now or timezone.now()

    def work() -> dict:
        case_ids = list(
            EvaluationRequest.objects.filter(requested_at__isnull=False)
            .order_by("requested_at")
            .values_list("case_id", flat=True)
        )
        fired: list[int] = []

        def evaluate(case_id: int) -> None:
            if visits_evaluate_case(case_id, now=now) is not None:
                fired.append(case_id)

        done, failed = sweeps.each(VISITS_SWEEP, case_ids, evaluate, now=now)
        return {"cases": len(done), "fired": len(fired), "failed": len(failed)}

    return sweeps.run(VISITS_SWEEP, work, now=now)


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
    evaluation_request(visit.case_id, now=now)
    return visit
