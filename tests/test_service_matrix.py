"""Every state-changing service, called as every role, on four kinds of case.

The services are found, not listed: every public function of the services modules that
takes a keyword `actor`. Each must have a row in MATRIX (how to call it, and who may)
or be in SYSTEM_SERVICES with the reason only the system calls it, so a service added
later fails this file until someone says who may call it.

The expected outcomes are written here from docs/DECISIONS.md ("Who may do what inside
it" and "Who may do what in supervision"), not computed with `accounts.policy`: the
matrix checks the policy and the services against the decisions, so it can fail.

Each cell runs in a savepoint that is rolled back, so one world (built once for the
module) serves every service, role and case. A cell's outcome is one of:

    done     the service returned
    denied   PermissionDenied
    closed   ValidationError saying the case is closed (the record is read-only)
    invalid  any other ValidationError (the actor may, the input or state is refused)

Adding a row: a builder `(world, kind) -> kwargs` that makes valid arguments for the
case of that kind (the cell's savepoint undoes whatever it writes), and who may call it.
"""

import datetime
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import roles
from cases.models import Case, ChildProtectionPlan, Escalation, Hazard
from chronologies import services as chronology_services
from chronologies.services import ManualEntryInput
from supervision.models import QUESTION_FIELDS
from supervision.services import Answers
from tests.factories import (
    AddressFactory,
    CaseDiscussionFactory,
    CaseFactory,
    ChronologyEntryFactory,
    DecisionFactory,
    EscalationFactory,
    HazardFactory,
    MeetingFactory,
    MembershipFactory,
    PersonFactory,
    PlanFactory,
    SupervisionActionFactory,
    SupervisionSessionFactory,
    TeamFactory,
    UserFactory,
    VisitFactory,
    WrittenAgreementFactory,
)
from visits.models import LoneWorkingCheckIn, Visit
from visits.services import Outcome

SERVICE_MODULES = (
    "cases.services",  # and each of its submodules
    "visits.services",
    "visits.lone_working",
    "supervision.services",
    "chronologies.services",
)

# Called by the system, never on a user's behalf: `actor` is who caused the event, if
# anyone, and the service that announced the event has already asked the policy.
SYSTEM_SERVICES = {
    "entries_record": "writes the chronology entries of recorded events (signal receivers)",
    "entry_record": "one event's entry, through entries_record",
    "entries_mark_source_in_error": "strikes the entries of a source marked in error",
    "entries_child_merged": "moves the children of entries when person_merge announces it",
}

NOW = timezone.make_aware(datetime.datetime(2026, 3, 16, 12, 0))
D = datetime.date

ROLES = (
    "allocated_worker",
    "team_worker",
    "team_manager",
    "supervisor",
    "business_support",
    "service_manager",
    "other_worker",
    "other_manager",
)
KINDS = ("own_team", "other_team", "restricted", "closed")

DONE, DENIED, CLOSED, INVALID = "done", "denied", "closed", "invalid"


# --- What DECISIONS.md says, per role and kind of case --------------------------------
# The world: team A holds the own-team, restricted and closed cases, allocated to the
# allocated worker; team B the other team's case, allocated to the other team's worker.
# The restricted case names its allocated worker and the team manager. The service
# manager belongs to team B.

TEAM_A = {"allocated_worker", "team_worker", "team_manager", "supervisor", "business_support"}
TEAM_B = {"other_worker", "other_manager", "service_manager"}
MANAGERS = {"team_manager", "service_manager", "other_manager"}

# Who sees a case: its team, its allocated workers, service managers; a restricted case
# only those named on it (the service manager is not).
SEES = {
    "own_team": TEAM_A | {"service_manager"},
    "other_team": {"other_worker", "other_manager", "service_manager"},
    "restricted": {"allocated_worker", "team_manager"},
    "closed": TEAM_A | {"service_manager"},
}
ALLOCATED = {
    "own_team": {"allocated_worker"},
    "other_team": {"other_worker"},
    "restricted": {"allocated_worker"},
    "closed": {"allocated_worker"},
}


def anyone_who_sees(kind: str) -> set[str]:
    """Anyone who can see a case may add to its record."""
    return SEES[kind]


def allocated_or_managers(kind: str) -> set[str]:
    """Closing: an allocated worker or a manager."""
    return SEES[kind] & (ALLOCATED[kind] | MANAGERS)


