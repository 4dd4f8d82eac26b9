"""R10: lone-worker check-in and check-out, and the alerts when a worker is overdue."""

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from accounts.models import Notification
from common.sweeps import health
from tests.factories import CaseFactory, TeamFactory, UserFactory, VisitFactory
from visits import lone_working, tasks
from visits.models import LoneWorkingCheckIn, LoneWorkingEvent

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2026, 3, 10, 14, 0))
State = LoneWorkingCheckIn.State


def minutes(n: int) -> datetime.datetime:
    return NOW + datetime.timedelta(minutes=n)


@pytest.fixture
def people():
    team = TeamFactory()
    other_team = TeamFactory()
    worker = UserFactory(team=team)
    joint = UserFactory(team=team)
    case = CaseFactory(team=team)
    case.allocated_workers.add(worker)
    return {
        "worker": worker,
        "buddy": joint,
        "manager": UserFactory(team=team, role=roles.TEAM_MANAGER),
        "colleague": UserFactory(team=team),
        "service": UserFactory(team=other_team, role=roles.SERVICE_MANAGER),
        "outsider": UserFactory(team=other_team),
        "other_manager": UserFactory(team=other_team, role=roles.TEAM_MANAGER),
        "case": case,
        "visit": VisitFactory(case=case, lead_worker=worker, joint_worker=joint),
    }


def check_in(people, *, end=60):
    return lone_working.lone_working_check_in(
        actor=people["worker"],
        case=people["case"],
        visit=people["visit"],
        address="12 Station Road, Leeds",
        expected_end=minutes(end),
        now=NOW,
    )


def alerted(event: str = "") -> dict[str, int]:
    """In-app notifications of lone working by recipient username."""
    counts: dict[str, int] = {}
    for n in Notification.objects.filter(
        channel=Notification.Channel.IN_APP, event_key__startswith="lone-working:"
    ).filter(event_key__contains=event):
        counts[n.recipient.username] = counts.get(n.recipient.username, 0) + 1
    return counts


def names(people, *keys) -> dict[str, int]:
    return {people[k].username: 1 for k in keys}


def test_it_checks_in_with_the_visit_joint_worker_as_buddy_and_due_after_grace(people):
    ci = check_in(people)
    assert ci.buddy == people["buddy"] and ci.state == State.IN
    assert ci.expected_end_at == minutes(60) and ci.due_at == minutes(75)
    assert [e.kind for e in ci.events.all()] == [LoneWorkingEvent.Kind.CHECK_IN]


def test_it_sends_no_alert_before_due(people):
    ci = check_in(people)
    result = lone_working.lone_working_alerts_due(now=minutes(74) + datetime.timedelta(seconds=59))
    assert result["first"] == 0 and alerted() == {}
    ci.refresh_from_db()
    assert ci.state == State.IN


def test_it_alerts_the_buddy_and_team_managers_once_when_overdue(people):
    ci = check_in(people)
    first = lone_working.lone_working_alerts_due(now=minutes(75))
    again = lone_working.lone_working_alerts_due(now=minutes(76))
    assert first["first"] == 1 and again["first"] == 0
    assert alerted() == names(people, "buddy", "manager")
    emails = Notification.objects.filter(channel=Notification.Channel.EMAIL)
    assert emails.count() == 2
    assert all("Station Road" not in n.body for n in emails)  # no typed text in emails
    ci.refresh_from_db()
    assert ci.state == State.ALERTED and ci.first_alert_at == minutes(75)
    kinds = list(ci.events.values_list("kind", flat=True))
    assert kinds.count(LoneWorkingEvent.Kind.FIRST_ALERT) == 1


def test_it_moves_due_at_when_extended(people):
    ci = check_in(people)
    ci = lone_working.lone_working_extend(
        actor=people["worker"], check_in=ci, minutes=30, now=minutes(50)
    )
    assert ci.expected_end_at == minutes(90) and ci.due_at == minutes(105)
    lone_working.lone_working_alerts_due(now=minutes(104))
    assert alerted() == {}
    lone_working.lone_working_alerts_due(now=minutes(105))
    assert alerted() == names(people, "buddy", "manager")


def test_it_counts_an_extension_made_when_overdue_from_now(people):
    ci = check_in(people)
    lone_working.lone_working_alerts_due(now=minutes(80))
    ci = lone_working.lone_working_extend(
        actor=people["worker"], check_in=ci, minutes=15, now=minutes(82)
    )
    assert ci.state == State.IN and ci.first_alert_at is None
    assert ci.expected_end_at == minutes(97) and ci.due_at == minutes(112)
    assert alerted("clear") == names(people, "buddy", "manager")  # told it is over


