"""A meeting recorded in error is kept, struck through, with the reason and who marked it.
It met nothing: an escalation it met is met by another meeting of its kind held in time,
or is open or overdue again; its chronology entries are struck.

The escalation fires on Wed 23 Dec 2026 with no plan: a multi-agency meeting is due by
Wed 6 Jan 2027 (24, [25, 28], 29, 30, 31, [1 Jan], 4, 5, 6: seven working days).
"""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import policy, roles
from accounts.models import Notification
from cases import services
from cases.models import Escalation, Meeting
from chronologies.models import ChronologyEntry
from tests.factories import CaseFactory, RuleEscalationFactory, TeamFactory, UserFactory

D = datetime.date
MA = Meeting.Kind.MULTI_AGENCY
TRIGGER, DUE = D(2026, 12, 23), D(2027, 1, 6)


def at(day, hour=10):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@pytest.fixture
def people(worker):
    for name in roles.ALL_ROLES:
        Group.objects.get_or_create(name=name)
    team = worker.team
    return {
        "worker": worker,
        "colleague": UserFactory(username="colleague", team=team),
        "manager": UserFactory(username="manager", team=team, role=roles.TEAM_MANAGER),
        "outsider": UserFactory(
            username="outsider", team=TeamFactory(name="South Assessment", code="south")
        ),
    }


@pytest.fixture
def escalation(case):
    return RuleEscalationFactory(case=case, trigger_date=TRIGGER, created_at=at(TRIGGER, 11))


def hold(actor, case, held_on, *, kind=MA):
    return services.meeting_record(
        actor=actor,
        case=case,
        kind=kind,
        held_on=held_on,
        chair="Team manager",
        decisions="Unannounced visits twice a week",
        now=at(held_on, 17),
    )


def wrong(actor, meeting, when, reason="Held about another family"):
    return services.record_mark_in_error(actor=actor, record=meeting, reason=reason, now=when)


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def entry(case, source_type, source_id):
    return ChronologyEntry.objects.get(case=case, source_type=source_type, source_id=str(source_id))


# --- The meeting -------------------------------------------------------------------------


def test_it_keeps_the_meeting_with_the_reason_who_and_when(people, case):
    meeting = hold(people["worker"], case, D(2026, 12, 30))

    wrong(people["colleague"], meeting, at(D(2027, 1, 2)), reason="  Wrong family  ")

    meeting = fresh(meeting)
    assert meeting.in_error
    assert meeting.in_error_reason == "Wrong family"
    assert meeting.in_error_by == people["colleague"]
    assert meeting.in_error_at == at(D(2027, 1, 2))
    last = meeting.history.first()
    assert last.history_user == people["colleague"] and last.in_error
    assert last.history_change_reason == "Recorded in error"


@pytest.mark.parametrize("reason", ["", "   "])
def test_it_needs_a_reason_and_saves_nothing_without_one(people, case, escalation, reason):
    meeting = hold(people["worker"], case, D(2026, 12, 30))
    versions = meeting.history.count()

    with pytest.raises(ValidationError) as error:
        wrong(people["colleague"], meeting, at(D(2027, 1, 2)), reason=reason)

    assert "Enter why this was recorded in error" in str(error.value)
    assert not fresh(meeting).in_error and meeting.history.count() == versions
    assert fresh(escalation).state == Escalation.State.MET


def test_it_refuses_someone_who_cannot_see_the_case(people, case, escalation):
    meeting = hold(people["worker"], case, D(2026, 12, 30))

    with pytest.raises(PermissionDenied):
        wrong(people["outsider"], meeting, at(D(2027, 1, 2)))

    assert not fresh(meeting).in_error
    assert fresh(escalation).met_by == meeting


def test_it_refuses_a_meeting_already_in_error(people, case):
    meeting = hold(people["worker"], case, D(2026, 12, 30))
    wrong(people["colleague"], meeting, at(D(2027, 1, 2)))

    with pytest.raises(ValidationError, match="already marked"):
        wrong(people["colleague"], meeting, at(D(2027, 1, 3)))