def managers(kind: str) -> set[str]:
    """Reopening, allocating, restricting, cancelling an escalation: managers."""
    return SEES[kind] & MANAGERS


def workers_and_managers(kind: str) -> set[str]:
    """Raising an escalation by hand: workers, practice supervisors and managers."""
    return SEES[kind] - {"business_support"}


def own_team_or_service_manager(kind: str) -> set[str]:
    """Opening a case: staff in their own team, service managers in any team."""
    return (TEAM_B if kind == "other_team" else TEAM_A) | {"service_manager"}


def mergers(kind: str) -> set[str]:
    """Merging two records of one person: managers and business support, when neither
    record is on a restricted case they cannot see (search before create looks across
    the authority, so another team's manager may)."""
    allowed = {"team_manager", "service_manager", "other_manager", "business_support"}
    return allowed & SEES["restricted"] if kind == "restricted" else allowed


def any_staff(kind: str) -> set[str]:
    """Recording a person: any member of staff."""
    return set(ROLES)


# Supervision: each kind of case is discussed in a session of people who can see it.
SESSIONS = {  # kind: (supervisee, supervisor)
    "own_team": ("allocated_worker", "supervisor"),
    "other_team": ("other_worker", "other_manager"),
    "restricted": ("allocated_worker", "team_manager"),
    "closed": ("allocated_worker", "supervisor"),
}
# The supervisor, or a manager who sees the session (the team manager of its team, a
# service manager), arranges and records it.
RECORDERS = {
    "own_team": {"supervisor", "team_manager", "service_manager"},
    "other_team": {"other_manager", "service_manager"},
    "restricted": {"team_manager", "service_manager"},
    "closed": {"supervisor", "team_manager", "service_manager"},
}


def recorders(kind: str) -> set[str]:
    return RECORDERS[kind]


def the_supervisor(kind: str) -> set[str]:
    """Only the supervisor signs the record off."""
    return {SESSIONS[kind][1]}


def the_requester(kind: str) -> set[str]:
    """A redacted export's review: only whoever asked for the export (see redacted_export)."""
    return ALLOCATED[kind]


def redacted_export(world: "World", kind: str):
    """A redacted export of the case, asked for by its allocated worker, awaiting review."""
    return chronology_services.export_request(
        actor=world.user(next(iter(ALLOCATED[kind]))),
        case=world.case(kind),
        format="pdf",
        redacted=True,
        in_error="leave_out",
        filters={},
        now=NOW,
    )


def owner_or_recorders(kind: str) -> set[str]:
    """An action is moved on by its owner (here the supervisee) or a recorder."""
    return {SESSIONS[kind][0]} | RECORDERS[kind]


def lone_check_in(world: "World", kind: str, alerted: bool = False) -> LoneWorkingCheckIn:
    """The case's allocated worker checked in on it (overdue and alerted if asked)."""
    worker = world.user(next(iter(ALLOCATED[kind])))
    return LoneWorkingCheckIn.objects.create(
        worker=worker,
        case=world.case(kind),
        address="1 Mill Lane",
        checked_in_at=NOW - datetime.timedelta(hours=2),
        expected_end_at=NOW - datetime.timedelta(hours=1),
        due_at=NOW - datetime.timedelta(minutes=45),
        state="alerted" if alerted else "in",
        first_alert_at=NOW if alerted else None,
    )


@dataclass(frozen=True)
class Row:
    build: Callable[["World", str], dict]
    who: Callable[[str], set[str]]
    # On a closed case: refused ("closed", or "denied" for those who may not anyway),
    # or allowed as on an open case.
    closed_case: str = "refused"
    # What those allowed get on an open case (reopening an open case is invalid).
    on_open_case: str = DONE
    # What an allowed actor who cannot see the case gets (supervision names cases).
    case_unseen: str | None = None

    def expected(self, role: str, kind: str) -> str:
        if role not in self.who(kind):
            return DENIED
        if self.case_unseen and role not in SEES[kind]:
            return self.case_unseen
        if kind == "closed":
            return CLOSED if self.closed_case == "refused" else DONE
        return self.on_open_case


# --- The world ------------------------------------------------------------------------


