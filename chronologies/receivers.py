"""Receivers for the events cases/ and visits/ publish (their signals.py). Each turns
its objects into the one entry keyed by the source, through `services.entries_record`
(`entry_record` for one).
The same functions rebuild entries from existing records (`chronology_backfill`)."""

from django.db.models import Q
from django.utils import timezone

from cases import signals as case_signals
from cases.models import (
    Address,
    AgreementBreach,
    ChildProtectionPlan,
    Escalation,
    Hazard,
    Meeting,
    Membership,
    WrittenAgreement,
)
from cases.services import UNMET_REASON
from cases.services.merge import merge_reason
from supervision import signals as supervision_signals
from visits import signals as visit_signals
from visits.models import Visit

from .models import Category, ChronologyEntry, Significance
from .services import (
    RecordedEntry,
    entries_child_merged,
    entries_mark_source_in_error,
    entries_record,
    entry_record,
)

S = Significance


def _name(person) -> str:
    return person.display_name


def _children(case):
    return [
        m.person
        for m in case.memberships.filter(relationship="child", in_error=False).select_related(
            "person"
        )
    ]


# --- Case --------------------------------------------------------------------------------


def case_opened(case, *, actor=None, now=None):
    return entry_record(
        case=case,
        source_type="case_opened",
        source_id=case.pk,
        category=Category.CASE,
        occurred_on=case.opened_on,
        title="Case opened",
        details=case.summary,
        significance=S.SIGNIFICANT,
        actor=actor,
        now=now,
    )


def case_closed(case, *, actor=None, now=None):
    if not case.closed_on:
        return None
    details = case.get_closure_reason_display()
    if case.closure_notes:
        details = f"{details}. {case.closure_notes}"
    return entry_record(
        case=case,
        source_type="case_closed",
        source_id=f"{case.pk}:{case.closed_on}",
        category=Category.CASE,
        occurred_on=case.closed_on,
        title="Case closed",
        details=details,
        children=_children(case),
        significance=S.SIGNIFICANT,
        actor=actor,
        now=now,
    )


def case_reopened(case, *, actor=None, now=None):
    now = now or timezone.now()
    return entry_record(
        case=case,
        source_type="case_reopened",
        source_id=f"{case.pk}:{now.isoformat()}",
        category=Category.CASE,
        occurred_on=timezone.localdate(now),
        title="Case reopened",
        children=_children(case),
        significance=S.SIGNIFICANT,
        actor=actor,
        now=now,
    )


# --- Household and addresses ---------------------------------------------------------------


def member_joined(membership, *, actor=None, now=None):
    who = _name(membership.person)
    rel = membership.get_relationship_display().lower()
    where = (
        "joined the household"
        if membership.lives_in_household
        else "added (not living in the household)"
    )
    early = membership.start_date <= membership.case.opened_on
    return entry_record(
        case=membership.case,
        source_type="member_joined",
        source_id=membership.pk,
        category=Category.HOUSEHOLD,
        occurred_on=membership.start_date,
        title=f"{who} ({rel}) {where}",
        children=[membership.person] if membership.is_child else [],
        significance=S.ROUTINE if membership.is_child or early else S.SIGNIFICANT,
        source_in_error=membership.in_error,
        actor=actor,
        now=now,
    )


def member_left(membership, *, actor=None, now=None):
    if not membership.end_date:
        return None
    who = _name(membership.person)
    rel = membership.get_relationship_display().lower()
    return entry_record(
        case=membership.case,
        source_type="member_left",
        source_id=membership.pk,
        category=Category.HOUSEHOLD,
        occurred_on=membership.end_date,
        title=f"{who} ({rel}) left the household",
        details=membership.end_reason,
        children=[membership.person] if membership.is_child else [],
        significance=S.SIGNIFICANT,
        source_in_error=membership.in_error,
        actor=actor,
        now=now,
    )