def test_it_refuses_other_extensions(people):
    ci = check_in(people)
    with pytest.raises(ValidationError):
        lone_working.lone_working_extend(
            actor=people["worker"], check_in=ci, minutes=45, now=minutes(10)
        )
    with pytest.raises(PermissionDenied):
        lone_working.lone_working_extend(
            actor=people["manager"], check_in=ci, minutes=15, now=minutes(10)
        )


def test_it_sends_no_alert_after_check_out(people):
    ci = check_in(people)
    ci = lone_working.lone_working_check_out(actor=people["worker"], check_in=ci, now=minutes(55))
    assert ci.state == State.OUT and ci.checked_out_at == minutes(55)
    lone_working.lone_working_alerts_due(now=minutes(200))
    assert lone_working.lone_working_alert(ci.pk, now=minutes(200)) is None
    assert alerted() == {}
    with pytest.raises(ValidationError):
        lone_working.lone_working_check_out(actor=people["worker"], check_in=ci, now=minutes(56))


def test_it_allows_one_open_check_in_per_worker(people):
    ci = check_in(people)
    with pytest.raises(ValidationError):
        check_in(people)
    lone_working.lone_working_check_out(actor=people["worker"], check_in=ci, now=minutes(5))
    assert check_in(people).pk != ci.pk


def test_it_alerts_the_service_managers_when_nobody_acknowledges(people):
    check_in(people)
    lone_working.lone_working_alerts_due(now=minutes(75))
    lone_working.lone_working_alerts_due(now=minutes(89))
    assert alerted(":second:") == {}
    result = lone_working.lone_working_alerts_due(now=minutes(90))
    lone_working.lone_working_alerts_due(now=minutes(91))
    assert result["second"] == 1
    assert alerted(":second:") == names(people, "service")


def test_it_records_an_acknowledgement_and_stops_the_second_tier(people):
    ci = check_in(people)
    lone_working.lone_working_alerts_due(now=minutes(75))
    ci = lone_working.lone_working_acknowledge(
        actor=people["buddy"],
        check_in=ci,
        action="Phoned her: she is safe, the family kept her talking",
        now=minutes(80),
    )
    assert ci.state == State.ACKNOWLEDGED and ci.acknowledged_by == people["buddy"]
    assert ci.acknowledged_at == minutes(80) and "phoned her" in ci.acknowledged_action.lower()
    lone_working.lone_working_alerts_due(now=minutes(120))
    assert alerted(":second:") == {}
    with pytest.raises(ValidationError):  # a check-in with no alert has nothing to acknowledge
        lone_working.lone_working_acknowledge(
            actor=people["manager"], check_in=check_in_other(people), action="x", now=minutes(81)
        )


def check_in_other(people):
    colleague = people["colleague"]
    people["case"].allocated_workers.add(colleague)
    return lone_working.lone_working_check_in(
        actor=colleague,
        case=people["case"],
        address="1 High Street",
        expected_end=minutes(60),
        now=NOW,
    )


