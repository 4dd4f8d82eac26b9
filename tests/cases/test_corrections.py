"""Correcting the case record: people, stays on the case, addresses, plans, hazards,
meetings and escalations.

Each update service keeps what it is not given, saves nothing when nothing changed,
writes one version by the person who made the change, refuses to overwrite a change
made since the form (or the API client) read the record, asks the policy first, and
its chronology entry follows the change (the same entry, updated)."""

import datetime
from dataclasses import dataclass, field
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts import roles
from cases import services
from cases.models import Address, ChildProtectionPlan, Escalation, Hazard, Meeting, Membership
from chronologies.models import ChronologyEntry
from common.concurrency import EditConflict
from tests.factories import AgencyFactory, PersonFactory, TeamFactory, UserFactory

D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2026, 3, 2, 10, 0))


@pytest.fixture(autouse=True)
def frozen():
    # Time moves on from NOW, so that each version has its own time.
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def people(worker, team):
    return {
        "worker": worker,
        "manager": UserFactory(
            username="manager",
            first_name="Grace",
            last_name="Okafor",
            team=team,
            role=roles.TEAM_MANAGER,
        ),
        "support": UserFactory(username="support", team=team, role=roles.BUSINESS_SUPPORT),
        "outsider": UserFactory(
            username="outsider", team=TeamFactory(name="South Assessment", code="south")
        ),
    }


@pytest.fixture
def record(case, worker):
    """The Carter family's record, made through the services so that every entry of the
    chronology exists as it would."""
    child = PersonFactory(first_name="Amy", last_name="Carter", date_of_birth=D(2018, 4, 2))
    mother = PersonFactory(first_name="Dana", last_name="Carter", date_of_birth=D(1990, 1, 1))
    made: dict[str, Any] = {"case": case, "child": child, "mother": mother}
    made["child_stay"] = services.membership_add(
        actor=worker, case=case, person=child, relationship="child", start_date=D(2026, 1, 5)
    )
    made["membership"] = services.membership_add(
        actor=worker, case=case, person=mother, relationship="mother", start_date=D(2026, 1, 5)
    )
    made["first_address"] = services.address_add(
        actor=worker,
        case=case,
        line_1="3 Old Road",
        town="Northtown",
        postcode="LS1 4AP",
        start_date=D(2026, 1, 5),
    )
    made["address"] = services.address_add(
        actor=worker,
        case=case,
        line_1="12 Mill Lane",
        town="Northtown",
        postcode="LS2 7HY",
        start_date=D(2026, 2, 1),
    )
    made["plan"] = services.plan_start(
        actor=worker, case=case, child=child, category="neglect", start_date=D(2026, 2, 2)
    )
    made["hazard"] = services.hazard_add(
        actor=worker, case=case, kind="animal", details="Large dog", start_date=D(2026, 1, 5)
    )
    made["meeting"] = services.meeting_record(
        actor=worker,
        case=case,
        kind="strategy",
        held_on=D(2026, 1, 20),
        chair="Grace Okafor, team manager",
        decisions="Section 47 enquiry",
        staff_attendees=[worker],
        agencies=[AgencyFactory(name="Northtown Primary")],
    )
    made["escalation"] = services.escalation_open(
        case=case,
        kind=Escalation.Kind.NON_COMPLIANCE,
        actor=worker,
        trigger_date=D(2026, 3, 2),
        reason="Mum refused entry twice",
    )
    return made


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def history_rows() -> int:
    """Rows in every history table (simple_history's, many-to-many ones included)."""
    return sum(
        model.objects.count()
        for model in apps.get_models()
        if any(f.name == "history_id" for f in model._meta.fields)
    )


def entries(record, source_type):
    return ChronologyEntry.objects.filter(source_type=source_type, source_id=str(record.pk))


