"""Who sees what: sessions and the worker's wellbeing only for the supervisee, the
supervisor and their managers; decisions for everyone who may see the case."""

import datetime
import json

import pytest
from django.urls import reverse

from supervision.models import SupervisionSession
from tests.factories import (
    CaseDiscussionFactory,
    DecisionFactory,
    SupervisionActionFactory,
    SupervisionSessionFactory,
    api_token_for,
)

WELLBEING = "Shaken after the father threatened her on the doorstep"
SUPPORT = "Joint visits only to this family; counselling offered"
ANSWER = "Assumed mum is coping; the hard evidence says otherwise"
DECISION = "Convene a strategy discussion"

SEES_SESSION = {"worker", "supervisor", "manager", "service_manager"}
SEES_CASE_ONLY = {"colleague", "admin"}
SEES_NOTHING = {"outsider", "other_manager"}


@pytest.fixture
def record(people, cp_case):
    session = SupervisionSessionFactory(
        supervisee=people["worker"],
        supervisor=people["supervisor"],
        date=datetime.date(2026, 3, 2),
        wellbeing_impact=WELLBEING,
        wellbeing_support=SUPPORT,
        most_worried_case=cp_case,
        most_worried_why="Bruising unexplained",
    )
    discussion = CaseDiscussionFactory(session=session, case=cp_case, assumptions=ANSWER)
    decision = DecisionFactory(discussion=discussion, decision=DECISION)
    action = SupervisionActionFactory(discussion=discussion, owner=people["worker"])
    return {"session": session, "discussion": discussion, "decision": decision, "action": action}


def _page_urls(record):
    s, d, a = record["session"], record["discussion"], record["action"]
    return [
        reverse("supervision:detail", args=[s.pk]),
        reverse("supervision:record", args=[s.pk]),
        reverse("supervision:hold", args=[s.pk]),
        reverse("supervision:cancel", args=[s.pk]),
        reverse("supervision:sign_off", args=[s.pk]),
        reverse("supervision:discussion_add", args=[s.pk]),
        reverse("supervision:discussion_edit", args=[s.pk, d.pk]),
        reverse("supervision:decision_add", args=[s.pk, d.pk]),
        reverse("supervision:action_add", args=[s.pk, d.pk]),
        reverse("supervision:decision_edit", args=[s.pk, d.pk, record["decision"].pk]),
        reverse("supervision:action_edit", args=[s.pk, d.pk, a.pk]),
    ], a


