"""One door for every write: the page and the API refuse the same supervision, because
both go through `services.session_create`, which asks the policy."""

import json
import re

import pytest
from django.urls import reverse

from accounts import roles
from supervision.models import SupervisionSession
from tests.factories import UserFactory, api_token_for

from .conftest import TODAY


def _api(user):
    token = api_token_for(user)
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def _offered(client, user) -> set[int]:
    """The people the arrange form offers `user` as supervisee (their ids)."""
    client.force_login(user)
    html = client.get(reverse("supervision:create")).content.decode()
    select = re.search(r'<select name="supervisee".*?</select>', html, re.S).group(0)
    return {int(pk) for pk in re.findall(r'<option value="(\d+)"', select)}


def _api_arrange(client, actor, supervisee):
    client.logout()  # the token says who is asking
    return client.post(
        "/api/v1/supervision/sessions/",
        data=json.dumps({"supervisee": supervisee.pk, "date": TODAY.isoformat()}),
        content_type="application/json",
        **_api(actor),
    )


def _page_arrange(client, actor, supervisee):
    client.force_login(actor)
    return client.post(
        reverse("supervision:create"),
        {
            "supervisee": supervisee.pk,
            "date-day": TODAY.day,
            "date-month": TODAY.month,
            "date-year": TODAY.year,
            "kind": "formal",
        },
    )


def test_it_refuses_a_social_worker_arranging_supervision_on_the_page_and_the_api(
    client, people, frozen
):
    worker, other_team_worker = people["worker"], people["outsider"]

    client.force_login(worker)
    assert client.get(reverse("supervision:create")).status_code == 403
    assert _page_arrange(client, worker, other_team_worker).status_code == 403
    api = _api_arrange(client, worker, other_team_worker)
    assert api.status_code == 403, api.content
    # Nor for a colleague of their own team: a social worker supervises nobody.
    assert _api_arrange(client, worker, people["colleague"]).status_code == 403

    # Nothing written, so nothing to record as held, sign off, or count in the other
    # team's figures.
    assert not SupervisionSession.objects.exists()


def test_it_refuses_a_practice_supervisor_arranging_supervision_for_another_team(
    client, people, frozen
):
    supervisor, other_team_worker = people["supervisor"], people["outsider"]

    offered = _offered(client, supervisor)
    assert people["worker"].pk in offered and other_team_worker.pk not in offered
    page = _page_arrange(client, supervisor, other_team_worker)
    assert page.status_code == 400
    assert "Select someone you supervise" in page.content.decode()

    api = _api_arrange(client, supervisor, other_team_worker)
    assert api.status_code == 403, api.content
    assert not SupervisionSession.objects.exists()


def test_it_lets_page_and_api_arrange_supervision_the_policy_allows(client, people, frozen):
    """The refusals above are the policy's, not a broken door: the same people may
    arrange supervision of their own team (and a service manager of anyone)."""
    page = _page_arrange(client, people["supervisor"], people["worker"])
    assert page.status_code == 302
    api = _api_arrange(client, people["supervisor"], people["colleague"])
    assert api.status_code == 201, api.content
    other = _api_arrange(client, people["service_manager"], people["outsider"])
    assert other.status_code == 201, other.content
    assert SupervisionSession.objects.count() == 3


def test_it_offers_on_the_page_only_the_people_the_policy_lets_them_supervise(
    client, people, frozen
):
    """Workers and practice supervisors of the team, not its manager, business support,
    the person arranging, or anyone of another team."""
    peer = UserFactory(username="ps2", team=people["team"], role=roles.PRACTICE_SUPERVISOR)
    assert _offered(client, people["supervisor"]) == {
        people["worker"].pk,
        people["colleague"].pk,
        peer.pk,
    }
    # A team manager cannot be supervised here, on the page or through the API.
    assert _page_arrange(client, people["supervisor"], people["manager"]).status_code == 400
    assert _api_arrange(client, people["supervisor"], people["manager"]).status_code == 403
    assert not SupervisionSession.objects.exists()


@pytest.mark.parametrize("who", ["manager", "service_manager"])
def test_it_lets_only_the_supervisor_sign_off_on_the_page_and_the_api(client, people, frozen, who):
    from supervision import services

    session = services.session_create(
        actor=people["supervisor"], supervisee=people["worker"], date=TODAY
    )
    services.session_hold(actor=people["supervisor"], session=session)
    client.force_login(people[who])
    assert client.get(reverse("supervision:sign_off", args=[session.pk])).status_code == 403
    assert client.post(reverse("supervision:sign_off", args=[session.pk])).status_code == 403
    client.logout()
    api = client.post(
        f"/api/v1/supervision/sessions/{session.pk}/sign_off/",
        data="{}",
        content_type="application/json",
        **_api(people[who]),
    )
    assert api.status_code == 403
    session.refresh_from_db()
    assert session.signed_off_at is None


def test_the_supervisee_list_is_exactly_whom_the_policy_lets_each_person_supervise(people):
    from accounts import policy
    from accounts.models import User

    staff = [u for u in people.values() if isinstance(u, User)]
    inactive = UserFactory(username="gone", team=people["team"], is_active=False)
    staff.append(inactive)
    for arranger in staff:
        q = policy.supervisees_q(arranger)
        listed = set(User.objects.filter(q).distinct()) if q is not None else set()
        allowed = {u for u in staff if policy.can_supervise(arranger, u)}
        assert listed == allowed, arranger.username
    assert {
        u.username for u in User.objects.filter(policy.supervisees_q(people["supervisor"]))
    } == {
        "sw",
        "col",
    }
