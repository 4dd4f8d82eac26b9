"""Whatever is sent, the API answers with a proper status, never a 500: an id in a path
that is not a number or too big for any database is 404, a filter that is not one
(out of range, not a number, a NUL byte) is 400, on SQLite and PostgreSQL alike."""

from urllib.parse import quote

import pytest
from rest_framework.test import APIClient

from accounts import roles
from accounts.models import AccessLog
from chronologies.models import ChronologyExport
from tests.factories import (
    CaseDiscussionFactory,
    CaseFactory,
    ChronologyEntryFactory,
    ChronologyExportFactory,
    DecisionFactory,
    PersonFactory,
    UserFactory,
)

# Too big for a 64-bit integer (SQLite raises OverflowError on it, PostgreSQL an error).
HUGE = "99999999999999999999"
# Fits a 64-bit integer but is more digits than any id is allowed (10**18 and above).
BIG = "9223372036854775807"


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


@pytest.fixture
def entry(case):
    return ChronologyEntryFactory(case=case)


@pytest.fixture
def export(case, worker):
    return ChronologyExportFactory(case=case, requested_by=worker)


def assert_json_404(response):
    assert response.status_code == 404, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


# --- Ids in the path --------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["abc", "1.5", "-1", "1e3", "%C2%B2", HUGE, BIG, "0x1"])
def test_it_answers_404_to_an_id_in_the_path_that_is_not_one(api, case, entry, export, bad):
    for url in [
        f"/api/v1/cases/{bad}/",
        f"/api/v1/cases/{bad}/chronology/",
        f"/api/v1/cases/{bad}/chronology-exports/",
        f"/api/v1/cases/{case.pk}/chronology/{bad}/",
        f"/api/v1/cases/{case.pk}/chronology-exports/{bad}/",
        f"/api/v1/cases/{case.pk}/chronology-exports/{bad}/download/",
        f"/api/v1/cases/{case.pk}/escalations/",  # the case itself is fine
        f"/api/v1/visits/{bad}/",
        f"/api/v1/people/{bad}/",
        f"/api/v1/supervision/sessions/{bad}/",
    ]:
        response = api.get(url)
        if url.endswith("/escalations/"):
            assert response.status_code == 200, url
            continue
        assert_json_404(response)
    for url in [
        f"/api/v1/cases/{case.pk}/chronology/{bad}/significance/",
        f"/api/v1/cases/{case.pk}/chronology/{bad}/in-error/",
        f"/api/v1/cases/{bad}/chronology/{entry.pk}/significance/",
        f"/api/v1/cases/{case.pk}/escalations/{bad}/cancel/",
        f"/api/v1/cases/{bad}/close/",
        f"/api/v1/visits/{bad}/in_error/",
    ]:
        response = api.post(url, {"significance": "critical", "reason": "Wrong case"}, "json")
        assert_json_404(response)
    entry.refresh_from_db()
    assert entry.significance == "routine" and not entry.in_error


def test_it_answers_404_to_the_exact_urls_that_failed(api, case):
    # Seen on main: a 500 for each of these.
    assert_json_404(api.get(f"/api/v1/cases/{case.pk}/chronology-exports/abc/"))
    assert_json_404(api.get(f"/api/v1/cases/{case.pk}/chronology-exports/abc/download/"))
    for action in ("significance", "in-error"):
        response = api.post(
            f"/api/v1/cases/{case.pk}/chronology/abc/{action}/",
            {"significance": "critical", "reason": "x"},
            format="json",
        )
        assert_json_404(response)
    assert_json_404(api.get("/api/v1/cases/abc/chronology/"))