def member_changed(membership, *, actor=None, now=None):
    now = now or timezone.now()
    who = _name(membership.person)
    what = (
        "now lives in the household"
        if membership.lives_in_household
        else "no longer lives in the household"
    )
    return entry_record(
        case=membership.case,
        source_type="member_changed",
        source_id=f"{membership.pk}:{now.isoformat()}",
        category=Category.HOUSEHOLD,
        occurred_on=timezone.localdate(now),
        title=f"{who} {what}",
        children=[membership.person] if membership.is_child else [],
        significance=S.SIGNIFICANT,
        source_in_error=membership.in_error,
        actor=actor,
        now=now,
    )


def address_moved_in(address, *, actor=None, now=None):
    return entry_record(
        case=address.case,
        source_type="address",
        source_id=address.pk,
        category=Category.ADDRESS,
        occurred_on=address.start_date,
        title=f"Family moved to {address.town} ({address.postcode})",
        children=_children(address.case),
        significance=(S.ROUTINE if address.start_date <= address.case.opened_on else S.SIGNIFICANT),
        source_in_error=address.in_error,
        actor=actor,
        now=now,
    )


def address_left(address, *, actor=None, now=None):
    if not address.end_date:
        return None
    return entry_record(
        case=address.case,
        source_type="address_left",
        source_id=address.pk,
        category=Category.ADDRESS,
        occurred_on=address.end_date,
        title=f"Family left their address in {address.town}; new address not known",
        children=_children(address.case),
        significance=S.SIGNIFICANT,
        source_in_error=address.in_error,
        actor=actor,
        now=now,
    )


# --- Plans, hazards, meetings, escalations --------------------------------------------------


def plan_started(plan, *, actor=None, now=None):
    return entry_record(
        case=plan.case,
        source_type="plan_started",
        source_id=plan.pk,
        category=Category.PLAN,
        occurred_on=plan.start_date,
        title=f"{_name(plan.child)} made subject to a child protection plan "
        f"({plan.get_category_display().lower()})",
        children=[plan.child],
        significance=S.CRITICAL,
        source_in_error=plan.in_error,
        actor=actor,
        now=now,
    )


def plan_ended(plan, *, actor=None, now=None):
    if not plan.end_date:
        return None
    return entry_record(
        case=plan.case,
        source_type="plan_ended",
        source_id=plan.pk,
        category=Category.PLAN,
        occurred_on=plan.end_date,
        title=f"Child protection plan for {_name(plan.child)} ended",
        details=plan.end_reason,
        children=[plan.child],
        significance=S.SIGNIFICANT,
        source_in_error=plan.in_error,
        actor=actor,
        now=now,
    )


def hazard_added(hazard, *, actor=None, now=None):
    case = hazard.case
    if case is None:
        return None
    return entry_record(
        case=case,
        source_type="hazard",
        source_id=hazard.pk,
        category=Category.HAZARD,
        occurred_on=hazard.start_date,
        title=f"Hazard to staff: {hazard.get_kind_display()}",
        details=hazard.details,
        significance=S.SIGNIFICANT,
        source_in_error=hazard.in_error,
        actor=actor,
        now=now,
    )


def hazard_ended(hazard, *, actor=None, now=None):
    if hazard.case is None or not hazard.end_date:
        return None
    return entry_record(
        case=hazard.case,
        source_type="hazard_ended",
        source_id=hazard.pk,
        category=Category.HAZARD,
        occurred_on=hazard.end_date,
        title=f"Hazard no longer active: {hazard.get_kind_display()}",
        source_in_error=hazard.in_error,
        actor=actor,
        now=now,
    )


def meeting_recorded(meeting, *, actor=None, now=None):
    agencies = ", ".join(a.name for a in meeting.agencies.all())
    details = meeting.decisions
    if agencies:
        details = f"Agencies present: {agencies}.\n{details}"
    return entry_record(
        case=meeting.case,
        source_type="meeting",
        source_id=meeting.pk,
        category=Category.MEETING,
        occurred_on=meeting.held_on,
        title=f"{meeting.get_kind_display()} held (chair: {meeting.chair})",
        details=details,
        action_taken=meeting.actions,
        children=_children(meeting.case),
        significance=S.SIGNIFICANT,
        source_in_error=meeting.in_error,
        actor=actor,
        now=now,
    )


