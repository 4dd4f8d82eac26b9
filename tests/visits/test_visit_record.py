"""Recording what happened on a visit: bad input is refused with the field named, and a
refused or failed record leaves nothing behind (R5)."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from cases.models import Case, Membership
from tests.factories import CaseFactory, MembershipFactory, PersonFactory, VisitFactory
from visits import services, signals
from visits.models import ChildSeen, Observation, Visit
from visits.services import ChildSeenInput, ObservationInput, Outcome

D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2026, 3, 10, 16, 0))


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def case(worker):
    case = CaseFactory(team=worker.team, opened_on=D(2026, 1, 5))
    case.allocated_workers.add(worker)
    return case


@pytest.fixture
def child(case):
    return MembershipFactory(case=case, start_date=D(2026, 1, 5)).person


@pytest.fixture
def visit(case, worker):
    return VisitFactory(case=case, lead_worker=worker, planned_for=at(D(2026, 3, 10)))


def completed(child, **changes):
    fields = {
        "outcome": Visit.Outcome.COMPLETED,
        "occurred_at": at(D(2026, 3, 10)),
        "children": [
            ChildSeenInput(
                child=child, seen=True, seen_alone=True, child_views="I like my new school"
            )
        ],
        "observations": [ObservationInput(what_was_seen="Mum soothed the baby")],
        "notes": "Home warm, food in the fridge",
    }
    return Outcome(**{**fields, **changes})


def record(worker, visit, data):
    return services.visit_record(actor=worker, visit=visit, data=data, now=NOW)


def assert_nothing_saved(visit, history_before):
    fresh = Visit.objects.get(pk=visit.pk)
    assert fresh.outcome == Visit.Outcome.PLANNED
    assert fresh.occurred_at is None
    assert fresh.notes == ""
    assert fresh.outcome_recorded_at is None
    assert not fresh.present_members.exists()
    assert not ChildSeen.objects.filter(visit=visit).exists()
    assert not Observation.objects.filter(visit=visit).exists()
    assert fresh.history.count() == history_before


def refused(worker, visit, data, captured):
    history_before = visit.history.count()
    with captured() as queued, pytest.raises(ValidationError) as exc:
        record(worker, visit, data)
    assert queued == [], "nothing is queued for a refused record"
    assert_nothing_saved(visit, history_before)
    return exc.value


# --- What is recorded -----------------------------------------------------------------


def test_it_records_the_outcome_children_and_observations_and_queues_the_rule(
    worker, visit, child, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        record(worker, visit, completed(child))

    visit.refresh_from_db()
    assert visit.outcome == Visit.Outcome.COMPLETED
    assert visit.outcome_recorded_by == worker and visit.outcome_recorded_at == NOW
    seen = ChildSeen.objects.get(visit=visit)
    assert (seen.child, seen.seen, seen.seen_alone) == (child, True, True)
    assert seen.child_views == "I like my new school"
    assert Observation.objects.get(visit=visit).what_was_seen == "Mum soothed the baby"
    assert len(queued) == 1


def test_it_keeps_one_copy_of_an_observation_sent_again_and_adds_a_new_one(worker, visit, child):
    record(worker, visit, completed(child))
    record(worker, visit, completed(child))
    assert list(
        Observation.objects.filter(visit=visit).values_list("what_was_seen", flat=True)
    ) == ["Mum soothed the baby"]

    record(
        worker,
        visit,
        completed(
            child,
            observations=[
                ObservationInput(what_was_seen="Mum soothed the baby"),
                ObservationInput(what_was_seen="Dad kept his distance from the children"),
            ],
        ),
    )

    assert list(
        Observation.objects.filter(visit=visit).values_list("what_was_seen", flat=True)
    ) == ["Mum soothed the baby", "Dad kept his distance from the children"]


# --- Bad input: each refused with the field named, nothing saved ------------------------


def test_it_refuses_an_outcome_dated_in_the_future(
    worker, visit, child, django_capture_on_commit_callbacks
):
    data = completed(child, occurred_at=NOW + datetime.timedelta(minutes=1))

    error = refused(worker, visit, data, django_capture_on_commit_callbacks)

    assert list(error.message_dict) == ["occurred_at"]
    assert "now or in the past" in error.message_dict["occurred_at"][0]


def test_it_accepts_an_outcome_dated_this_very_moment(worker, visit, child):
    record(worker, visit, completed(child, occurred_at=NOW))
    assert Visit.objects.get(pk=visit.pk).occurred_at == NOW


def test_it_refuses_a_child_seen_alone_but_not_seen(
    worker, visit, child, django_capture_on_commit_callbacks
):
    data = completed(
        child,
        children=[
            ChildSeenInput(child=child, seen=False, seen_alone=True, reason_not_seen="Asleep")
        ],
    )

    error = refused(worker, visit, data, django_capture_on_commit_callbacks)

    assert list(error.message_dict) == ["children-0"]
    assert "alone without being seen" in error.message_dict["children-0"][0]


@pytest.mark.parametrize("outcome", [Visit.Outcome.DEFAULTED, Visit.Outcome.CANCELLED_BY_WORKER])
def test_it_refuses_a_child_seen_alone_but_not_seen_whatever_the_outcome(
    outcome, worker, visit, child, django_capture_on_commit_callbacks
):
    data = Outcome(
        outcome=outcome,
        occurred_at=at(D(2026, 3, 10)),
        default_reason="no_answer" if outcome == Visit.Outcome.DEFAULTED else "",
        children=[
            ChildSeenInput(
                child=child, seen=False, seen_alone=True, reason_not_seen="No one answered"
            )
        ],
    )

    error = refused(worker, visit, data, django_capture_on_commit_callbacks)

    assert list(error.message_dict) == ["children-0"]


def test_it_refuses_a_visit_on_a_closed_case(
    worker, case, visit, child, django_capture_on_commit_callbacks
):
    Case.objects.filter(pk=case.pk).update(
        status="closed", closed_on=D(2026, 3, 9), closure_reason="nfa"
    )

    error = refused(worker, visit, completed(child), django_capture_on_commit_callbacks)

    assert "case is closed" in error.messages[0]


def test_it_refuses_to_log_a_visit_on_a_closed_case(worker, case, child):
    Case.objects.filter(pk=case.pk).update(
        status="closed", closed_on=D(2026, 3, 9), closure_reason="nfa"
    )
    case.refresh_from_db()

    with pytest.raises(ValidationError, match="case is closed"):
        services.visit_log(actor=worker, case=case, data=completed(child), now=NOW)

    assert not Visit.objects.filter(case=case).exists()


@pytest.mark.parametrize(
    "membership",
    [
        pytest.param(
            {"start_date": D(2026, 1, 5), "end_date": D(2026, 3, 9)}, id="left-the-day-before"
        ),
        pytest.param({"start_date": D(2026, 3, 11)}, id="joined-the-day-after"),
        pytest.param(
            {"start_date": D(2026, 1, 5), "lives_in_household": False}, id="lives-elsewhere"
        ),
        pytest.param(
            {"start_date": D(2026, 1, 5), "relationship": "sibling"}, id="not-a-child-of-the-case"
        ),
    ],
)
def test_it_refuses_a_child_who_was_not_in_the_household_that_day(
    membership, worker, case, visit, child, django_capture_on_commit_callbacks
):
    other = PersonFactory(first_name="Kai", last_name="Walsh")
    MembershipFactory(case=case, person=other, **membership)
    data = completed(
        child,
        children=[
            ChildSeenInput(child=child, seen=True),
            ChildSeenInput(child=other, seen=True, child_views="Hello"),
        ],
    )

    error = refused(worker, visit, data, django_capture_on_commit_callbacks)

    assert list(error.message_dict) == ["children-1"]
    assert (
        "Kai Walsh was not living in the household on 10/03/2026"
        in (error.message_dict["children-1"][0])
    )


def test_it_refuses_a_child_not_in_the_household_on_a_defaulted_visit(
    worker, case, visit, child, django_capture_on_commit_callbacks
):
    stranger = PersonFactory(first_name="Kai", last_name="Walsh")
    data = Outcome(
        outcome=Visit.Outcome.DEFAULTED,
        occurred_at=at(D(2026, 3, 10)),
        default_reason="refused_entry",
        children=[ChildSeenInput(child=stranger, seen=False, reason_not_seen="Refused entry")],
    )

    error = refused(worker, visit, data, django_capture_on_commit_callbacks)

    assert list(error.message_dict) == ["children-0"]


def test_it_refuses_a_child_not_seen_without_a_reason(
    worker, visit, child, django_capture_on_commit_callbacks
):
    data = completed(child, children=[ChildSeenInput(child=child, seen=False)])

    error = refused(worker, visit, data, django_capture_on_commit_callbacks)

    assert list(error.message_dict) == ["children-0"]


def test_it_refuses_a_child_seen_on_a_defaulted_visit(
    worker, visit, child, django_capture_on_commit_callbacks
):
    data = Outcome(
        outcome=Visit.Outcome.DEFAULTED,
        occurred_at=at(D(2026, 3, 10)),
        default_reason="no_answer",
        children=[ChildSeenInput(child=child, seen=True)],
    )

    error = refused(worker, visit, data, django_capture_on_commit_callbacks)

    assert list(error.message_dict) == ["children"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param(
            {"outcome": Visit.Outcome.DEFAULTED}, "default_reason", id="default-without-reason"
        ),
        pytest.param(
            {"default_reason": "no_answer"}, "default_reason", id="reason-on-a-completed-visit"
        ),
        pytest.param({"outcome": "planned"}, "outcome", id="still-planned"),
        pytest.param(
            {"occurred_at": at(D(2026, 1, 4))}, "occurred_at", id="before-the-case-opened"
        ),
    ],
)
def test_it_refuses_an_inconsistent_outcome(
    changes, field, worker, visit, child, django_capture_on_commit_callbacks
):
    error = refused(
        worker, visit, completed(child, children=[], **changes), django_capture_on_commit_callbacks
    )

    assert field in error.message_dict


def test_it_refuses_someone_present_who_is_not_on_the_case(
    worker, visit, child, django_capture_on_commit_callbacks
):
    stranger = PersonFactory()

    error = refused(
        worker,
        visit,
        completed(child, present_members=[stranger]),
        django_capture_on_commit_callbacks,
    )

    assert list(error.message_dict) == ["present_members"]


def test_it_refuses_someone_at_the_door_who_is_not_on_the_case(
    worker, visit, django_capture_on_commit_callbacks
):
    stranger = PersonFactory()
    data = Outcome(
        outcome=Visit.Outcome.DEFAULTED,
        occurred_at=at(D(2026, 3, 10)),
        default_reason="refused_entry",
        present_members=[stranger],
    )

    error = refused(worker, visit, data, django_capture_on_commit_callbacks)

    assert list(error.message_dict) == ["present_members"]


# --- All or nothing -------------------------------------------------------------------


def test_it_saves_nothing_when_a_late_part_of_the_record_fails(
    worker, case, visit, child, django_capture_on_commit_callbacks
):
    # The visit row and the first child's row are written before the second child's
    # row fails its length check: the whole record is rolled back.
    sister = MembershipFactory(case=case, start_date=D(2026, 1, 5)).person
    data = completed(
        child,
        children=[
            ChildSeenInput(child=child, seen=True, seen_alone=True),
            ChildSeenInput(child=sister, seen=False, reason_not_seen="x" * 501),
        ],
    )

    error = refused(worker, visit, data, django_capture_on_commit_callbacks)

    assert "reason_not_seen" in error.message_dict


def test_it_saves_nothing_when_what_follows_the_save_fails(
    worker, visit, child, django_capture_on_commit_callbacks
):
    def boom(**kwargs):
        raise RuntimeError("the chronology could not be written")

    history_before = visit.history.count()
    signals.visit_recorded.connect(boom, dispatch_uid="test-boom")
    try:
        with django_capture_on_commit_callbacks() as queued, pytest.raises(RuntimeError):
            record(worker, visit, completed(child))
    finally:
        signals.visit_recorded.disconnect(dispatch_uid="test-boom")

    assert queued == []
    assert_nothing_saved(visit, history_before)


def test_it_logs_no_visit_at_all_when_the_outcome_is_refused(worker, case, child):
    with pytest.raises(ValidationError):
        services.visit_log(
            actor=worker,
            case=case,
            data=completed(child, occurred_at=NOW + datetime.timedelta(hours=1)),
            now=NOW,
        )

    assert not Visit.objects.filter(case=case).exists()
    assert not Visit.history.filter(case_id=case.pk).exists()


def test_it_keeps_the_earlier_record_when_a_correction_is_refused(worker, visit, child):
    record(worker, visit, completed(child))
    history_before = Visit.objects.get(pk=visit.pk).history.count()
    gone = Membership.objects.get(person=child)
    Membership.objects.filter(pk=gone.pk).update(end_date=D(2026, 3, 9))

    with pytest.raises(ValidationError):
        record(worker, visit, completed(child, notes="Changed my mind"))

    fresh = Visit.objects.get(pk=visit.pk)
    assert fresh.notes == "Home warm, food in the fridge"
    assert fresh.history.count() == history_before
    assert ChildSeen.objects.get(visit=visit).seen_alone is True