class World:
    def __init__(self):
        team_a = TeamFactory(name="Team A", code="a")
        team_b = TeamFactory(name="Team B", code="b")
        self.teams = {"a": team_a, "b": team_b}
        u = self.users = {
            "allocated_worker": UserFactory(username="alloc", team=team_a),
            "team_worker": UserFactory(username="tw", team=team_a),
            "team_manager": UserFactory(username="tm", team=team_a, role=roles.TEAM_MANAGER),
            "supervisor": UserFactory(username="ps", team=team_a, role=roles.PRACTICE_SUPERVISOR),
            "business_support": UserFactory(
                username="bs", team=team_a, role=roles.BUSINESS_SUPPORT
            ),
            "service_manager": UserFactory(username="sm", team=team_b, role=roles.SERVICE_MANAGER),
            "other_worker": UserFactory(username="ow", team=team_b),
            "other_manager": UserFactory(username="om", team=team_b, role=roles.TEAM_MANAGER),
        }
        self.objects: dict[str, dict] = {}
        for kind in KINDS:
            team = team_b if kind == "other_team" else team_a
            case = CaseFactory(
                team=team,
                restricted=kind == "restricted",
                created_by=u["team_manager"],
                opened_on=D(2026, 1, 5),
            )
            case.allocated_workers.add(
                u["other_worker" if kind == "other_team" else "allocated_worker"]
            )
            if kind == "restricted":
                case.restricted_to.add(u["allocated_worker"], u["team_manager"])
            child = MembershipFactory(case=case, relationship="child")
            lead = u["other_manager" if kind == "other_team" else "team_manager"]
            self.objects[kind] = {
                "case": case,
                "membership": child,
                "address": AddressFactory(case=case),
                # The closed case keeps an open plan, so that ending it is refused for
                # the case being closed, not for the plan having ended.
                "plan": PlanFactory(case=case, child=child.person),
                "hazard": HazardFactory(case=case),
                "agreement": WrittenAgreementFactory(case=case),
                "visit": VisitFactory(case=case, lead_worker=lead),
                "escalation": EscalationFactory(case=case),
                "meeting": MeetingFactory(case=case, created_by=lead),
                "entry": ChronologyEntryFactory(case=case),
            }
            if kind == "closed":
                Case.objects.filter(pk=case.pk).update(
                    status=Case.Status.CLOSED, closed_on=D(2026, 3, 2), closure_reason="nfa"
                )

    def get(self, kind: str, name: str):
        """A fresh copy of one of the case's records, as a page or the API would load it."""
        obj = self.objects[kind][name]
        return type(obj).objects.get(pk=obj.pk)

    def case(self, kind: str) -> Case:
        return self.get(kind, "case")

    def user(self, role: str):
        return self.users[role]

    def session(self, kind: str, status: str = "held"):
        supervisee, supervisor = (self.users[r] for r in SESSIONS[kind])
        return SupervisionSessionFactory(
            supervisee=supervisee, supervisor=supervisor, status=status, date=D(2026, 3, 9)
        )

    def discussion(self, kind: str):
        return CaseDiscussionFactory(session=self.session(kind), case=self.case(kind))


def _trigger_withdrawn(w, k):
    """The case's escalation, its trigger withdrawn by the rule (no one acts)."""
    escalation = w.get(k, "escalation")
    Escalation.objects.filter(pk=escalation.pk).update(
        trigger_withdrawn_at=NOW, trigger_withdrawn_count=3
    )
    escalation.refresh_from_db()
    return escalation


ANSWERS = Answers(
    lived_experience="Mia is hungry at school and frightened at home.",
    not_discussed=set(QUESTION_FIELDS),
)


def _end_plans(w: World, kind: str) -> dict:
    ChildProtectionPlan.objects.filter(case=w.case(kind)).update(end_date=D(2026, 3, 1))
    return dict(case=w.case(kind), closed_on=D(2026, 3, 10), reason="nfa")


def _new_child(w: World, kind: str) -> dict:
    child = MembershipFactory(case=w.case(kind), relationship="child").person
    return dict(case=w.case(kind), child=child, category="neglect", start_date=D(2026, 3, 2))


def _defaulted() -> Outcome:
    return Outcome(
        outcome=Visit.Outcome.DEFAULTED,
        occurred_at=NOW - datetime.timedelta(days=1),
        default_reason=Visit.DefaultReason.NO_ANSWER,
    )


# --- The matrix -----------------------------------------------------------------------
# One row per service: how to call it on the case of a kind, and who may.