# --- The escalation it met ---------------------------------------------------------------


def test_the_escalation_it_met_is_open_again_before_its_deadline(people, case, escalation):
    meeting = hold(people["worker"], case, D(2026, 12, 30))
    assert fresh(escalation).state == Escalation.State.MET

    wrong(people["colleague"], meeting, at(D(2027, 1, 4)))

    escalation = fresh(escalation)
    assert escalation.state == Escalation.State.OPEN
    assert (escalation.met_by, escalation.met_on, escalation.closed_at) == (None, None, None)
    assert escalation.overdue_at is None and escalation.due_date == DUE
    last = escalation.history.first()
    assert last.history_user == people["colleague"] and last.state == "open"
    assert last.history_change_reason == "Meeting recorded in error"
    assert not Notification.objects.filter(event_key=f"escalation:{escalation.pk}:overdue")


def test_the_escalation_it_met_is_overdue_once_its_deadline_has_passed(people, case, escalation):
    meeting = hold(people["worker"], case, D(2027, 1, 5))

    wrong(people["colleague"], meeting, at(D(2027, 1, 8)))

    escalation = fresh(escalation)
    assert escalation.state == Escalation.State.OVERDUE
    assert escalation.met_by is None and escalation.overdue_at == at(D(2027, 1, 8))
    last = escalation.history.first()
    assert last.history_user == people["colleague"] and last.state == "overdue"
    assert last.history_change_reason == "Meeting recorded in error"
    # The managers hear that it is overdue, as when the sweep finds it so.
    told = set(
        Notification.objects.filter(event_key=f"escalation:{escalation.pk}:overdue").values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"manager"}
    # The sweep agrees and changes nothing more.
    with time_machine.travel(at(D(2027, 1, 8), 11), tick=False):
        services.escalations_sweep(now=at(D(2027, 1, 8), 11))
    assert fresh(escalation).state == Escalation.State.OVERDUE
    assert fresh(escalation).overdue_at == at(D(2027, 1, 8))


def test_another_meeting_of_its_kind_held_in_time_meets_it_instead(people, case, escalation):
    first = hold(people["worker"], case, D(2026, 12, 29))
    second = hold(people["worker"], case, D(2026, 12, 31))
    hold(people["worker"], case, D(2026, 12, 30), kind=Meeting.Kind.CORE_GROUP)
    assert fresh(escalation).met_by == first

    wrong(people["colleague"], first, at(D(2027, 1, 8)))

    escalation = fresh(escalation)
    assert escalation.state == Escalation.State.MET
    assert (escalation.met_by, escalation.met_on) == (second, D(2026, 12, 31))
    assert escalation.closed_at == at(D(2027, 1, 8))
    last = escalation.history.first()
    assert last.history_user == people["colleague"]
    assert last.history_change_reason.startswith("Meeting recorded in error; met by the")


def test_a_meeting_held_after_the_deadline_meets_it_late_instead(people, case, escalation):
    first = hold(people["worker"], case, D(2027, 1, 5))
    later = hold(people["worker"], case, D(2027, 1, 7))

    wrong(people["colleague"], first, at(D(2027, 1, 8)))

    escalation = fresh(escalation)
    assert escalation.state == Escalation.State.MET_LATE and escalation.met_by == later


def test_a_meeting_in_error_or_held_before_it_fired_does_not_meet_it(people, case, escalation):
    hold(people["worker"], case, D(2026, 12, 22))  # the day before it fired
    first = hold(people["worker"], case, D(2026, 12, 29))
    second = hold(people["worker"], case, D(2026, 12, 30))
    wrong(people["colleague"], second, at(D(2027, 1, 2)))

    wrong(people["colleague"], first, at(D(2027, 1, 4)))

    assert fresh(escalation).state == Escalation.State.OPEN


