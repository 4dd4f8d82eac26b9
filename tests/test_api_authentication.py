"""Unauthenticated API calls are told how to authenticate: 401 with `WWW-Authenticate:
Token`. Signed-in users the policy refuses still get 403 (no role) or 404 (a case out
of reach)."""

import pytest
from rest_framework.test import APIClient

from tests.factories import CaseFactory, UserFactory, api_token_for


@pytest.fixture
def case(team, worker):
    case = CaseFactory(team=team, family_name="Ashworth")
    case.allocated_workers.add(worker)
    return case


@pytest.fixture
def api(worker):
    client = APIClient()
    client.force_login(worker)
    return client


@pytest.mark.parametrize(
    "url",
    ["/api/v1/cases/", "/api/v1/visits/", "/api/v1/schema/", "/api/v1/supervision/sessions/"],
)
def test_it_answers_401_with_a_challenge_when_nobody_is_signed_in(case, url):
    response = APIClient().get(url)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert b"openapi" not in response.content


def test_it_answers_401_to_a_token_that_is_not_one(case):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")

    response = client.get("/api/v1/cases/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_signed_in_user_without_a_role_still_gets_403(team, case):
    user = UserFactory(team=team)
    user.groups.clear()
    token = APIClient()
    token.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    session = APIClient()
    session.force_login(user)

    for client in (token, session):
        response = client.get("/api/v1/cases/")
        assert response.status_code == 403
        assert "WWW-Authenticate" not in response


def test_a_signed_in_user_gets_404_for_a_case_out_of_reach(api, case):
    other = CaseFactory(family_name="Brennan")

    for url in (f"/api/v1/cases/{other.pk}/", f"/api/v1/cases/{other.pk}/chronology/"):
        response = api.get(url)
        assert response.status_code == 404, url
        assert "Brennan" not in response.content.decode()