@dataclass
class Kind:
    """How to correct one kind of record, for the tests every kind must pass."""

    update: Any  # the service
    arg: str  # the name it takes the record by
    version: Any
    fields: tuple[str, ...]  # what its form shows
    change: dict  # a correction
    other_change: dict  # someone else's, made first
    said: str  # what the conflict message says of the other change
    source: str  # its chronology entry
    entry_shows: Any  # the entry after `change`: what it must say
    extra: dict = field(default_factory=dict)

    def values(self, record) -> dict:
        values = {}
        for name in self.fields:
            value = getattr(record, name)
            if name in ("staff_attendees", "agencies"):
                value = list(value.all())
            values[name] = value
        return values


KINDS = {
    "membership": Kind(
        update=services.membership_update,
        arg="membership",
        version=services.membership_version,
        fields=services.MEMBERSHIP_FIELDS,
        change={"relationship": "step_parent"},
        other_change={"lives_in_household": False},
        said="lives in household is now “no”",
        source="member_joined",
        entry_shows=lambda e: "(step-parent) joined the household" in e.title,
    ),
    "address": Kind(
        update=services.address_update,
        arg="address",
        version=services.address_version,
        fields=services.ADDRESS_FIELDS,
        change={"town": "Southtown"},
        other_change={"postcode": "ls27hz"},
        said="postcode is now “LS2 7HZ”",
        source="address",
        entry_shows=lambda e: e.title == "Family moved to Southtown (LS2 7HY)",
    ),
    "plan": Kind(
        update=services.plan_update,
        arg="plan",
        version=services.plan_version,
        fields=services.PLAN_FIELDS,
        change={"category": "physical"},
        other_change={"start_date": D(2026, 2, 3)},
        said="start date is now “03/02/2026”",
        source="plan_started",
        entry_shows=lambda e: e.title.endswith("(physical abuse)"),
    ),
    "hazard": Kind(
        update=services.hazard_update,
        arg="hazard",
        version=services.hazard_version,
        fields=services.HAZARD_FIELDS,
        change={"details": "Two large dogs; ask for them to be shut in"},
        other_change={"kind": "threats"},
        said="kind is now “Threats or violence to staff”",
        source="hazard",
        entry_shows=lambda e: e.details == "Two large dogs; ask for them to be shut in",
    ),
    "meeting": Kind(
        update=services.meeting_update,
        arg="meeting",
        version=services.meeting_version,
        fields=services.MEETING_FIELDS,
        change={"chair": "Sam Reid, service manager"},
        other_change={"decisions": "No further action on the enquiry"},
        said="decisions is now “No further action on the enquiry”",
        source="meeting",
        entry_shows=lambda e: "(chair: Sam Reid, service manager)" in e.title,
    ),
    "escalation": Kind(
        update=services.escalation_update,
        arg="escalation",
        version=services.escalation_version,
        fields=("reason",),
        change={"reason": "Mum refused entry three times"},
        other_change={"reason": "Mum refused entry twice; dad shouted at the worker"},
        said="reason is now “Mum refused entry twice; dad shouted at the worker”",
        source="escalation",
        entry_shows=lambda e: e.details == "Mum refused entry three times",
    ),
}


def correct(kind: Kind, actor, obj, /, **values):
    return kind.update(actor=actor, **{kind.arg: obj}, **values)


@pytest.mark.parametrize("name", sorted(KINDS))
def test_a_correction_with_nothing_changed_saves_nothing(record, worker, name):
    kind, obj = KINDS[name], record[name]
    before = history_rows()
    version = kind.version(fresh(obj))

    correct(kind, worker, fresh(obj), version=version, **kind.values(fresh(obj)))

    assert history_rows() == before
    assert kind.version(fresh(obj)) == version


@pytest.mark.parametrize("name", sorted(KINDS))
def test_a_correction_writes_one_version_by_who_made_it(record, people, name):
    kind, obj = KINDS[name], record[name]
    versions = obj.history.count()

    correct(kind, people["manager"], fresh(obj), version=kind.version(fresh(obj)), **kind.change)

    stored = fresh(obj)
    for attribute, value in kind.change.items():
        assert getattr(stored, attribute) == value
    assert obj.history.count() == versions + 1
    assert obj.history.first().history_user == people["manager"]