def _escalation_entries(escalation, children) -> list[RecordedEntry]:
    """The escalation firing is one entry (updated with its state); becoming overdue and
    being met or cancelled are entries of their own."""
    case = escalation.case
    kind = escalation.get_required_meeting_display().lower()
    entries = [
        RecordedEntry(
            case=case,
            source_type="escalation",
            source_id=escalation.pk,
            category=Category.ESCALATION,
            occurred_on=escalation.trigger_date,
            title=f"Escalation: {escalation.get_kind_display().lower()}; {kind} due by "
            f"{escalation.due_date:%-d %B %Y} ({escalation.get_state_display().lower()})",
            details=escalation.reason,
            children=children,
            significance=S.CRITICAL,
        )
    ]
    state = escalation.state
    if state == Escalation.State.OVERDUE or escalation.overdue_at:
        overdue_on = (
            timezone.localdate(escalation.overdue_at)
            if escalation.overdue_at
            else escalation.due_date
        )
        entries.append(
            RecordedEntry(
                case=case,
                source_type="escalation_overdue",
                source_id=escalation.pk,
                category=Category.ESCALATION,
                occurred_on=overdue_on,
                title=f"Escalation overdue: no {kind} held by {escalation.due_date:%-d %B %Y}",
                children=children,
                significance=S.CRITICAL,
            )
        )
    if state in (Escalation.State.MET, Escalation.State.MET_LATE):
        entries.append(
            RecordedEntry(
                case=case,
                source_type="escalation_closed",
                source_id=escalation.pk,
                category=Category.ESCALATION,
                occurred_on=escalation.met_on or timezone.localdate(escalation.closed_at),
                title=f"Escalation {escalation.get_state_display().lower()} by the {kind}",
                significance=S.SIGNIFICANT,
            )
        )
    elif state == Escalation.State.CANCELLED:
        entries.append(
            RecordedEntry(
                case=case,
                source_type="escalation_closed",
                source_id=escalation.pk,
                category=Category.ESCALATION,
                occurred_on=timezone.localdate(escalation.closed_at),
                # A manager cancels by hand; the system cancels it when the meeting that met
                # it is recorded in error while a newer one of its kind is active.
                title=(
                    "Escalation cancelled"
                    if escalation.cancelled_reason.startswith(UNMET_REASON)
                    else "Escalation cancelled by a manager"
                ),
                details=escalation.cancelled_reason,
                significance=S.SIGNIFICANT,
            )
        )
    return entries


def escalation_changed(escalation, *, actor=None, now=None):
    """The entries of one escalation; returns the entry of its firing."""
    return escalations_changed([escalation], actor=actor, now=now)[0]


def escalations_changed(escalations, *, actor=None, now=None):
    """The entries of many escalations (a batch of the sweep), the same as
    `escalation_changed` for each, written together: the children of their cases are
    read once and the entries go through one `entries_record`."""
    escalations = list(escalations)
    if not escalations:
        return []
    children: dict[int, list] = {}
    for membership in Membership.objects.filter(
        case_id__in={e.case_id for e in escalations}, relationship="child", in_error=False
    ).select_related("person"):
        children.setdefault(membership.case_id, []).append(membership.person)
    return entries_record(
        [
            entry
            for escalation in escalations
            for entry in _escalation_entries(escalation, children.get(escalation.case_id, []))
        ],
        actor=actor,
        now=now,
    )


# --- Written agreements ----------------------------------------------------------------


def agreement_made(agreement, *, actor=None, now=None):
    who = ", ".join(p.display_name for p in agreement.agreed_by.all())
    lines = [
        f"Behaviour that is not acceptable: {agreement.unacceptable_behaviour}",
        f"The family agrees to: {agreement.family_agrees}",
        "If it is not kept: " + "; ".join(agreement.consequence_labels()),
    ]
    if who:
        lines.append(f"Agreed by: {who}")
    return entry_record(
        case=agreement.case,
        source_type="agreement",
        source_id=agreement.pk,
        category=Category.AGREEMENT,
        occurred_on=agreement.agreed_on,
        title="Written agreement made with the family",
        details="\n".join(lines),
        children=_children(agreement.case),
        significance=S.SIGNIFICANT,
        source_in_error=agreement.in_error,
        actor=actor,
        now=now,
    )


