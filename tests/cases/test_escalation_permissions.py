import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts import roles
from cases import services
from cases.models import Escalation, Meeting
from tests.factories import CaseFactory, EscalationFactory, UserFactory

D = datetime.date


@pytest.fixture
def case(team):
    return CaseFactory(team=team, opened_on=D(2026, 1, 5))


@pytest.mark.parametrize(
    "role, allowed",
    [
        (roles.SOCIAL_WORKER, True),
        (roles.TEAM_MANAGER, True),
        (roles.PRACTICE_SUPERVISOR, True),
        (roles.BUSINESS_SUPPORT, False),
    ],
)
def test_it_lets_workers_and_managers_raise_an_escalation_by_hand(case, team, role, allowed):
    user = UserFactory(team=team, role=role)
    kwargs = dict(
        case=case,
        kind=Escalation.Kind.NON_COMPLIANCE,
        actor=user,
        trigger_date=D(2026, 3, 2),
        reason="Will not let the health visitor in",
    )
    if allowed:
        escalation = services.escalation_open(**kwargs)
        assert escalation.raised_by == user and escalation.due_date == D(2026, 3, 11)
    else:
        with pytest.raises(PermissionDenied):
            services.escalation_open(**kwargs)
        assert not Escalation.objects.exists()


def test_it_refuses_a_meeting_on_a_closed_case(case, team):
    manager = UserFactory(team=team, role=roles.TEAM_MANAGER)
    services.case_close(actor=manager, case=case, closed_on=D(2026, 3, 1), reason="nfa")
    with pytest.raises(ValidationError):
        services.meeting_record(
            actor=manager,
            case=case,
            kind="multi_agency",
            held_on=D(2026, 3, 2),
            chair="Chair",
            decisions="None",
        )
    assert not Meeting.objects.exists()


def test_it_refuses_a_meeting_offered_to_meet_an_escalation_already_closed(case, team):
    manager = UserFactory(team=team, role=roles.TEAM_MANAGER)
    done = EscalationFactory(case=case, state="cancelled", cancelled_reason="Raised in error")
    with pytest.raises(ValidationError) as exc:
        services.meeting_record(
            actor=manager,
            case=case,
            kind="multi_agency",
            held_on=D(2026, 2, 10),
            chair="Chair",
            decisions="x",
            meets=done,
        )
    assert "already cancelled" in exc.value.message_dict["meets"][0]


def test_it_records_a_meeting_from_the_page_and_meets_the_escalation(client, case, team):
    manager = UserFactory(team=team, role=roles.TEAM_MANAGER)
    escalation = EscalationFactory(case=case)
    client.force_login(manager)
    url = reverse("cases:meeting_add", args=[case.pk]) + f"?escalation={escalation.pk}"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "kind": "multi_agency",
            "held_on-day": "12",
            "held_on-month": "2",
            "held_on-year": "2026",
            "chair": "Grace Okafor",
            "decisions": "Unannounced visits",
            "meets": escalation.pk,
        },
    )
    assert response.status_code == 302
    escalation.refresh_from_db()
    assert escalation.state == "met" and escalation.met_on == D(2026, 2, 12)
    assert escalation.history.first().history_user == manager