@pytest.mark.parametrize("name", sorted(KINDS))
def test_a_correction_over_a_newer_change_is_refused_saying_who_changed_what(record, people, name):
    kind, obj = KINDS[name], record[name]
    read = kind.version(fresh(obj))  # the worker opens the form
    correct(kind, people["manager"], fresh(obj), **kind.other_change)  # Grace saves first
    theirs = kind.version(fresh(obj))

    with pytest.raises(EditConflict) as refused:
        correct(kind, people["worker"], fresh(obj), version=read, **kind.change)

    message = refused.value.messages[0]
    assert message.startswith("Grace Okafor changed"), message
    assert kind.said in message, message
    assert refused.value.current_version == theirs
    assert kind.version(fresh(obj)) == theirs  # nothing of the worker's was saved
    # Having seen it, the worker saves over it with the version now stored.
    correct(kind, people["worker"], fresh(obj), version=theirs, **kind.change)
    assert obj.history.first().history_user == people["worker"]


@pytest.mark.parametrize("name", sorted(KINDS))
def test_a_correction_is_refused_to_whom_the_policy_refuses(record, people, name):
    kind, obj = KINDS[name], record[name]
    version = kind.version(fresh(obj))

    with pytest.raises(PermissionDenied):
        correct(kind, people["outsider"], fresh(obj), **kind.change)

    assert kind.version(fresh(obj)) == version


@pytest.mark.parametrize("name", sorted(KINDS))
def test_the_chronology_entry_follows_the_correction(record, worker, name):
    kind, obj = KINDS[name], record[name]
    assert entries(obj, kind.source).count() == 1
    entry = entries(obj, kind.source).get()

    correct(kind, worker, fresh(obj), **kind.change)

    after = entries(obj, kind.source).get()  # the same entry, not another
    assert after.pk == entry.pk
    assert kind.entry_shows(after), (after.title, after.details)
    assert after.history.first().history_user == worker


# --- People and their stays on the case ---------------------------------------------------


def test_a_person_s_details_refuse_a_stale_version(record, people):
    mother = record["mother"]
    read = services.person_version(mother)
    services.person_update(actor=people["manager"], person=mother, first_name="Danielle")

    with pytest.raises(EditConflict, match="first name is now “Danielle”"):
        services.person_update(
            actor=people["worker"], person=mother, version=read, first_name="Dana-Marie"
        )

    assert fresh(mother).first_name == "Danielle"


def test_where_they_live_refuses_a_stale_version(record, people):
    stay = record["membership"]
    read = services.membership_version(stay)
    services.membership_update(actor=people["manager"], membership=stay, relationship="other_adult")

    with pytest.raises(EditConflict, match="relationship is now “Other adult”"):
        services.membership_set_household(
            actor=people["worker"], membership=stay, lives_in_household=False, version=read
        )

    assert fresh(stay).lives_in_household is True


def test_stays_of_one_person_may_not_be_corrected_into_an_overlap(record, worker):
    case, mother = record["case"], record["mother"]
    services.membership_end(
        actor=worker, membership=record["membership"], end_date=D(2026, 1, 31), reason="Left"
    )
    later = services.membership_add(
        actor=worker, case=case, person=mother, relationship="mother", start_date=D(2026, 2, 20)
    )

    with pytest.raises(ValidationError) as refused:
        services.membership_update(
            actor=worker, membership=record["membership"], end_date=D(2026, 2, 25)
        )
    assert "overlaps their stay from 20/02/2026" in refused.value.message_dict["end_date"][0]

    with pytest.raises(ValidationError) as refused:
        services.membership_update(actor=worker, membership=later, start_date=D(2026, 1, 20))
    assert "start_date" in refused.value.message_dict

    # Taking away the end of the first stay would leave two open at once.
    with pytest.raises(ValidationError):
        services.membership_update(actor=worker, membership=record["membership"], end_date=None)
    assert fresh(record["membership"]).end_date == D(2026, 1, 31)