def agreement_ended(agreement, *, actor=None, now=None):
    if not agreement.ended_on:
        return None
    return entry_record(
        case=agreement.case,
        source_type="agreement_ended",
        source_id=agreement.pk,
        category=Category.AGREEMENT,
        occurred_on=agreement.ended_on,
        title="Written agreement ended",
        details=agreement.end_reason,
        source_in_error=agreement.in_error,
        actor=actor,
        now=now,
    )


def agreement_breached(breach, *, actor=None, now=None):
    agreement = breach.agreement
    how = "seen on a visit" if breach.visit_id else "recorded by hand"
    return entry_record(
        case=agreement.case,
        source_type="agreement_breach",
        source_id=breach.pk,
        category=Category.AGREEMENT,
        occurred_on=breach.occurred_on,
        title=f"Written agreement not kept ({how})",
        details=breach.what_happened,
        children=_children(agreement.case),
        significance=S.SIGNIFICANT,
        source_in_error=breach.in_error or agreement.in_error,
        actor=actor,
        now=now,
    )


# --- Visits -------------------------------------------------------------------------------


def visit_recorded(visit, *, actor=None, now=None):
    if visit.outcome == Visit.Outcome.PLANNED or visit.occurred_at is None:
        return None
    when = visit.occurred_at
    kind = visit.get_kind_display()
    announced = "announced" if visit.announced else "unannounced"
    rows = list(visit.children.select_related("child"))
    lines = []
    significance = S.ROUTINE
    if visit.outcome == Visit.Outcome.DEFAULTED:
        title = f"{kind} ({announced}) defaulted: {visit.get_default_reason_display().lower()}"
        significance = S.SIGNIFICANT
    elif visit.outcome == Visit.Outcome.CANCELLED_BY_WORKER:
        title = f"{kind} ({announced}) cancelled by the worker"
    else:
        seen = [r for r in rows if r.seen]
        alone = [r for r in rows if r.seen_alone]
        title = (
            f"{kind} ({announced}) completed: {len(seen)} of {len(rows)} children seen, "
            f"{len(alone)} seen alone"
        )
        if len(seen) < len(rows):
            significance = S.SIGNIFICANT
    for r in rows:
        state = ("seen alone" if r.seen_alone else "seen, not alone") if r.seen else "not seen"
        line = f"{_name(r.child)}: {state}"
        if r.reason_not_seen:
            line += f" ({r.reason_not_seen})"
        if r.child_views:
            line += f". In their words: {r.child_views}"
        lines.append(line)
    if visit.parent_report:
        lines.append(f"Parent's account (reported, not observed): {visit.parent_report}")
    entry = entry_record(
        case=visit.case,
        source_type="visit",
        source_id=visit.pk,
        category=Category.VISIT,
        occurred_on=timezone.localdate(when),
        occurred_at=when,
        title=title,
        details="\n".join(lines),
        analysis=visit.notes,
        children=[r.child for r in rows],
        significance=significance,
        source_in_error=visit.in_error,
        actor=actor,
        now=now,
    )
    for obs in visit.observations.select_related("adult", "child"):
        who = " and ".join(_name(p) for p in (obs.adult, obs.child) if p)
        entry_record(
            case=visit.case,
            source_type="observation",
            source_id=obs.pk,
            category=Category.OBSERVATION,
            occurred_on=timezone.localdate(when),
            occurred_at=when,
            title=f"Observed directly{': ' + who if who else ''}",
            details=obs.what_was_seen,
            analysis=obs.analysis,
            children=[obs.child] if obs.child else [r.child for r in rows],
            source_in_error=visit.in_error,
            actor=actor,
            now=now,
        )
    return entry


