import datetime
import json

import pytest
from django.urls import reverse
from django.utils.html import escape

from supervision.models import Action, SupervisionSession
from tests.factories import (
    CaseDiscussionFactory,
    SupervisionActionFactory,
    SupervisionSessionFactory,
    api_token_for,
)

from .conftest import TODAY

D = datetime.date


@pytest.fixture
def planned(people):
    return SupervisionSessionFactory(
        supervisee=people["worker"], supervisor=people["supervisor"], date=TODAY, status="planned"
    )


def _api(client, user):
    token = api_token_for(user)
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def test_it_refuses_a_cancellation_without_a_reason_and_keeps_what_was_typed(
    client, people, planned, frozen
):
    client.force_login(people["supervisor"])
    url = reverse("supervision:cancel", args=[planned.pk])
    response = client.post(
        url, {"reason": "", "new_date-day": "17", "new_date-month": "3", "new_date-year": "2026"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "There is a problem" in body and "Enter why the supervision is cancelled" in body
    assert 'value="17"' in body
    planned.refresh_from_db()
    assert planned.status == "planned"
    response = client.post(
        url,
        {"reason": "Court", "new_date-day": "17", "new_date-month": "3", "new_date-year": "2026"},
    )
    planned.refresh_from_db()
    assert planned.status == "cancelled" and planned.rearranged_as.date == D(2026, 3, 17)
    assert response["Location"] == reverse("supervision:detail", args=[planned.rearranged_as.pk])
    client.force_login(people["manager"])
    home = client.get(reverse("supervision:home")).content.decode()
    assert "Cancelled supervision in the last year" in home
    assert escape(people["supervisor"].last_name) in home  # O'Neill is O&#x27;Neill


def test_it_keeps_typed_answers_when_a_discussion_is_refused(
    client, people, planned, cp_case, frozen
):
    client.force_login(people["supervisor"])
    response = client.post(
        reverse("supervision:discussion_add", args=[planned.pk]),
        {
            "case": cp_case.pk,
            "lived_experience": "",
            "assumptions": "Evidence <b>thin</b>",
            "decision": "Strategy discussion",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Describe the child" in body or "Enter" in body
    assert "Enter the reasons for the decision" in body
    assert "Evidence &lt;b&gt;thin&lt;/b&gt;" in body


def test_it_flags_overdue_actions_and_completes_them_from_my_list(client, people, cp_case, frozen):
    discussion = CaseDiscussionFactory(
        session=SupervisionSessionFactory(
            supervisee=people["worker"], supervisor=people["supervisor"]
        ),
        case=cp_case,
    )
    action = SupervisionActionFactory(
        discussion=discussion,
        owner=people["worker"],
        due_date=D(2026, 3, 9),
        description="Ring the GP",
    )
    client.force_login(people["worker"])
    body = client.get(reverse("supervision:my_actions")).content.decode()
    assert "Ring the GP" in body and "1 overdue" in body
    client.post(
        reverse("supervision:action_status", args=[action.pk]),
        {"status": "completed", "next": "actions"},
    )
    action.refresh_from_db()
    assert action.status == "completed" and action.completed_by == people["worker"]
    assert "Ring the GP" not in client.get(reverse("supervision:my_actions")).content.decode()


def test_it_records_a_session_through_the_api(client, people, cp_case, frozen):
    auth = _api(client, people["supervisor"])
    created = client.post(
        "/api/v1/supervision/sessions/",
        data=json.dumps({"supervisee": people["worker"].pk, "date": "2026-03-10"}),
        content_type="application/json",
        **auth,
    )
    assert created.status_code == 201, created.content
    pk = json.loads(created.content)["id"]
    bad = client.post(
        "/api/v1/supervision/discussions/",
        data=json.dumps(
            {
                "session": pk,
                "case": cp_case.pk,
                "lived_experience": "Hungry",
                "answers": {"assumptions": "x"},
            }
        ),
        content_type="application/json",
        **auth,
    )
    assert bad.status_code == 400 and "hypothesis" in json.loads(bad.content)
    made = client.post(
        "/api/v1/supervision/discussions/",
        data=json.dumps(
            {
                "session": pk,
                "case": cp_case.pk,
                "lived_experience": "Hungry",
                "answers": {"assumptions": "x"},
                "not_discussed": [
                    "assessment_changed",
                    "other_source",
                    "other_explanations",
                    "child_life",
                    "hypothesis",
                ],
            }
        ),
        content_type="application/json",
        **auth,
    )
    assert made.status_code == 201, made.content
    discussion = json.loads(made.content)["id"]
    decision = client.post(
        f"/api/v1/supervision/discussions/{discussion}/decisions/",
        data=json.dumps({"decision": "Legal planning", "reasons": "No change"}),
        content_type="application/json",
        **auth,
    )
    assert decision.status_code == 201
    action = client.post(
        f"/api/v1/supervision/discussions/{discussion}/actions/",
        data=json.dumps(
            {"description": "Book it", "owner": people["worker"].pk, "due_date": "2026-03-20"}
        ),
        content_type="application/json",
        **auth,
    )
    assert action.status_code == 201
    cancel = client.post(
        f"/api/v1/supervision/sessions/{pk}/cancel/",
        data=json.dumps({"reason": ""}),
        content_type="application/json",
        **auth,
    )
    assert cancel.status_code == 400
    assert (
        client.post(
            f"/api/v1/supervision/sessions/{pk}/hold/",
            data="{}",
            content_type="application/json",
            **auth,
        ).status_code
        == 200
    )
    signed = client.post(
        f"/api/v1/supervision/sessions/{pk}/sign_off/",
        data="{}",
        content_type="application/json",
        **auth,
    )
    assert json.loads(signed.content)["signed_off_at"] is not None
    change = client.patch(
        f"/api/v1/supervision/sessions/{pk}/",
        data=json.dumps({"wellbeing_support": "Debrief"}),
        content_type="application/json",
        **auth,
    )
    assert change.status_code == 400 and "reason" in json.loads(change.content)
    worker_auth = _api(client, people["worker"])
    action_id = json.loads(action.content)["id"]
    done = client.post(
        f"/api/v1/supervision/actions/{action_id}/status/",
        data=json.dumps({"status": "completed"}),
        content_type="application/json",
        **worker_auth,
    )
    assert (
        done.status_code == 200 and json.loads(done.content)["completed_by"] == people["worker"].pk
    )
    assert Action.objects.get().status == "completed"
    assert SupervisionSession.objects.get(pk=pk).signed_off_by == people["supervisor"]
    colleague = _api(client, people["colleague"])
    assert (
        client.post(
            f"/api/v1/supervision/actions/{action_id}/status/",
            data=json.dumps({"status": "open"}),
            content_type="application/json",
            **colleague,
        ).status_code
        == 404
    )