def test_a_child_on_a_plan_stays_a_child_on_the_day_it_started(record, worker):
    stay = record["child_stay"]

    with pytest.raises(ValidationError) as refused:
        services.membership_update(actor=worker, membership=stay, relationship="sibling")
    assert "02/02/2026" in refused.value.message_dict["relationship"][0]

    with pytest.raises(ValidationError) as refused:
        services.membership_update(actor=worker, membership=stay, start_date=D(2026, 2, 10))
    assert "start_date" in refused.value.message_dict
    assert fresh(stay).start_date == D(2026, 1, 5)


def test_correcting_when_they_left_updates_the_entry_and_taking_it_away_strikes_it(record, worker):
    stay = record["membership"]
    services.membership_end(actor=worker, membership=stay, end_date=D(2026, 2, 1), reason="Left")

    services.membership_update(
        actor=worker, membership=stay, end_date=D(2026, 2, 3), end_reason="Moved to her sister's"
    )
    left = entries(stay, "member_left").get()
    assert (left.occurred_on, left.details) == (D(2026, 2, 3), "Moved to her sister's")

    services.membership_update(actor=worker, membership=stay, end_date=None)
    assert fresh(stay).end_reason == ""
    assert entries(stay, "member_left").get().source_in_error  # struck, kept

    services.membership_update(actor=worker, membership=stay, end_date=D(2026, 2, 5))
    again = entries(stay, "member_left").get()
    assert (again.pk, again.source_in_error, again.occurred_on) == (left.pk, False, D(2026, 2, 5))


# --- Addresses ---------------------------------------------------------------------------


def test_a_new_move_in_date_moves_the_end_of_the_address_before(record, worker):
    first, address = record["first_address"], record["address"]
    assert fresh(first).end_date == D(2026, 1, 31)

    services.address_update(actor=worker, address=address, start_date=D(2026, 2, 10))

    assert fresh(first).end_date == D(2026, 2, 9)
    assert fresh(first).history.first().history_user == worker
    assert entries(address, "address").get().occurred_on == D(2026, 2, 10)


def test_a_move_in_date_must_stay_after_the_address_before(record, worker):
    with pytest.raises(ValidationError) as refused:
        services.address_update(actor=worker, address=record["address"], start_date=D(2026, 1, 5))

    assert "after they moved to the address before" in refused.value.message_dict["start_date"][0]
    assert fresh(record["first_address"]).end_date == D(2026, 1, 31)
    assert fresh(record["address"]).start_date == D(2026, 2, 1)


def test_an_address_correction_is_checked_as_an_address_is(record, worker):
    with pytest.raises(ValidationError) as refused:
        services.address_update(actor=worker, address=record["address"], postcode="nonsense")
    assert "postcode" in refused.value.message_dict

    with pytest.raises(ValidationError) as refused:
        services.address_update(actor=worker, address=record["address"], line_1="  ")
    assert "line_1" in refused.value.message_dict
    assert fresh(record["address"]).line_1 == "12 Mill Lane"


def test_the_left_entry_of_an_address_follows_its_town(record, worker):
    address = record["address"]
    services.address_end(actor=worker, address=address, end_date=D(2026, 2, 20))

    services.address_update(actor=worker, address=address, town="Southtown")

    assert (
        entries(address, "address_left")
        .get()
        .title.startswith("Family left their address in Southtown")
    )
    # An address a move ended has no such entry, and gets none.
    services.address_update(actor=worker, address=record["first_address"], town="Easttown")
    assert not entries(record["first_address"], "address_left").exists()


# --- Plans --------------------------------------------------------------------------------


def test_a_plan_starts_for_a_child_on_the_case_that_day(record, worker):
    with pytest.raises(ValidationError) as refused:
        services.plan_update(actor=worker, plan=record["plan"], start_date=D(2025, 12, 1))

    assert "child on this case" in refused.value.message_dict["start_date"][0]