MATRIX: dict[str, Row] = {
    # The case
    "case_create": Row(
        lambda w, k: dict(
            family_name="Hughes",
            team=w.teams["b" if k == "other_team" else "a"],
            summary="Referred by the school",
            opened_on=D(2026, 3, 2),
            restricted=k == "restricted",
        ),
        own_team_or_service_manager,
        closed_case="allowed",  # opening a case is not a write to a closed one
    ),
    "case_update": Row(
        lambda w, k: dict(case=w.case(k), family_name="Hughes-Brown", summary="Changed"),
        anyone_who_sees,
    ),
    "case_allocate": Row(
        lambda w, k: dict(
            case=w.case(k),
            workers=[w.user("other_manager" if k == "other_team" else "team_worker")],
        ),
        managers,
    ),
    "case_set_restriction": Row(
        lambda w, k: dict(case=w.case(k), restricted=True, named_users=[]),
        managers,
        closed_case="allowed",  # who may see a closed record can still be narrowed
    ),
    "case_close": Row(_end_plans, allocated_or_managers),
    "case_reopen": Row(
        lambda w, k: dict(case=w.case(k), reason="New referral from the school"),
        managers,
        closed_case="allowed",
        on_open_case=INVALID,  # "This case is already open"
    ),
    # People and membership
    "person_create": Row(
        lambda w, k: dict(first_name="Ava", last_name="Hughes"), any_staff, closed_case="allowed"
    ),
    "person_update": Row(
        lambda w, k: dict(person=w.get(k, "membership").person, first_name="Avery"),
        anyone_who_sees,
        closed_case="allowed",  # a person's details are not one case's record
    ),
    "person_merge": Row(
        lambda w, k: dict(
            keep=MembershipFactory(case=w.case(k), relationship="mother").person,
            duplicate=PersonFactory(),
            reason="One person recorded twice",
        ),
        mergers,
        closed_case="allowed",  # a person is not one case's record
    ),
    "membership_update": Row(
        lambda w, k: dict(membership=w.get(k, "membership"), lives_in_household=False),
        anyone_who_sees,
    ),
    "membership_add": Row(
        lambda w, k: dict(
            case=w.case(k),
            person=PersonFactory(),
            relationship="mother",
            start_date=D(2026, 3, 2),
        ),
        anyone_who_sees,
    ),
    "membership_end": Row(
        lambda w, k: dict(membership=w.get(k, "membership"), end_date=D(2026, 3, 2)),
        anyone_who_sees,
    ),
    "membership_set_household": Row(
        lambda w, k: dict(membership=w.get(k, "membership"), lives_in_household=False),
        anyone_who_sees,
    ),
    # Addresses, plans, hazards, meetings
    "address_add": Row(
        lambda w, k: dict(
            case=w.case(k),
            line_1="1 New Street",
            town="Northtown",
            postcode="LS1 4AP",
            start_date=D(2026, 3, 2),
        ),
        anyone_who_sees,
    ),
    "address_end": Row(
        lambda w, k: dict(address=w.get(k, "address"), end_date=D(2026, 3, 2)), anyone_who_sees
    ),
    "address_update": Row(
        lambda w, k: dict(address=w.get(k, "address"), line_1="2 New Street"), anyone_who_sees
    ),
    "plan_start": Row(_new_child, anyone_who_sees),
    "plan_update": Row(
        lambda w, k: dict(plan=w.get(k, "plan"), category="physical"), anyone_who_sees
    ),
    "plan_end": Row(
        lambda w, k: dict(plan=w.get(k, "plan"), end_date=D(2026, 3, 2)), anyone_who_sees
    ),
    "hazard_add": Row(
        lambda w, k: dict(
            case=w.case(k), kind=Hazard.Kind.WEAPON, details="Knife", start_date=D(2026, 3, 2)
        ),
        anyone_who_sees,
    ),
    "hazard_end": Row(
        lambda w, k: dict(hazard=w.get(k, "hazard"), end_date=D(2026, 3, 2)), anyone_who_sees
    ),
    "hazard_update": Row(
        lambda w, k: dict(hazard=w.get(k, "hazard"), details="Two large dogs"), anyone_who_sees
    ),
    "agreement_create": Row(
        lambda w, k: dict(
            case=w.case(k),
            unacceptable_behaviour="Threats to staff",
            family_agrees="Speak calmly to the worker",
            consequences=["office_only"],
            agreed_on=D(2026, 3, 2),
        ),
        anyone_who_sees,
    ),
    "agreement_update": Row(
        lambda w, k: dict(agreement=w.get(k, "agreement"), family_agrees="Keep the dog out"),
        anyone_who_sees,
    ),
    "agreement_end": Row(
        lambda w, k: dict(agreement=w.get(k, "agreement"), ended_on=D(2026, 3, 2), reason="Kept"),
        anyone_who_sees,
    ),
    "agreement_breach_record": Row(
        lambda w, k: dict(
            agreement=w.get(k, "agreement"), occurred_on=D(2026, 3, 2), what_happened="Shouting"
        ),
        anyone_who_sees,
    ),
    "meeting_update": Row(
        lambda w, k: dict(meeting=w.get(k, "meeting"), chair="Sam Patel"), anyone_who_sees
    ),
    "meeting_record": Row(
        lambda w, k: dict(
            case=w.case(k),
            kind="multi_agency",
            held_on=D(2026, 3, 9),
            chair="Grace Okafor",
            decisions="Unannounced visits weekly",
        ),
        anyone_who_sees,
    ),
    "record_mark_in_error": Row(
        lambda w, k: dict(record=w.get(k, "address"), reason="Wrong family"), anyone_who_sees
    ),
    # Escalations. Raised by hand here; the defaulted-visits rule opens them with
    # actor=None (tests/cases/test_escalations.py).
    "escalation_open": Row(
        lambda w, k: dict(
            case=w.case(k),
            kind=Escalation.Kind.NON_COMPLIANCE,
            trigger_date=D(2026, 3, 9),
            reason="Engages with the plan only in part",
        ),
        workers_and_managers,
    ),
    "escalation_cancel": Row(
        lambda w, k: dict(escalation=w.get(k, "escalation"), reason="Raised on the wrong case"),
        managers,
        # An escalation left active on a closed case still goes overdue and notifies.
        closed_case="allowed",
    ),
    "escalation_keep": Row(
        lambda w, k: dict(escalation=_trigger_withdrawn(w, k), reason="Still a pattern"),
        managers,
        closed_case="allowed",  # decided as a cancellation is
    ),
    "escalation_update": Row(
        lambda w, k: dict(
            escalation=EscalationFactory(
                case=w.case(k), kind=Escalation.Kind.NON_COMPLIANCE, state="open"
            ),
            reason="Engages with the plan only in part; misses health visits",
        ),
        workers_and_managers,  # the concern of one raised by hand: those who may raise one
    ),
    # Visits
    "visit_plan": Row(
        lambda w, k: dict(case=w.case(k), planned_for=NOW + datetime.timedelta(days=2)),
        anyone_who_sees,
    ),
    "visit_record": Row(
        lambda w, k: dict(visit=w.get(k, "visit"), data=_defaulted()), anyone_who_sees
    ),
    "visit_log": Row(lambda w, k: dict(case=w.case(k), data=_defaulted()), anyone_who_sees),
    "visit_mark_in_error": Row(
        lambda w, k: dict(visit=w.get(k, "visit"), reason="Wrong family"), anyone_who_sees
    ),
    # Lone working (docs/DECISIONS.md "Lone working"): case holders who see the case check
    # in; only the worker extends and checks out, even once the case is closed (they must
    # still get out); the worker's team managers and the service managers acknowledge.
    "lone_working_check_in": Row(
        lambda w, k: dict(
            case=w.case(k),
            address="1 Mill Lane",
            expected_end=NOW + datetime.timedelta(hours=1),
        ),
        lambda k: SEES[k] - {"business_support", "service_manager"},
    ),
    "lone_working_extend": Row(
        lambda w, k: dict(check_in=lone_check_in(w, k), minutes=15),
        lambda k: ALLOCATED[k],
        closed_case="allowed",
    ),
    "lone_working_check_out": Row(
        lambda w, k: dict(check_in=lone_check_in(w, k)),
        lambda k: ALLOCATED[k],
        closed_case="allowed",
    ),
    "lone_working_acknowledge": Row(
        lambda w, k: dict(check_in=lone_check_in(w, k, alerted=True), action="Phoned, safe"),
        lambda k: {"other_manager" if k == "other_team" else "team_manager", "service_manager"},
        closed_case="allowed",
    ),
    # The chronology
    "entry_add_manual": Row(
        lambda w, k: dict(
            case=w.case(k),
            data=ManualEntryInput(
                occurred_on=D(2026, 3, 2),
                title="Neighbour heard shouting",
                details="Late at night, a child crying",
                informant_type="neighbour",
            ),
        ),
        anyone_who_sees,
    ),
    "entry_update": Row(
        lambda w, k: dict(
            entry=w.get(k, "entry"),
            data=ManualEntryInput(
                occurred_on=D(2026, 2, 1),
                title="School reports child hungry, again",
                details="Child asked for food at breakfast club",
                informant_type="neighbour",
            ),
        ),
        anyone_who_sees,
    ),
    "entry_set_significance": Row(
        lambda w, k: dict(entry=w.get(k, "entry"), significance="critical"), anyone_who_sees
    ),
    "entry_mark_in_error": Row(
        lambda w, k: dict(entry=w.get(k, "entry"), reason="Wrong family"), anyone_who_sees
    ),
    "export_request": Row(
        lambda w, k: dict(
            case=w.case(k), format="csv", redacted=False, in_error="leave_out", filters={}
        ),
        anyone_who_sees,
        closed_case="allowed",  # reading a closed record
    ),
    # A redacted export is reviewed and approved by the one who asked for it (here the
    # allocated worker), while they see the case, closed or not.
    "redaction_review_update": Row(
        lambda w, k: dict(
            export=redacted_export(w, k), shown=["okonkwo"], redact=[], added_terms="x"
        ),
        the_requester,
        closed_case="allowed",
    ),
    "redaction_review_approve": Row(
        lambda w, k: dict(
            export=(export := redacted_export(w, k)),
            version=chronology_services.redaction_review_state(export).version,
            confirmed=True,
        ),
        the_requester,
        closed_case="allowed",
    ),
    # Supervision: sessions belong to their people, whatever case is discussed
    "session_create": Row(
        lambda w, k: dict(
            supervisee=w.user(SESSIONS[k][0]),
            supervisor=w.user(SESSIONS[k][1]),
            date=D(2026, 3, 20),
        ),
        recorders,
        closed_case="allowed",
    ),
    "session_hold": Row(
        lambda w, k: dict(session=w.session(k, "planned")), recorders, closed_case="allowed"
    ),
    "session_cancel": Row(
        lambda w, k: dict(session=w.session(k, "planned"), reason="Ill", new_date=D(2026, 3, 20)),
        recorders,
        closed_case="allowed",
    ),
    "session_sign_off": Row(
        lambda w, k: dict(session=w.session(k)), the_supervisor, closed_case="allowed"
    ),
    "session_update": Row(
        lambda w, k: dict(
            session=w.session(k), most_worried_case=w.case(k), most_worried_why="Bruising"
        ),
        recorders,
        case_unseen=INVALID,  # a case the recorder cannot see is not offered
        closed_case="allowed",  # the session's record, naming the case
    ),
    # ... discussions, decisions and actions are about the case
    "discussion_create": Row(
        lambda w, k: dict(session=w.session(k), case=w.case(k), data=ANSWERS),
        recorders,
        case_unseen=INVALID,
    ),
    "discussion_update": Row(
        lambda w, k: dict(discussion=w.discussion(k), data=ANSWERS),
        recorders,
        case_unseen=DENIED,
    ),
    "decision_record": Row(
        lambda w, k: dict(discussion=w.discussion(k), decision="Visit weekly", reasons="Risk"),
        recorders,
        case_unseen=DENIED,
    ),
    "action_create": Row(
        lambda w, k: dict(
            discussion=w.discussion(k),
            description="Speak to the school nurse",
            owner=w.user(SESSIONS[k][0]),
            due_date=D(2026, 3, 30),
        ),
        recorders,
        case_unseen=DENIED,
    ),
    "decision_update": Row(
        lambda w, k: dict(
            decision=DecisionFactory(discussion=w.discussion(k)),
            text="Unannounced visit within three days",
            reasons="Risk has risen",
        ),
        recorders,
        case_unseen=DENIED,
    ),
    "action_update": Row(
        lambda w, k: dict(
            action=SupervisionActionFactory(
                discussion=w.discussion(k), owner=w.user(SESSIONS[k][0])
            ),
            description="Speak to the school nurse and the GP",
            owner=w.user(SESSIONS[k][0]),
            due_date=D(2026, 3, 30),
        ),
        recorders,
        case_unseen=DENIED,
    ),
    # Actions already agreed are moved on whatever happened to the case since.
    "action_set_status": Row(
        lambda w, k: dict(
            action=SupervisionActionFactory(
                discussion=w.discussion(k), owner=w.user(SESSIONS[k][0])
            ),
            status="in_progress",
        ),
        owner_or_recorders,
        closed_case="allowed",
    ),
    "action_complete": Row(
        lambda w, k: dict(
            action=SupervisionActionFactory(
                discussion=w.discussion(k), owner=w.user(SESSIONS[k][0])
            )
        ),
        owner_or_recorders,
        closed_case="allowed",
    ),
}


