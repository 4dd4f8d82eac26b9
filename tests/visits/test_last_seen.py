"""Each child's last seen, last seen alone and seen alone at the last three visits, kept
on a row (visits.last_seen) that follows the visits in the same transaction."""

import datetime
import threading
from collections import defaultdict
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import (
    CaseFactory,
    MembershipFactory,
    PersonFactory,
    RecordedVisitFactory,
    VisitFactory,
)
from visits import last_seen, services
from visits.models import ChildLastSeen, ChildSeen, Visit
from visits.services import ChildSeenInput, Outcome

D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2026, 3, 20, 16, 0))


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@pytest.fixture
def case(worker):
    case = CaseFactory(team=worker.team, opened_on=D(2026, 1, 5))
    case.allocated_workers.add(worker)
    return case


def add_child(case):
    return MembershipFactory(case=case, start_date=D(2026, 1, 5)).person


def log(worker, case, day, children, hour=10):
    """A completed visit on `day`: children as {child: "alone" | "seen" | "not seen"}."""
    return services.visit_log(
        actor=worker,
        case=case,
        now=NOW,
        data=Outcome(
            outcome=Visit.Outcome.COMPLETED,
            occurred_at=at(day, hour),
            children=[
                ChildSeenInput(
                    child=child,
                    seen=how != "not seen",
                    seen_alone=how == "alone",
                    reason_not_seen="" if how == "alone" else "Asleep",
                )
                for child, how in children.items()
            ],
        ),
    )


def row(case, child):
    return (
        ChildLastSeen.objects.filter(case=case, child=child)
        .values("last_seen_at", "last_alone_at", "alone_in_last_three")
        .get()
    )


def test_recording_visits_keeps_each_childs_row(worker, case):
    amy, ben = add_child(case), add_child(case)
    log(worker, case, D(2026, 3, 2), {amy: "alone", ben: "not seen"})
    assert row(case, amy) == {
        "last_seen_at": at(D(2026, 3, 2)),
        "last_alone_at": at(D(2026, 3, 2)),
        "alone_in_last_three": True,
    }
    assert row(case, ben) == {
        "last_seen_at": None,
        "last_alone_at": None,
        "alone_in_last_three": False,
    }
    log(worker, case, D(2026, 3, 9), {amy: "seen", ben: "seen"})
    assert row(case, amy) == {
        "last_seen_at": at(D(2026, 3, 9)),
        "last_alone_at": at(D(2026, 3, 2)),
        "alone_in_last_three": True,
    }
    assert row(case, ben)["last_seen_at"] == at(D(2026, 3, 9))


def test_only_the_last_three_visits_count_for_seen_alone(worker, case):
    amy = add_child(case)
    log(worker, case, D(2026, 3, 2), {amy: "alone"})
    log(worker, case, D(2026, 3, 3), {amy: "seen"})
    log(worker, case, D(2026, 3, 4), {amy: "not seen"})
    assert row(case, amy)["alone_in_last_three"] is True
    fourth = log(worker, case, D(2026, 3, 5), {amy: "seen"})
    assert row(case, amy)["alone_in_last_three"] is False
    assert row(case, amy)["last_alone_at"] == at(D(2026, 3, 2))
    # The fourth recorded in error: the visit seen alone is among the last three again.
    services.visit_mark_in_error(actor=worker, visit=fourth, reason="Wrong family", now=NOW)
    assert row(case, amy)["alone_in_last_three"] is True
    assert row(case, amy)["last_seen_at"] == at(D(2026, 3, 3))


def test_a_visit_in_error_is_taken_back_and_a_child_with_none_left_is_blank(worker, case):
    amy = add_child(case)
    only = log(worker, case, D(2026, 3, 2), {amy: "alone"})
    services.visit_mark_in_error(actor=worker, visit=only, reason="Wrong case", now=NOW)
    assert row(case, amy) == {
        "last_seen_at": None,
        "last_alone_at": None,
        "alone_in_last_three": None,
    }


def test_rows_are_per_case(worker, case):
    """A child on two cases is seen on each by that case's visits only."""
    amy = add_child(case)
    other = CaseFactory(team=case.team, opened_on=D(2026, 1, 5))
    other.allocated_workers.add(worker)
    MembershipFactory(case=other, person=amy, start_date=D(2026, 1, 5))
    log(worker, case, D(2026, 3, 2), {amy: "alone"})
    log(worker, other, D(2026, 3, 6), {amy: "seen"})
    assert row(case, amy)["last_seen_at"] == at(D(2026, 3, 2))
    assert row(other, amy) == {
        "last_seen_at": at(D(2026, 3, 6)),
        "last_alone_at": None,
        "alone_in_last_three": False,
    }