def test_a_plan_may_not_be_corrected_into_another_plan(record, worker, case):
    plan = record["plan"]
    services.plan_end(actor=worker, plan=plan, end_date=D(2026, 2, 20))
    later = services.plan_start(
        actor=worker,
        case=case,
        child=record["child"],
        category="emotional",
        start_date=D(2026, 2, 25),
    )

    with pytest.raises(ValidationError, match="overlaps another plan"):
        services.plan_update(actor=worker, plan=later, start_date=D(2026, 2, 15))

    with pytest.raises(ValidationError, match="cannot start after it ended"):
        services.plan_update(actor=worker, plan=plan, start_date=D(2026, 2, 21))


# --- Hazards ------------------------------------------------------------------------------


def test_a_hazard_s_end_date_taken_away_makes_it_active_and_strikes_its_end(record, worker):
    hazard = record["hazard"]
    services.hazard_end(actor=worker, hazard=hazard, end_date=D(2026, 2, 1))
    assert not entries(hazard, "hazard_ended").get().source_in_error

    services.hazard_update(actor=worker, hazard=hazard, end_date=None)

    assert fresh(hazard).end_date is None
    assert entries(hazard, "hazard_ended").get().source_in_error


def test_a_hazard_cannot_end_before_it_starts(record, worker):
    with pytest.raises(ValidationError) as refused:
        services.hazard_update(actor=worker, hazard=record["hazard"], end_date=D(2025, 1, 1))
    assert "end_date" in refused.value.message_dict


def test_a_hazard_on_a_person_is_corrected_by_whoever_may_change_their_details(record, people):
    hazard = services.hazard_add(
        actor=people["worker"],
        person=record["mother"],
        kind="aggressive_adult",
        details="Shouts at visitors",
        start_date=D(2026, 1, 5),
    )

    services.hazard_update(actor=people["support"], hazard=hazard, details="Shouts; never alone")
    with pytest.raises(PermissionDenied):
        services.hazard_update(actor=people["outsider"], hazard=hazard, details="Nothing")

    assert fresh(hazard).details == "Shouts; never alone"


# --- Meetings ----------------------------------------------------------------------------


def test_who_attended_is_corrected_in_one_version(record, people):
    meeting = record["meeting"]
    versions = meeting.history.count()
    police = AgencyFactory(name="Northtown Police")

    services.meeting_update(
        actor=people["manager"],
        meeting=meeting,
        staff_attendees=[people["worker"], people["manager"]],
        agencies=[*meeting.agencies.all(), police],
        other_attendees="Mum",
    )

    stored = fresh(meeting)
    assert set(stored.staff_attendees.all()) == {people["worker"], people["manager"]}
    assert police in stored.agencies.all()
    assert meeting.history.count() == versions + 1
    latest = meeting.history.first()
    assert latest.history_user == people["manager"]
    assert {row.user_id for row in latest.staff_attendees.all()} == {
        people["worker"].pk,
        people["manager"].pk,
    }
    assert "Northtown Police" in entries(meeting, "meeting").get().details


def test_a_change_of_who_attended_since_the_form_was_read_is_a_conflict(record, people):
    meeting = record["meeting"]
    read = services.meeting_version(meeting)
    services.meeting_update(actor=people["manager"], meeting=meeting, staff_attendees=[])

    with pytest.raises(EditConflict, match="Grace Okafor changed this meeting"):
        services.meeting_update(
            actor=people["worker"], meeting=meeting, version=read, chair="Someone else"
        )


def test_the_kind_or_date_of_a_meeting_that_met_an_escalation_cannot_change(record, worker):
    escalation = record["escalation"]
    meeting = services.meeting_record(
        actor=worker,
        case=record["case"],
        kind=escalation.required_meeting,
        held_on=D(2026, 3, 2),
        chair="Grace Okafor",
        decisions="Written agreement",
    )
    assert fresh(escalation).state == Escalation.State.MET

    with pytest.raises(ValidationError) as refused:
        services.meeting_update(actor=worker, meeting=meeting, held_on=D(2026, 3, 1))
    message = refused.value.message_dict["held_on"][0]
    assert "met the non-compliance concern escalation due" in message
    assert "mark this meeting as recorded in error and record it again" in message

    with pytest.raises(ValidationError) as refused:
        services.meeting_update(actor=worker, meeting=meeting, kind="strategy")
    assert "kind" in refused.value.message_dict

    # What was said and decided can still be corrected.
    services.meeting_update(actor=worker, meeting=meeting, decisions="Written agreement signed")
    assert (fresh(meeting).held_on, fresh(escalation).met_by) == (D(2026, 3, 2), meeting)