def test_it_recovers_a_lost_scheduled_check_with_the_sweep(
    people, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ci = check_in(people)  # the check at due time could not be sent: the request stands
    assert LoneWorkingCheckIn.objects.filter(pk=ci.pk, state=State.IN).exists()
    broker_down.undo()
    # The sweep alone, at its first run after the due time (a minute at most).
    with time_machine.travel(minutes(75) + datetime.timedelta(seconds=40), tick=False):
        result = tasks.lone_working_sweep()
        assert health()["lone_working"]["status"] == "ok"
    assert result["first"] == 1
    assert alerted() == names(people, "buddy", "manager")


def test_it_sends_the_alert_from_the_task_scheduled_for_the_due_time(people):
    ci = check_in(people)
    with time_machine.travel(minutes(75), tick=False):
        assert tasks.lone_working_check(ci.pk) == "first"
        assert tasks.lone_working_check(ci.pk) is None
    assert alerted() == names(people, "buddy", "manager")


def test_it_keeps_a_check_in_to_the_worker_their_team_and_managers(people):
    ci = check_in(people)
    lone_working.lone_working_alerts_due(now=minutes(75))
    seen_by = {
        key
        for key in ("worker", "buddy", "manager", "colleague", "service", "outsider")
        if lone_working.visible_check_ins(people[key]).filter(pk=ci.pk).exists()
    }
    assert seen_by == {"worker", "buddy", "manager", "colleague", "service"}
    assert not lone_working.visible_check_ins(people["other_manager"]).exists()
    for key in ("outsider", "other_manager", "worker", "colleague"):
        with pytest.raises(PermissionDenied):
            lone_working.lone_working_acknowledge(
                actor=people[key], check_in=ci, action="Called", now=minutes(80)
            )
    with pytest.raises(PermissionDenied):
        lone_working.lone_working_check_out(actor=people["outsider"], check_in=ci, now=minutes(80))
    ci.refresh_from_db()
    assert ci.state == State.ALERTED


def test_it_refuses_a_check_in_on_a_case_the_worker_cannot_see(people):
    with pytest.raises(PermissionDenied):
        lone_working.lone_working_check_in(
            actor=people["outsider"],
            case=people["case"],
            address="12 Station Road",
            expected_end=minutes(60),
            now=NOW,
        )
    assert not LoneWorkingCheckIn.objects.exists()


# --- Pages ------------------------------------------------------------------------------


@pytest.fixture
def page_people(people):
    from tests.factories import AddressFactory

    AddressFactory(case=people["case"], line_1="12 Station Road", end_date=None)
    return people


def test_it_checks_in_extends_and_checks_out_from_my_work(client, page_people):
    people = page_people
    client.force_login(people["worker"])
    url = reverse("visits:check_in", args=[people["case"].pk]) + f"?visit={people['visit'].pk}"
    with time_machine.travel(NOW, tick=False):
        form = client.get(url)
        assert form.status_code == 200
        assert "12 Station Road" in form.content.decode()  # prefilled from the case
        assert 'value="15:00"' in form.content.decode()  # an hour from now
        response = client.post(
            url, {"address": "<b>Flat 2</b> 12 Station Road", "expected_end": "15:30"}
        )
        assert response.status_code == 302
        ci = LoneWorkingCheckIn.objects.get()
        assert ci.visit == people["visit"] and ci.expected_end_at == minutes(90)
        page = client.get(reverse("dashboards:mine")).content.decode()
    assert "You are checked in at &lt;b&gt;Flat 2&lt;/b&gt; 12 Station Road until 15:30" in page
    assert "I&#x27;m out, safe" in page or "I'm out, safe" in page
    with time_machine.travel(minutes(20), tick=False):  # within the session's idle time
        r = client.post(reverse("visits:lone_working_extend", args=[ci.pk]), {"minutes": "30"})
        assert r.status_code == 302
        ci.refresh_from_db()
        assert ci.expected_end_at == minutes(120)
        client.post(reverse("visits:lone_working_out", args=[ci.pk]), {"next": "my-work"})
    ci.refresh_from_db()
    assert ci.state == State.OUT


def test_it_refuses_a_time_more_than_12_hours_ahead_on_the_form(client, page_people):
    client.force_login(page_people["worker"])
    url = reverse("visits:check_in", args=[page_people["case"].pk])
    with time_machine.travel(NOW, tick=False):
        response = client.post(url, {"address": "12 Station Road", "expected_end": "13:00"})
    assert response.status_code == 400
    # 13:00 typed at 14:00 is tomorrow's 13:00; 00:30 typed at 23:40 is tonight's.
    assert "must be within 12 hours" in response.content.decode()
    assert not LoneWorkingCheckIn.objects.exists()


def test_it_reads_a_time_after_midnight_as_tonight(client, page_people):
    url = reverse("visits:check_in", args=[page_people["case"].pk])
    with time_machine.travel(NOW.replace(hour=23, minute=40), tick=False):
        client.force_login(page_people["worker"])
        response = client.post(url, {"address": "12 Station Road", "expected_end": "00:30"})
        assert response.status_code == 302
    assert LoneWorkingCheckIn.objects.get().expected_end_at == NOW.replace(
        hour=0, minute=30
    ) + datetime.timedelta(days=1)


def test_it_lets_a_team_manager_acknowledge_from_the_page_and_keeps_others_out(client, page_people):
    people = page_people
    ci = check_in(people)
    lone_working.lone_working_alerts_due(now=minutes(75))
    url = reverse("visits:lone_working_acknowledge", args=[ci.pk])
    client.force_login(people["outsider"])
    assert client.get(reverse("visits:lone_working", args=[ci.pk])).status_code == 404
    assert client.post(url, {"action": "Called"}).status_code == 404
    client.force_login(people["manager"])
    with time_machine.travel(minutes(78), tick=False):
        page = client.get(reverse("dashboards:mine")).content.decode()
        assert "1 lone worker overdue" in page and url in page
        assert client.post(url, {"action": ""}).status_code == 400
        client.post(url, {"action": "Phoned her, safe"})
    ci.refresh_from_db()
    assert ci.state == State.ACKNOWLEDGED and ci.acknowledged_by == people["manager"]


def test_it_sends_anonymous_users_to_sign_in_from_the_lone_working_pages(client, people):
    ci = check_in(people)
    for name in ("lone_working", "lone_working_extend", "lone_working_out"):
        response = client.post(reverse(f"visits:{name}", args=[ci.pk]), {"minutes": "15"})
        assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"]
    response = client.get(reverse("visits:lone_working_acknowledge", args=[ci.pk]))
    assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"]
    ci.refresh_from_db()
    assert ci.expected_end_at == minutes(60) and ci.is_open