def test_saves_outside_the_services_keep_the_row_too(case):
    """Rows written straight through the models (imports, the admin, test data)."""
    amy = add_child(case)
    visit = RecordedVisitFactory(case=case, outcome="completed", planned_for=at(D(2026, 3, 2)))
    seen = ChildSeen.objects.create(visit=visit, child=amy, seen=True, seen_alone=False)
    assert row(case, amy)["last_seen_at"] == at(D(2026, 3, 2))
    seen.seen_alone = True
    seen.save()
    assert row(case, amy)["alone_in_last_three"] is True
    visit.occurred_at = at(D(2026, 3, 3))
    visit.save()
    assert row(case, amy)["last_alone_at"] == at(D(2026, 3, 3))
    # A planned visit (no outcome yet) holding a row for the child counts for nothing.
    planned = VisitFactory(case=case, planned_for=at(D(2026, 3, 12)))
    ChildSeen.objects.create(visit=planned, child=amy, seen=True, seen_alone=True)
    assert row(case, amy)["last_seen_at"] == at(D(2026, 3, 3))


def test_recording_works_the_rows_out_once_whatever_the_number_of_children(worker, case):
    def writes_for(n):
        other = CaseFactory(team=case.team, opened_on=D(2026, 1, 5))
        other.allocated_workers.add(worker)
        kids = {add_child(other): "alone" for _ in range(n)}
        with CaptureQueriesContext(connection) as queries:
            log(worker, other, D(2026, 3, 2), kids)
        return [
            q["sql"] for q in queries.captured_queries if ChildLastSeen._meta.db_table in q["sql"]
        ]

    one, four = writes_for(1), writes_for(4)
    assert len(one) == len(four) == 1, "one upsert at the end of the record"


def test_rebuild_works_out_the_same_rows_from_the_visits(worker, case):
    amy, ben = add_child(case), add_child(case)
    log(worker, case, D(2026, 3, 2), {amy: "alone", ben: "seen"})
    wrong = log(worker, case, D(2026, 3, 3), {amy: "seen", ben: "alone"})
    log(worker, case, D(2026, 3, 4), {amy: "not seen", ben: "not seen"})
    services.visit_mark_in_error(actor=worker, visit=wrong, reason="Duplicate", now=NOW)
    kept = {(r.case_id, r.child_id): r for r in ChildLastSeen.objects.all()}
    expected = {
        k: (r.last_seen_at, r.last_alone_at, r.alone_in_last_three) for k, r in kept.items()
    }
    # Lose the rows' values, and add a row no visit supports any more.
    stranger = PersonFactory()
    ChildLastSeen.objects.update(last_seen_at=None, last_alone_at=None, alone_in_last_three=None)
    ChildLastSeen.objects.create(
        case=case, child=stranger, last_seen_at=NOW, alone_in_last_three=True
    )
    assert last_seen.rebuild() == 2
    got = {
        (r.case_id, r.child_id): (r.last_seen_at, r.last_alone_at, r.alone_in_last_three)
        for r in ChildLastSeen.objects.all()
    }
    assert got == {**expected, (case.pk, stranger.pk): (None, None, None)}
    assert expected[(case.pk, amy.pk)] == (at(D(2026, 3, 2)), at(D(2026, 3, 2)), True)
    assert expected[(case.pk, ben.pk)] == (at(D(2026, 3, 2)), None, False)


def expected_from_the_visits():
    """Each (case, child)'s three values worked out here, from the children-seen rows,
    without the module under test: the last three by time, then by the order entered."""
    rows = ChildSeen.objects.filter(
        visit__outcome="completed", visit__in_error=False
    ).select_related("visit")
    by_pair = defaultdict(list)
    for r in rows:
        by_pair[(r.visit.case_id, r.child_id)].append(r)
    out = {}
    for pair, rs in by_pair.items():
        rs.sort(key=lambda r: (r.visit.occurred_at, r.visit_id), reverse=True)
        out[pair] = (
            max((r.visit.occurred_at for r in rs if r.seen), default=None),
            max((r.visit.occurred_at for r in rs if r.seen_alone), default=None),
            any(r.seen_alone for r in rs[:3]),
        )
    return out


def kept_rows():
    return {
        (r.case_id, r.child_id): (r.last_seen_at, r.last_alone_at, r.alone_in_last_three)
        for r in ChildLastSeen.objects.all()
    }