# --- Finding the services -------------------------------------------------------------


def state_changing_services() -> dict[str, Callable]:
    """Every public function defined in the services modules with an `actor` parameter."""
    names = list(SERVICE_MODULES)
    package = importlib.import_module("cases.services")
    names += [f"cases.services.{m.name}" for m in pkgutil.iter_modules(package.__path__)]
    found: dict[str, Callable] = {}
    for name in names:
        for attr, value in vars(importlib.import_module(name)).items():
            if attr.startswith("_") or not inspect.isfunction(value) or value.__module__ != name:
                continue
            if "actor" not in inspect.signature(value).parameters:
                continue
            same = found.setdefault(value.__name__, value)
            assert inspect.unwrap(same) is inspect.unwrap(value), f"two services named {attr}"
    return found


def test_it_has_a_row_for_every_state_changing_service(record_property):
    found = state_changing_services()
    services = set(found)
    positional = [
        name
        for name, service in found.items()
        if inspect.signature(service).parameters["actor"].kind is not inspect.Parameter.KEYWORD_ONLY
    ]
    assert not positional, f"services take `actor` as a keyword only: {positional}"
    unlisted = services - set(MATRIX) - set(SYSTEM_SERVICES)
    assert not unlisted, f"add a row to MATRIX (or SYSTEM_SERVICES) for {sorted(unlisted)}"
    gone = (set(MATRIX) | set(SYSTEM_SERVICES)) - services
    assert not gone, f"no longer services: {sorted(gone)}"
    assert not set(MATRIX) & set(SYSTEM_SERVICES)
    record_property(
        "service_matrix",
        f"{len(MATRIX)} services x {len(ROLES)} roles x {len(KINDS)} kinds of case = "
        f"{len(MATRIX) * len(ROLES) * len(KINDS)} cells "
        f"({len(SYSTEM_SERVICES)} system services)",
    )