def supervision_decision(decision, *, actor=None, now=None):
    """A decision made in case supervision is part of the case record (R9)."""
    return entry_record(
        case=decision.case,
        source_type="supervision_decision",
        source_id=decision.pk,
        category=Category.SUPERVISION,
        occurred_on=decision.decided_on,
        title="Decision in case supervision",
        details=decision.decision,
        analysis=decision.reasons,
        significance=S.SIGNIFICANT,
        actor=actor,
        now=now,
    )


def person_merged(keep, duplicate, *, actor=None, now=None):
    """Two records of one person merged: the entries naming the duplicate name the
    record kept, and every case the person is on says so in an entry of its own."""
    entries_child_merged(
        keep=keep, duplicate=duplicate, actor=actor, reason=merge_reason(keep, duplicate)
    )
    return person_merged_entries(duplicate, actor=actor, now=now)


def person_merged_entries(duplicate, *, actor=None, now=None):
    """The entry saying a record was merged, on each case the record kept is on; written
    from what the merged record says (when, by whom, why), so writing it again from the
    records (`chronology_backfill`) changes nothing."""
    keep = duplicate.merged_into
    if keep is None:
        return []
    cases = {}
    for m in (
        Membership.objects.filter(person=keep, in_error=False)
        .select_related("case")
        .order_by("case_id", "start_date")
    ):
        cases[m.case_id] = (m.case, m.is_child or cases.get(m.case_id, (None, False))[1])
    by = duplicate.merged_by
    who = (by.get_full_name() or by.username) if by is not None else ""
    details = f"Merged by {who}. Why: {duplicate.merged_reason}" if who else duplicate.merged_reason
    return entries_record(
        [
            RecordedEntry(
                case=case,
                source_type="person_merged",
                source_id=f"{duplicate.pk}:{case.pk}",
                category=Category.HOUSEHOLD,
                occurred_on=timezone.localdate(duplicate.merged_at),
                occurred_at=duplicate.merged_at,
                title=f"Two records of one person merged: {_name(duplicate)} "
                f"(record {duplicate.pk}) into {_name(keep)} (record {keep.pk})",
                details=details,
                children=[keep] if is_child else [],
                significance=S.ROUTINE,
            )
            for case, is_child in cases.values()
        ],
        actor=actor,
        now=now,
    )


def _person_merged(sender, keep=None, duplicate=None, actor=None, now=None, **kwargs):
    person_merged(keep, duplicate, actor=actor, now=now)


IN_ERROR_SOURCES = {
    Membership: ("member_joined", "member_left"),
    Address: ("address", "address_left"),
    ChildProtectionPlan: ("plan_started", "plan_ended"),
    Hazard: ("hazard", "hazard_ended"),
    Meeting: ("meeting",),
    WrittenAgreement: ("agreement", "agreement_ended"),
    AgreementBreach: ("agreement_breach",),
}


def record_in_error(instance, *, actor=None, now=None):
    types = IN_ERROR_SOURCES.get(type(instance))
    if types:
        sources = Q(source_type__in=types, source_id=str(instance.pk))
        if isinstance(instance, Membership):
            # each change to the household is an entry of its own, "<membership>:<when>"
            sources |= Q(source_type="member_changed", source_id__startswith=f"{instance.pk}:")
        if isinstance(instance, Meeting):
            # "Escalation met by the meeting": it was not. Sent while the escalations
            # still name the meeting; whatever meets or closes them next writes anew.
            met = [str(pk) for pk in instance.escalations_met.values_list("pk", flat=True)]
            if met:
                sources |= Q(source_type="escalation_closed", source_id__in=met)
        if isinstance(instance, WrittenAgreement):
            # An agreement never made was never broken.
            breaches = [str(pk) for pk in instance.breaches.values_list("pk", flat=True)]
            sources |= Q(source_type="agreement_breach", source_id__in=breaches)
        entries_mark_source_in_error(sources, actor=actor, now=now)


def _end_withdrawn(source_type: str, instance, *, actor=None, now=None) -> None:
    """An end recorded wrongly has been taken away: the entry of it (if there is one) is
    struck through. Recording an end again writes it anew, no longer struck."""
    entries_mark_source_in_error(
        Q(source_type=source_type, source_id=str(instance.pk)), actor=actor, now=now
    )