def test_a_meeting_corrected_into_one_that_would_meet_an_escalation_is_refused(record, worker):
    escalation = record["escalation"]  # fired 2 March, wants a multi-agency meeting
    meeting = record["meeting"]  # a strategy discussion on 20 January

    with pytest.raises(ValidationError, match="would meet the non-compliance"):
        services.meeting_update(
            actor=worker, meeting=meeting, kind=escalation.required_meeting, held_on=D(2026, 3, 2)
        )

    # Of that kind before the escalation fired, it meets nothing, and may be corrected.
    services.meeting_update(actor=worker, meeting=meeting, kind=escalation.required_meeting)
    assert fresh(meeting).kind == escalation.required_meeting
    assert fresh(escalation).is_active
    assert (
        entries(meeting, "meeting")
        .get()
        .title.startswith(f"{fresh(meeting).get_kind_display()} held")
    )


def test_a_meeting_cannot_be_corrected_to_before_the_case_opened_or_to_the_future(record, worker):
    for day in (D(2025, 12, 1), D(2026, 12, 1)):
        with pytest.raises(ValidationError) as refused:
            services.meeting_update(actor=worker, meeting=record["meeting"], held_on=day)
        assert "held_on" in refused.value.message_dict


# --- Escalations --------------------------------------------------------------------------


def test_a_defaulted_visits_escalation_s_reason_is_the_rule_s(record, people):
    rule = services.escalation_open(
        case=record["case"],
        kind=Escalation.Kind.DEFAULTED_VISITS,
        trigger_date=D(2026, 3, 2),
        reason="4 defaulted visits since 5 January 2026",
    )
    with pytest.raises(PermissionDenied):
        services.escalation_update(actor=people["manager"], escalation=rule, reason="Other")
    assert fresh(rule).reason == "4 defaulted visits since 5 January 2026"


def test_business_support_does_not_correct_an_escalation(record, people):
    with pytest.raises(PermissionDenied):
        services.escalation_update(
            actor=people["support"], escalation=record["escalation"], reason="Other"
        )


def test_a_met_or_cancelled_escalation_stands_as_it_closed(record, people):
    escalation = services.escalation_cancel(
        actor=people["manager"], escalation=record["escalation"], reason="Raised on wrong case"
    )
    with pytest.raises(PermissionDenied):
        services.escalation_update(actor=people["manager"], escalation=escalation, reason="X")


def test_an_escalation_closed_after_its_form_was_read_is_not_corrected(record, people):
    escalation = record["escalation"]
    services.escalation_cancel(actor=people["manager"], escalation=escalation, reason="Twice")

    # The form was opened while it was open: the version it carries is older.
    with pytest.raises(EditConflict, match="state is now “Cancelled”"):
        services.escalation_update(
            actor=people["worker"],
            escalation=escalation,  # as it was read, open
            reason="Other",
            version=services.escalation_version(escalation),
        )
    # Without a version, it is refused all the same.
    with pytest.raises(ValidationError, match="already cancelled"):
        services.escalation_update(actor=people["worker"], escalation=escalation, reason="Other")
    assert fresh(escalation).reason == "Mum refused entry twice"


def test_the_record_kinds_tested_are_every_kind_with_an_update_service():
    models = {
        "membership": Membership,
        "address": Address,
        "plan": ChildProtectionPlan,
        "hazard": Hazard,
        "meeting": Meeting,
        "escalation": Escalation,
    }
    assert set(KINDS) == set(models)
    for name, model in models.items():
        assert getattr(services, f"{name}_update") is KINDS[name].update, model