def test_the_rows_agree_with_the_visits_after_a_varied_history(worker, case):
    amy, ben, cal = add_child(case), add_child(case), add_child(case)
    other = CaseFactory(team=case.team, opened_on=D(2026, 1, 5))
    other.allocated_workers.add(worker)
    MembershipFactory(case=other, person=amy, start_date=D(2026, 1, 5))
    # Two visits at the same minute: the one entered later counts as the later visit.
    log(worker, case, D(2026, 3, 2), {amy: "alone", ben: "seen", cal: "not seen"})
    log(worker, case, D(2026, 3, 2), {amy: "seen", ben: "alone", cal: "not seen"})
    log(worker, case, D(2026, 3, 3), {amy: "seen", ben: "seen", cal: "seen"})
    wrong = log(worker, case, D(2026, 3, 4), {amy: "alone", ben: "seen", cal: "alone"})
    log(worker, case, D(2026, 3, 5), {amy: "not seen", ben: "seen", cal: "not seen"})
    log(worker, other, D(2026, 3, 6), {amy: "alone"})
    services.visit_mark_in_error(actor=worker, visit=wrong, reason="Wrong date", now=NOW)
    defaulted = RecordedVisitFactory(case=case, planned_for=at(D(2026, 3, 9)))
    ChildSeen.objects.create(visit=defaulted, child=ben, seen=True, seen_alone=True)

    expected = expected_from_the_visits()
    kept = kept_rows()
    assert {pair: kept[pair] for pair in expected} == expected
    # amy on the first case: alone on 2 March was the first of that minute's two visits,
    # so her last three are 5 March, 3 March and the later visit of 2 March.
    assert expected[(case.pk, amy.pk)] == (at(D(2026, 3, 3)), at(D(2026, 3, 2)), False)
    assert expected[(case.pk, ben.pk)][2] is True
    assert last_seen.rebuild() == len(expected)
    assert {pair: kept_rows()[pair] for pair in expected} == expected


def test_moving_a_visit_or_a_childs_row_works_out_the_rows_it_left(worker, case):
    amy, ben = add_child(case), add_child(case)
    other = CaseFactory(team=case.team, opened_on=D(2026, 1, 5))
    visit = log(worker, case, D(2026, 3, 2), {amy: "alone"})
    visit.refresh_from_db()
    visit.case = other
    visit.save()
    assert row(case, amy) == {
        "last_seen_at": None,
        "last_alone_at": None,
        "alone_in_last_three": None,
    }
    assert row(other, amy)["last_seen_at"] == at(D(2026, 3, 2))

    seen = ChildSeen.objects.get(visit=visit, child=amy)
    seen.child = ben
    seen.save()
    assert row(other, amy)["last_seen_at"] is None
    assert row(other, ben)["last_alone_at"] == at(D(2026, 3, 2))

    seen.delete()
    assert row(other, ben) == {
        "last_seen_at": None,
        "last_alone_at": None,
        "alone_in_last_three": None,
    }


def test_the_rebuild_command_works_every_row_out(worker, case):
    amy = add_child(case)
    log(worker, case, D(2026, 3, 2), {amy: "alone"})
    ChildLastSeen.objects.update(last_seen_at=None, alone_in_last_three=None)
    out = StringIO()
    call_command("last_seen_rebuild", stdout=out)
    assert "1 children's last-seen rows" in out.getvalue()
    assert row(case, amy)["last_seen_at"] == at(D(2026, 3, 2))


@pytest.mark.django_db(transaction=True)
def test_a_visit_marked_in_error_while_another_is_recorded_keeps_the_recorded_one(worker, case):
    """Each refresh reads what the other committed: the second to write waits for the
    first (a lock on the case), then works the rows out from the visits as they are."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks")
    amy = add_child(case)
    earlier = log(worker, case, D(2026, 3, 2), {amy: "seen"})
    planned = VisitFactory(case=case, lead_worker=worker, planned_for=at(D(2026, 3, 9)))
    recorded, release = threading.Event(), threading.Event()
    errors = []

    def record():
        try:
            with transaction.atomic():
                services.visit_record(
                    actor=worker,
                    visit=planned,
                    now=NOW,
                    data=Outcome(
                        outcome=Visit.Outcome.COMPLETED,
                        occurred_at=at(D(2026, 3, 9)),
                        children=[ChildSeenInput(child=amy, seen=True, seen_alone=True)],
                    ),
                )
                recorded.set()
                release.wait(timeout=20)
        except Exception as exc:  # reported below, with the other thread's
            errors.append(exc)
        finally:
            recorded.set()
            connection.close()

    def mark():
        try:
            services.visit_mark_in_error(
                actor=worker, visit=earlier, reason="Wrong family", now=NOW
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    first = threading.Thread(target=record)
    first.start()
    assert recorded.wait(timeout=20)
    second = threading.Thread(target=mark)
    second.start()
    # Let the first commit only once the second is waiting on a lock it holds.
    for _ in range(200):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                break
        second.join(timeout=0.05)
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)

    assert errors == []
    assert row(case, amy) == {
        "last_seen_at": at(D(2026, 3, 9)),
        "last_alone_at": at(D(2026, 3, 9)),
        "alone_in_last_three": True,
    }


@pytest.mark.django_db(transaction=True)
def test_a_save_outside_any_transaction_keeps_the_row_too(case):
    """Scripts and autocommit saves: the refresh takes a transaction of its own."""
    amy = add_child(case)
    visit = RecordedVisitFactory(case=case, outcome="completed", planned_for=at(D(2026, 3, 2)))
    ChildSeen.objects.create(visit=visit, child=amy, seen=True, seen_alone=True)
    assert row(case, amy)["last_alone_at"] == at(D(2026, 3, 2))