@pytest.mark.parametrize("who", sorted(SEES_CASE_ONLY | SEES_NOTHING))
def test_it_never_shows_the_wellbeing_section_to_others(client, people, cp_case, record, who):
    user = people[who]
    client.force_login(user)
    bodies = []
    urls, action = _page_urls(record)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 404, url
        bodies.append(response.content.decode())
        assert client.post(url, {}).status_code == 404, url
    assert (
        client.post(
            reverse("supervision:action_status", args=[action.pk]), {"status": "completed"}
        ).status_code
        == 404
    )
    for name in ("supervision:home", "supervision:my_actions"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        bodies.append(response.content.decode())
    case_page = client.get(reverse("cases:detail", args=[cp_case.pk]))
    decisions_page = client.get(reverse("supervision_case:decisions", args=[cp_case.pk]))
    bodies += [case_page.content.decode(), decisions_page.content.decode()]
    if who in SEES_CASE_ONLY:
        # The decision is part of the case record; nothing else from the session is.
        assert case_page.status_code == 200 and decisions_page.status_code == 200
        assert DECISION in case_page.content.decode()
        assert DECISION in decisions_page.content.decode()
    else:
        assert case_page.status_code == 404 and decisions_page.status_code == 404

    token = api_token_for(user)
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    api = [
        "/api/v1/supervision/sessions/",
        f"/api/v1/supervision/sessions/{record['session'].pk}/",
        "/api/v1/supervision/discussions/",
        f"/api/v1/supervision/discussions/{record['discussion'].pk}/",
        "/api/v1/supervision/actions/",
        f"/api/v1/supervision/actions/{action.pk}/",
        "/api/v1/supervision/decisions/",
        f"/api/v1/supervision/decisions/?case={cp_case.pk}",
        f"/api/v1/supervision/decisions/{record['decision'].pk}/",
        f"/api/v1/cases/{cp_case.pk}/",
        "/api/v1/cases/",
    ]
    for url in api:
        response = client.get(url, **auth)
        assert response.status_code in (200, 404), url
        if "/sessions/" in url or "/discussions/" in url or "/actions/" in url:
            if (
                url.endswith("/supervision/sessions/")
                or url.endswith("/discussions/")
                or url.endswith("/actions/")
            ):
                assert json.loads(response.content)["results"] == [], url
            else:
                assert response.status_code == 404, url
        bodies.append(response.content.decode())
    for url in (
        f"/api/v1/supervision/sessions/{record['session'].pk}/cancel/",
        f"/api/v1/supervision/discussions/{record['discussion'].pk}/decisions/",
        f"/api/v1/supervision/actions/{action.pk}/status/",
    ):
        response = client.post(url, data="{}", content_type="application/json", **auth)
        assert response.status_code == 404, url
        bodies.append(response.content.decode())
    for body in bodies:
        assert WELLBEING not in body and SUPPORT not in body
        assert ANSWER not in body and "Bruising unexplained" not in body


@pytest.mark.parametrize("who", sorted(SEES_SESSION))
def test_it_shows_the_session_and_wellbeing_to_those_in_it_and_their_managers(
    client, people, record, who
):
    user = people[who]
    client.force_login(user)
    page = client.get(reverse("supervision:detail", args=[record["session"].pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert WELLBEING in body and SUPPORT in body and ANSWER in body and DECISION in body
    token = api_token_for(user)
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    api = client.get(f"/api/v1/supervision/sessions/{record['session'].pk}/", **auth)
    assert api.status_code == 200 and json.loads(api.content)["wellbeing_impact"] == WELLBEING
    listing = json.loads(client.get("/api/v1/supervision/discussions/", **auth).content)
    assert [row["id"] for row in listing["results"]] == [record["discussion"].pk]


def test_it_keeps_the_case_api_and_decisions_free_of_session_fields(
    client, people, cp_case, record
):
    token = api_token_for(people["colleague"])
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    rows = json.loads(
        client.get(f"/api/v1/supervision/decisions/?case={cp_case.pk}", **auth).content
    )["results"]
    assert [r["decision"] for r in rows] == [DECISION]
    assert set(rows[0]) == {
        "id",
        "case",
        "decision",
        "reasons",
        "decided_on",
        "created_at",
        "created_by",
        "version",
    }


def test_it_lets_a_manager_of_another_team_see_nothing_of_the_lists(
    client, people, cp_case, record
):
    client.force_login(people["other_manager"])
    body = client.get(reverse("supervision:home")).content.decode()
    assert people["worker"].get_full_name() not in body
    assert cp_case.family_name not in body


def test_it_leaves_a_restricted_case_out_of_a_session_its_manager_sees(client, people, record):
    from tests.factories import CaseFactory

    secret = CaseFactory(team=people["team"], family_name="Restrictedfamily", restricted=True)
    secret.allocated_workers.add(people["worker"])
    secret.restricted_to.add(people["worker"], people["supervisor"])
    CaseDiscussionFactory(
        session=record["session"], case=secret, lived_experience="Secret lived experience"
    )
    SupervisionSession.objects.filter(pk=record["session"].pk).update(most_worried_case=secret)
    client.force_login(people["manager"])
    body = client.get(reverse("supervision:detail", args=[record["session"].pk])).content.decode()
    assert ANSWER in body
    assert "Restrictedfamily" not in body and "Secret lived experience" not in body
    assert "Bruising unexplained" not in body and "A case you cannot see" in body
    client.force_login(people["supervisor"])
    body = client.get(reverse("supervision:detail", args=[record["session"].pk])).content.decode()
    assert "Secret lived experience" in body