def test_a_newer_active_escalation_of_the_kind_keeps_the_concern(people, case, escalation):
    """One active escalation per case and kind: the old one cannot be active again beside
    the newer, which carries the concern on; the old one is cancelled with the reason."""
    meeting = hold(people["worker"], case, D(2026, 12, 30))
    newer = RuleEscalationFactory(
        case=case, trigger_date=D(2027, 1, 4), created_at=at(D(2027, 1, 4), 11)
    )

    wrong(people["colleague"], meeting, at(D(2027, 1, 5)))

    escalation = fresh(escalation)
    assert escalation.state == Escalation.State.CANCELLED
    assert escalation.met_by is None and escalation.cancelled_by == people["colleague"]
    assert "Meeting recorded in error" in escalation.cancelled_reason
    assert "Held about another family" in escalation.cancelled_reason
    assert escalation.history.first().history_user == people["colleague"]
    assert fresh(newer).state == Escalation.State.OPEN
    closed = entry(case, "escalation_closed", escalation.pk)
    assert closed.title == "Escalation cancelled" and not closed.source_in_error
    assert closed.details == escalation.cancelled_reason


def test_a_meeting_that_met_nothing_changes_no_escalation(people, case, escalation):
    met = hold(people["worker"], case, D(2026, 12, 29))
    other = hold(people["worker"], case, D(2026, 12, 30))
    versions = escalation.history.count()

    wrong(people["colleague"], other, at(D(2027, 1, 2)))

    assert fresh(escalation).met_by == met
    assert escalation.history.count() == versions


# --- The chronology ----------------------------------------------------------------------


def test_its_chronology_entries_are_struck(people, case, escalation):
    meeting = hold(people["worker"], case, D(2026, 12, 30))
    assert not entry(case, "meeting", meeting.pk).source_in_error
    assert "met by" in entry(case, "escalation_closed", escalation.pk).title

    wrong(people["colleague"], meeting, at(D(2027, 1, 4)))

    assert entry(case, "meeting", meeting.pk).source_in_error
    assert entry(case, "escalation_closed", escalation.pk).source_in_error
    assert entry(case, "escalation", escalation.pk).title.endswith("(open)")
    assert entry(case, "meeting", meeting.pk).history.first().history_user == people["colleague"]


def test_the_entry_of_the_meeting_that_meets_it_instead_is_not_struck(people, case, escalation):
    first = hold(people["worker"], case, D(2026, 12, 29))
    hold(people["worker"], case, D(2026, 12, 31))

    wrong(people["colleague"], first, at(D(2027, 1, 8)))

    closed = entry(case, "escalation_closed", escalation.pk)
    assert (
        not closed.source_in_error and closed.title == "Escalation met by the multi-agency meeting"
    )
    assert entry(case, "escalation", escalation.pk).title.endswith("(met)")


# --- The case page -----------------------------------------------------------------------


@pytest.fixture
def on_4_jan():
    with time_machine.travel(at(D(2027, 1, 4)), tick=False):
        yield


def test_the_page_marks_it_in_error_and_shows_it_struck(people, case, escalation, client, on_4_jan):
    meeting = hold(people["worker"], case, D(2026, 12, 30))
    client.force_login(people["colleague"])
    url = reverse("cases:mark_in_error", args=[case.pk, "meeting", meeting.pk])
    detail = reverse("cases:detail", args=[case.pk])
    assert url in client.get(detail).content.decode()
    form = client.get(url).content.decode()
    assert "This meeting met an escalation" in form

    response = client.post(url, {"reason": "<b>Another family</b>"})

    assert response.status_code == 302
    meeting = fresh(meeting)
    assert meeting.in_error and meeting.in_error_by == people["colleague"]
    assert fresh(escalation).state == Escalation.State.OPEN
    body = client.get(detail).content.decode()
    meetings = body.split('<h3 class="govuk-heading-s">Meetings</h3>')[1]
    assert "app-in-error" in meetings and "<del><strong>Multi-agency meeting</strong>" in meetings
    assert "Recorded in error: &lt;b&gt;Another family&lt;/b&gt;" in meetings
    assert url not in body  # no link for a meeting already in error


