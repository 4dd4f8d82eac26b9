"""The visit pages: one submission, nothing typed lost, the rule evaluated after commit."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from cases.models import Escalation
from tests.factories import CaseFactory, MembershipFactory
from visits import services
from visits.models import ChildSeen, Observation, Visit

NOW = datetime.datetime(2026, 11, 20, 15, 0, tzinfo=datetime.UTC)


@pytest.fixture
def case(worker):
    case = CaseFactory(team=worker.team, family_name="Walsh", opened_on=datetime.date(2026, 1, 5))
    case.allocated_workers.add(worker)
    return case


@pytest.fixture
def tyler(case):
    return MembershipFactory(
        case=case, person__first_name="Tyler", start_date=datetime.date(2026, 1, 5)
    ).person


def form_data(**extra):
    data = {
        "v-kind": "home",
        "v-announced": "no",
        "o-date-day": "20",
        "o-date-month": "11",
        "o-date-year": "2026",
        "o-time": "7:15am",
    }
    data.update(extra)
    return data


@time_machine.travel(NOW, tick=False)
def test_it_records_a_completed_visit_with_the_child_seen_alone_in_one_submission(
    signed_in, case, tyler, worker
):
    response = signed_in.post(
        reverse("visits:log", args=[case.pk]),
        form_data(
            **{
                "o-outcome": "completed",
                "o-others_present": "Unknown man, about 30, in the kitchen",
                "o-parent_report": "Mum says he is a friend",
                "o-observed": "Mum flinched when he spoke",
                "o-observed_analysis": "Fearful of him",
                f"child-{tyler.pk}-seen": "yes",
                f"child-{tyler.pk}-seen_alone": "yes",
                f"child-{tyler.pk}-bedroom_seen": "no",
                f"child-{tyler.pk}-reason_not_seen": "Bedroom door locked",
                f"child-{tyler.pk}-child_views": "I don't like him staying over",
            }
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    visit = Visit.objects.get(case=case)
    assert visit.outcome == "completed" and not visit.announced
    assert timezone.localtime(visit.occurred_at).time() == datetime.time(7, 15)
    assert visit.lead_worker == worker and visit.history.first().history_user == worker
    seen = ChildSeen.objects.get(visit=visit)
    assert (seen.seen, seen.seen_alone, seen.bedroom_seen) == (True, True, False)
    assert seen.child_views == "I don't like him staying over"
    observation = Observation.objects.get(visit=visit)
    assert observation.what_was_seen == "Mum flinched when he spoke"
    assert visit.parent_report == "Mum says he is a friend"  # kept apart from the observation


@time_machine.travel(NOW, tick=False)
def test_it_keeps_everything_typed_when_seen_alone_is_given_without_seen(signed_in, case, tyler):
    response = signed_in.post(
        reverse("visits:log", args=[case.pk]),
        form_data(
            **{
                "o-outcome": "completed",
                "o-notes": "Notes <b>typed</b> on the doorstep",
                f"child-{tyler.pk}-seen": "no",
                f"child-{tyler.pk}-seen_alone": "yes",
                f"child-{tyler.pk}-child_views": "Words the child said",
            }
        ),
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "cannot be seen alone without being seen" in body
    assert "Notes &lt;b&gt;typed&lt;/b&gt; on the doorstep" in body
    assert "Words the child said" in body
    assert 'value="7:15am"' in body
    assert not Visit.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_it_asks_whether_each_child_was_seen_on_a_completed_visit(signed_in, case, tyler):
    response = signed_in.post(
        reverse("visits:log", args=[case.pk]), form_data(**{"o-outcome": "completed"})
    )
    assert response.status_code == 400
    assert f"Say whether {tyler.first_name} was seen" in response.content.decode()


@time_machine.travel(NOW, tick=False)
def test_it_refuses_a_visit_dated_in_the_future(signed_in, case, tyler):
    response = signed_in.post(
        reverse("visits:log", args=[case.pk]),
        form_data(**{"o-outcome": "defaulted", "o-default_reason": "no_answer", "o-time": "18:00"}),
    )
    assert response.status_code == 400
    assert "must be now or in the past" in response.content.decode()
    assert not Visit.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_it_needs_a_reason_for_a_default(signed_in, case, tyler):
    response = signed_in.post(
        reverse("visits:log", args=[case.pk]), form_data(**{"o-outcome": "defaulted"})
    )
    assert response.status_code == 400
    assert "Select how the family defeated the visit" in response.content.decode()


@pytest.mark.parametrize(
    "typed, expected",
    [("7:15am", (7, 15)), ("1430", (14, 30)), ("2.05pm", (14, 5)), ("12am", (0, 0))],
)
def test_it_reads_times_as_people_type_them(typed, expected):
    from visits.forms import TimeField

    assert TimeField().clean(typed) == datetime.time(*expected)


@pytest.mark.parametrize("typed", ["25:00", "7:75", "noon", "1:2:3"])
def test_it_rejects_times_that_are_not_real(typed):
    from django.core.exceptions import ValidationError

    from visits.forms import TimeField

    with pytest.raises(ValidationError):
        TimeField().clean(typed)


@time_machine.travel(NOW, tick=False)
def test_it_evaluates_the_rule_after_the_fourth_default_is_saved(
    signed_in, case, tyler, worker, django_capture_on_commit_callbacks
):
    for days in (9, 6, 3):
        services.visit_log(
            actor=worker,
            case=case,
            now=timezone.now(),
            data=services.Outcome(
                outcome="defaulted",
                default_reason="no_answer",
                occurred_at=timezone.now() - datetime.timedelta(days=days),
            ),
        )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = signed_in.post(
            reverse("visits:log", args=[case.pk]),
            form_data(**{"o-outcome": "defaulted", "o-default_reason": "refused_entry"}),
        )
    assert response.status_code == 302
    assert not Escalation.objects.exists()  # nothing happens until the commit
    assert callbacks
    services.visits_evaluate_case(case.pk, now=timezone.now())
    escalation = Escalation.objects.get(case=case)
    assert escalation.trigger_date == datetime.date(2026, 11, 20)
    body = signed_in.get(reverse("visits:log", args=[case.pk])).content.decode()
    assert "Escalation: a meeting is due" in body


def test_it_shows_last_seen_and_next_visit_due_for_each_child(signed_in, case, tyler, worker):
    with time_machine.travel(datetime.datetime(2026, 11, 2, 12, tzinfo=datetime.UTC), tick=False):
        services.visit_log(
            actor=worker,
            case=case,
            now=timezone.now(),
            data=services.Outcome(
                outcome="completed",
                occurred_at=timezone.now() - datetime.timedelta(hours=1),
                children=[
                    services.ChildSeenInput(
                        child=tyler,
                        seen=True,
                        seen_alone=False,
                        reason_not_seen="Mum stayed in the room",
                    )
                ],
            ),
        )
    with time_machine.travel(NOW, tick=False):
        body = signed_in.get(reverse("cases:detail", args=[case.pk])).content.decode()
    section = body.split('id="seen"')[1].split("</table>")[0]
    assert "2 Nov 2026" in section  # last seen
    assert "Never alone" in section
    assert "30 Nov 2026" in section  # 20 working days after 2 Nov
    assert "Overdue" not in section


def test_recent_visits_are_the_latest_that_happened_whatever_is_planned(signed_in, case, worker):
    """Planned visits are listed apart: they do not take the places of past visits."""
    from tests.factories import RecordedVisitFactory, VisitFactory

    def at(day, hour=10):
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))

    past = [
        RecordedVisitFactory(
            case=case, lead_worker=worker, planned_for=at(datetime.date(2026, 11, d))
        )
        for d in (2, 5, 9, 12, 16, 18)
    ]
    for d in (23, 24, 25, 26, 27, 30):
        VisitFactory(case=case, lead_worker=worker, planned_for=at(datetime.date(2026, 11, d)))
    with time_machine.travel(NOW, tick=False):
        body = signed_in.get(reverse("cases:detail", args=[case.pk])).content.decode()
    recent = body.split("Recent visits")[1].split("</ul>")[0]
    shown = [v for v in past if reverse("visits:detail", args=[case.pk, v.pk]) in recent]
    assert shown == past[1:]  # the five latest, not the oldest one
    assert recent.count("<li>") == 5