def test_the_real_ids_still_work(api, case, entry, export):
    assert api.get(f"/api/v1/cases/{case.pk}/chronology/{entry.pk}/").status_code == 200
    assert api.get(f"/api/v1/cases/{case.pk}/chronology-exports/{export.pk}/").status_code == 200
    response = api.get(f"/api/v1/cases/{case.pk}/chronology-exports/{export.pk}/download/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_it_sends_the_file_whatever_the_client_says_it_accepts(api, case, export):
    # The file's type is not negotiable; asking for it by name must not be a 406.
    url = f"/api/v1/cases/{case.pk}/chronology-exports/{export.pk}/download/"
    for accept in ("text/csv", "application/pdf", "application/json", "*/*"):
        response = api.get(url, HTTP_ACCEPT=accept)
        assert response.status_code == 200, accept
        assert response["Content-Type"] == "text/csv; charset=utf-8"
    response = api.get(
        f"/api/v1/cases/{case.pk}/chronology-exports/999999/download/", HTTP_ACCEPT="text/csv"
    )
    assert_json_404(response)


# --- Filters in the query string --------------------------------------------------------


ID_FILTERS = [
    ("/api/v1/cases/", "team"),
    ("/api/v1/people/", "case"),
    ("/api/v1/memberships/", "case"),
    ("/api/v1/addresses/", "case"),
    ("/api/v1/cp-plans/", "case"),
    ("/api/v1/cp-plans/", "child"),
    ("/api/v1/hazards/", "case"),
    ("/api/v1/hazards/", "person"),
    ("/api/v1/meetings/", "case"),
    ("/api/v1/visits/", "case"),
    ("/api/v1/supervision/decisions/", "case"),
]


@pytest.mark.parametrize("bad", [HUGE, "-" + HUGE, BIG, "0", "-1", "abc", "1.5", "²", "1\x00"])
def test_it_answers_400_to_an_id_filter_that_is_not_an_id(api, case, bad):
    for url, name in ID_FILTERS:
        response = api.get(url, {name: bad})

        assert response.status_code == 400, (url, name, bad, response.content)
        assert name in response.json()


def test_an_id_filter_still_filters(api, case):
    for url, name in ID_FILTERS:
        response = api.get(url, {name: str(case.pk)})
        assert response.status_code == 200, (url, name, response.content)


def test_it_filters_supervision_decisions_by_case(api, case, worker):
    session_worker = UserFactory(team=case.team, role=roles.SOCIAL_WORKER)
    decision = DecisionFactory(
        discussion=CaseDiscussionFactory(case=case, session__supervisee=session_worker)
    )
    DecisionFactory(discussion=CaseDiscussionFactory(session__supervisee=session_worker))

    response = api.get("/api/v1/supervision/decisions/", {"case": case.pk})

    assert [row["id"] for row in response.json()["results"]] == [decision.pk]


CHRONOLOGY_FILTERS = [
    ("child", HUGE),
    ("child", BIG),
    ("child", "0"),
    ("child", "²"),
    ("child", "abc"),
    ("source", "agency-" + HUGE),
    ("source", "agency-²"),
    ("source", "agency-abc"),
    ("source", "informant-nobody"),
    ("source", "somewhere"),
    ("source", "a\x00b"),
    ("category", "a\x00b"),
    ("date_from", "2026-02-30"),
    ("date_to", "\x00"),
    ("significance", "huge"),
    ("significant_only", "perhaps"),
]


def test_it_answers_400_to_a_chronology_filter_that_is_not_one(api, case, entry):
    for name, bad in CHRONOLOGY_FILTERS:
        listing = api.get(f"/api/v1/cases/{case.pk}/chronology/", {name: bad})
        export = api.post(
            f"/api/v1/cases/{case.pk}/chronology-exports/?{name}={quote(bad, safe='')}",
            {"format": "csv"},
            format="json",
        )

        for response in (listing, export):
            assert response.status_code == 400, (name, bad, response.content)
            assert name in response.json()
    assert not ChronologyExport.objects.exists()
    assert not AccessLog.objects.filter(what__startswith="exported chronology").exists()


def test_it_answers_400_to_a_nul_byte_in_an_export_filter(api, case, entry):
    # Seen on main: a 500 (PostgreSQL refuses to store the NUL in the export's filters).
    response = api.post(
        f"/api/v1/cases/{case.pk}/chronology-exports/?source=a%00b", {"format": "csv"}, "json"
    )

    assert response.status_code == 400
    assert "source" in response.json()
    assert not ChronologyExport.objects.exists()


def test_the_chronology_filters_still_filter(api, case, entry, team):
    child = PersonFactory()
    other = ChronologyEntryFactory(case=case, informant_type="grandparent", significance="critical")
    other.children.add(child)
    base = f"/api/v1/cases/{case.pk}/chronology/"

    def ids(**params):
        response = api.get(base, params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids() == {entry.pk, other.pk}
    assert ids(child=child.pk) == {other.pk}
    assert ids(source="informant-grandparent") == {other.pk}
    assert ids(source="informant-neighbour", significance="routine") == {entry.pk}
    assert ids(significant_only="on") == {other.pk}
    assert ids(child="", source="", date_from="") == {entry.pk, other.pk}  # empty: no filter
    assert ids(source="recorded") == set()