def test_the_page_wants_a_reason(people, case, escalation, client, on_4_jan):
    meeting = hold(people["worker"], case, D(2026, 12, 30))
    client.force_login(people["colleague"])
    url = reverse("cases:mark_in_error", args=[case.pk, "meeting", meeting.pk])

    response = client.post(url, {"reason": "  "})

    assert response.status_code == 400
    assert "Enter why this was recorded in error" in response.content.decode()
    assert not fresh(meeting).in_error
    assert fresh(escalation).state == Escalation.State.MET


def test_the_page_shows_no_link_to_someone_who_may_not_edit_the_case(
    people, case, client, monkeypatch, on_4_jan
):
    meeting = hold(people["worker"], case, D(2026, 12, 30))
    url = reverse("cases:mark_in_error", args=[case.pk, "meeting", meeting.pk])
    client.force_login(people["colleague"])
    monkeypatch.setattr(policy, "can_edit_case", lambda user, case: False)

    body = client.get(reverse("cases:detail", args=[case.pk])).content.decode()

    assert "Multi-agency meeting" in body and url not in body


def test_the_page_is_not_found_for_someone_who_cannot_see_the_case(
    people, case, escalation, client, on_4_jan
):
    meeting = hold(people["worker"], case, D(2026, 12, 30))
    client.force_login(people["outsider"])
    url = reverse("cases:mark_in_error", args=[case.pk, "meeting", meeting.pk])

    assert client.get(url).status_code == 404
    assert client.post(url, {"reason": "Wrong family"}).status_code == 404
    assert not fresh(meeting).in_error
    assert fresh(escalation).state == Escalation.State.MET


def test_the_page_finds_no_meeting_of_another_case(people, case, client, on_4_jan):
    other = CaseFactory(team=case.team, opened_on=D(2026, 1, 5))
    meeting = hold(people["worker"], other, D(2026, 12, 30))
    client.force_login(people["colleague"])

    url = reverse("cases:mark_in_error", args=[case.pk, "meeting", meeting.pk])

    assert client.post(url, {"reason": "Wrong family"}).status_code == 404
    assert not fresh(meeting).in_error


# --- The API -----------------------------------------------------------------------------


def api_for(user):
    client = APIClient()
    client.force_login(user)
    return client


def test_the_api_marks_it_in_error(people, case, escalation, on_4_jan):
    meeting = hold(people["worker"], case, D(2026, 12, 30))
    url = reverse("meeting-in-error", args=[meeting.pk])

    response = api_for(people["colleague"]).post(url, {"reason": "Wrong family"}, format="json")

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["in_error"] is True and data["in_error_reason"] == "Wrong family"
    meeting = fresh(meeting)
    assert meeting.in_error_by == people["colleague"]
    assert meeting.history.first().history_user == people["colleague"]
    escalation = fresh(escalation)
    assert escalation.state == Escalation.State.OPEN
    assert escalation.history.first().history_user == people["colleague"]


def test_the_api_wants_a_reason(people, case, escalation, on_4_jan):
    meeting = hold(people["worker"], case, D(2026, 12, 30))
    url = reverse("meeting-in-error", args=[meeting.pk])

    response = api_for(people["colleague"]).post(url, {"reason": " "}, format="json")

    assert response.status_code == 400
    assert not fresh(meeting).in_error
    assert fresh(escalation).state == Escalation.State.MET


def test_the_api_is_not_found_for_someone_who_cannot_see_the_case(
    people, case, escalation, on_4_jan
):
    meeting = hold(people["worker"], case, D(2026, 12, 30))
    url = reverse("meeting-in-error", args=[meeting.pk])

    response = api_for(people["outsider"]).post(url, {"reason": "Wrong family"}, format="json")

    assert response.status_code == 404
    assert not fresh(meeting).in_error