def record_corrected(instance, *, actor=None, now=None):
    """A record corrected through its edit form: each of its entries is written again
    from it, keyed by its source, so the entry is updated, never duplicated. An end
    taken away strikes the entry of that end."""
    kw = {"actor": actor, "now": now}
    if isinstance(instance, Membership):
        member_joined(instance, **kw)
        if instance.end_date:
            member_left(instance, **kw)
        else:
            _end_withdrawn("member_left", instance, **kw)
    elif isinstance(instance, Address):
        address_moved_in(instance, **kw)
        # "Left, address not known" has an entry of its own; an end made by a move has not.
        if ChronologyEntry.objects.filter(
            source_type="address_left", source_id=str(instance.pk)
        ).exists():
            address_left(instance, **kw)
    elif isinstance(instance, ChildProtectionPlan):
        plan_started(instance, **kw)
        if instance.end_date:
            plan_ended(instance, **kw)
    elif isinstance(instance, Hazard):
        hazard_added(instance, **kw)
        if instance.end_date:
            hazard_ended(instance, **kw)
        else:
            _end_withdrawn("hazard_ended", instance, **kw)
    elif isinstance(instance, Meeting):
        meeting_recorded(instance, **kw)
    elif isinstance(instance, Escalation):
        escalation_changed(instance, **kw)
    elif isinstance(instance, WrittenAgreement):
        agreement_made(instance, **kw)
        if instance.ended_on:
            agreement_ended(instance, **kw)


# --- Wiring ------------------------------------------------------------------------------


def _receiver(fn, arg):
    def receive(sender, actor=None, now=None, **kwargs):
        fn(kwargs[arg], actor=actor, now=now)

    receive.__name__ = f"chronology_{fn.__name__}"
    return receive


def _address(sender, address=None, previous=None, actor=None, now=None, **kwargs):
    if address is not None:
        address_moved_in(address, actor=actor, now=now)
    elif previous is not None:
        address_left(previous, actor=actor, now=now)


RECEIVERS = [
    (case_signals.case_opened, _receiver(case_opened, "case")),
    (case_signals.case_closed, _receiver(case_closed, "case")),
    (case_signals.case_reopened, _receiver(case_reopened, "case")),
    (case_signals.member_joined, _receiver(member_joined, "membership")),
    (case_signals.member_changed, _receiver(member_changed, "membership")),
    (case_signals.member_left, _receiver(member_left, "membership")),
    (case_signals.address_changed, _address),
    (case_signals.plan_started, _receiver(plan_started, "plan")),
    (case_signals.plan_ended, _receiver(plan_ended, "plan")),
    (case_signals.hazard_added, _receiver(hazard_added, "hazard")),
    (case_signals.hazard_ended, _receiver(hazard_ended, "hazard")),
    (case_signals.record_in_error, _receiver(record_in_error, "instance")),
    (case_signals.record_corrected, _receiver(record_corrected, "instance")),
    (case_signals.meeting_recorded, _receiver(meeting_recorded, "meeting")),
    (case_signals.escalation_changed, _receiver(escalation_changed, "escalation")),
    (case_signals.escalations_changed, _receiver(escalations_changed, "escalations")),
    (case_signals.agreement_made, _receiver(agreement_made, "agreement")),
    (case_signals.agreement_ended, _receiver(agreement_ended, "agreement")),
    (case_signals.agreement_breached, _receiver(agreement_breached, "breach")),
    (visit_signals.visit_recorded, _receiver(visit_recorded, "visit")),
    # Rewriting a visit's entries carries its recorded-in-error mark to them.
    (visit_signals.visit_in_error, _receiver(visit_recorded, "visit")),
    (supervision_signals.decision_recorded, _receiver(supervision_decision, "decision")),
    (case_signals.person_merged, _person_merged),
]


def connect():
    for i, (signal, receiver) in enumerate(RECEIVERS):
        signal.connect(receiver, weak=False, dispatch_uid=f"chronology-{i}-{receiver.__name__}")