class _Rollback(Exception):
    pass


def call(service: Callable, row: Row, world: World, role: str, kind: str) -> str:
    """Call the service as `role` on the case of `kind` and undo whatever it did."""
    outcome = ""
    try:
        with transaction.atomic():
            kwargs = row.build(world, kind)
            try:
                service(actor=world.user(role), now=NOW, **kwargs)
            except PermissionDenied:
                outcome = DENIED
            except ValidationError as exc:
                text = " ".join(exc.messages)
                closed = "case is closed" in text or "case is already closed" in text
                outcome = CLOSED if closed else INVALID
            else:
                outcome = DONE
            raise _Rollback
    except _Rollback:
        pass
    return outcome


def _format(table: dict[tuple[str, str], str]) -> str:
    width = max(len(r) for r in ROLES)
    lines = [" " * width + "  " + "  ".join(f"{k:>10}" for k in KINDS)]
    for role in ROLES:
        lines.append(f"{role:>{width}}  " + "  ".join(f"{table[role, k]:>10}" for k in KINDS))
    return "\n".join(lines)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One world for the whole matrix, rolled back at the end; each test's own
    transaction (`db`) and each cell's savepoint sit inside it."""
    with django_db_blocker.unblock(), transaction.atomic():
        built = World()
        yield built
        transaction.set_rollback(True)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_it_lets_each_role_do_what_the_decisions_say(world, db, name):
    service = state_changing_services()[name]
    row = MATRIX[name]
    actual = {
        (role, kind): call(service, row, world, role, kind) for role in ROLES for kind in KINDS
    }
    expected = {(role, kind): row.expected(role, kind) for role in ROLES for kind in KINDS}
    assert actual == expected, (
        f"{name}\nexpected:\n{_format(expected)}\nactual:\n{_format(actual)}\n"
        "differs at: "
        + ", ".join(f"{r}/{k}" for (r, k) in expected if actual[r, k] != expected[r, k])
    )
