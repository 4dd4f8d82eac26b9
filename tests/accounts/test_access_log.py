"""The access log: one row per child shown, in one INSERT per request, from the address
the policy of trusted proxies gives; refused attempts kept with the id asked for."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import roles
from accounts.models import AccessLog
from cases.models import Membership
from tests.factories import (
    CaseFactory,
    ChronologyEntryFactory,
    MembershipFactory,
    PersonFactory,
    UserFactory,
)


@pytest.fixture
def case(worker):
    case = CaseFactory(team=worker.team, family_name="Carter")
    case.allocated_workers.add(worker)
    return case


@pytest.fixture
def children(case):
    return [
        MembershipFactory(
            case=case, person=PersonFactory(first_name=name, last_name="Carter")
        ).person
        for name in ("Ava", "Ben", "Cal")
    ]


@pytest.fixture
def mother(case):
    return MembershipFactory(
        case=case,
        person=PersonFactory(
            first_name="Dana", last_name="Carter", date_of_birth=datetime.date(1990, 1, 1)
        ),
        relationship=Membership.Relationship.MOTHER,
    ).person


def rows(**filters):
    return list(AccessLog.objects.filter(**filters).order_by("person_id"))


def inserts(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "accounts_accesslog"')]


def test_it_logs_one_row_per_person_on_the_case_page_in_one_insert(
    signed_in, worker, case, children, mother
):
    with CaptureQueriesContext(connection) as ctx:
        response = signed_in.get(reverse("cases:detail", args=[case.pk]), REMOTE_ADDR="10.1.2.3")

    assert response.status_code == 200
    assert len(inserts(ctx.captured_queries)) == 1
    logged = rows()
    assert {r.person_id for r in logged} == {p.pk for p in [*children, mother]}
    for r in logged:
        assert (r.user, r.case_id, r.case_reference) == (worker, case.pk, case.reference)
        assert (r.via, r.outcome, r.ip_address) == ("page", "shown", "10.1.2.3")
        assert r.route == "cases:detail"


def test_it_logs_the_children_at_the_top_of_every_other_case_page(
    signed_in, case, children, mother
):
    assert signed_in.get(reverse("cases:history", args=[case.pk])).status_code == 200

    assert {r.person_id for r in rows()} == {p.pk for p in children}


def test_it_logs_a_case_with_nobody_on_it_as_one_row(signed_in, case):
    signed_in.get(reverse("cases:detail", args=[case.pk]))

    (row,) = rows()
    assert (row.case_id, row.person_id) == (case.pk, None)


def test_it_logs_a_forged_x_forwarded_for_as_the_peer_address(signed_in, case, children):
    signed_in.get(
        reverse("cases:detail", args=[case.pk]),
        REMOTE_ADDR="192.0.2.50",
        HTTP_X_FORWARDED_FOR="10.66.66.66",
    )

    assert {r.ip_address for r in rows()} == {"192.0.2.50"}


def test_it_logs_the_client_a_trusted_proxy_names(settings, signed_in, case, children):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    signed_in.get(
        reverse("cases:detail", args=[case.pk]),
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="10.66.66.66, 198.51.100.7",
    )

    assert {r.ip_address for r in rows()} == {"198.51.100.7"}


@pytest.mark.parametrize(
    "forwarded",
    [
        "garbage",
        "x" * 8000,
        "2001:db8::1, ::::, [::1]:80, 999.1.1.1",
        ", ".join(["203.0.113.1"] * 500),
        "\u00e9\u00e9, 1.2.3.4",
        "unknown",
    ],
)
def test_it_never_fails_a_case_page_for_a_malformed_header(
    settings, signed_in, case, children, forwarded
):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    response = signed_in.get(
        reverse("cases:detail", args=[case.pk]), HTTP_X_FORWARDED_FOR=forwarded
    )

    assert response.status_code == 200
    assert len(rows()) == 3


def test_it_logs_a_refused_case_page_with_the_id_asked_for(signed_in, worker, children):
    hidden = CaseFactory()  # another team's case
    MembershipFactory(case=hidden)

    assert signed_in.get(reverse("cases:detail", args=[hidden.pk])).status_code == 404
    assert signed_in.get(reverse("cases:detail", args=[999_999])).status_code == 404

    logged = rows(outcome="refused")
    assert {(r.case_id, r.person_id, r.case_reference) for r in logged} == {
        (hidden.pk, None, ""),
        (999_999, None, ""),
    }
    assert not rows(outcome="shown")


def test_it_logs_a_refused_person_page_with_the_person_asked_for(signed_in, case, children):
    stranger = PersonFactory()  # on no case of this user's

    url = reverse("cases:person_edit", args=[case.pk, stranger.pk])
    assert signed_in.get(url).status_code == 404

    # The person asked for, and the case page that showed nothing in the end.
    assert {(r.person_id, r.case_id) for r in rows(outcome="refused")} == {
        (stranger.pk, None),
        (None, case.pk),
    }
    assert not rows(outcome="shown")


def test_it_logs_one_row_per_child_on_the_case_list(signed_in, case, children):
    other = CaseFactory(team=case.team)
    other_child = MembershipFactory(case=other).person

    with CaptureQueriesContext(connection) as ctx:
        response = signed_in.get(reverse("cases:list") + "?scope=team")

    assert response.status_code == 200
    assert len(inserts(ctx.captured_queries)) == 1
    assert {(r.case_id, r.person_id) for r in rows(via="list")} == {
        *((case.pk, c.pk) for c in children),
        (other.pk, other_child.pk),
    }


def test_it_logs_the_people_a_person_search_shows(signed_in, case, children):
    elsewhere = CaseFactory(team=case.team)
    namesake = MembershipFactory(
        case=elsewhere, person=PersonFactory(first_name="Ava", last_name="Carter")
    ).person

    response = signed_in.post(
        reverse("cases:person_add", args=[case.pk]),
        {"action": "search", "s-first_name": "Ava", "s-last_name": "Carter"},
    )

    assert response.status_code == 200
    found = {r.person_id for r in rows(via="search")}
    assert {children[0].pk, namesake.pk} <= found
    assert all(r.case_id is None for r in rows(via="search"))


def test_it_logs_the_children_of_a_dashboard_drill_down(client, case, children):
    manager = UserFactory(team=case.team, role=roles.TEAM_MANAGER)
    client.force_login(manager)

    url = reverse("dashboards:team_figure", args=[case.team.pk, "children-cin"])
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)

    assert response.status_code == 200
    assert len(inserts(ctx.captured_queries)) == 1
    assert {(r.case_id, r.person_id) for r in rows(via="dashboard")} == {
        (case.pk, c.pk) for c in children
    }


def test_it_logs_the_children_on_my_work(signed_in, case, children):
    assert signed_in.get(reverse("dashboards:mine")).status_code == 200

    assert {r.person_id for r in rows(via="dashboard")} == {c.pk for c in children}


def test_it_logs_the_people_an_api_list_names_in_one_insert(worker, case, children, mother):
    api = APIClient()
    api.force_login(worker)

    with CaptureQueriesContext(connection) as ctx:
        response = api.get("/api/v1/people/")

    assert response.status_code == 200
    assert len(inserts(ctx.captured_queries)) == 1
    assert {(r.case_id, r.person_id) for r in rows(via="api")} == {
        (case.pk, p.pk) for p in [*children, mother]
    }


def test_it_logs_a_refused_api_read_with_the_id_asked_for(worker, children):
    api = APIClient()
    api.force_login(worker)
    stranger = PersonFactory()
    hidden = CaseFactory()

    assert api.get(f"/api/v1/people/{stranger.pk}/").status_code == 404
    assert api.get(f"/api/v1/cases/{hidden.pk}/").status_code == 404

    assert {(r.person_id, r.case_id) for r in rows(outcome="refused", via="api")} == {
        (stranger.pk, None),
        (None, hidden.pk),
    }


def test_it_logs_the_children_of_a_chronology_export(signed_in, case, children, mother):
    ChronologyEntryFactory(case=case)

    response = signed_in.post(
        reverse("chronologies:export_request", args=[case.pk]),
        {"format": "csv", "redacted": "no", "in_error": "leave_out"},
    )

    assert response.status_code == 302
    exported = rows(via="export")
    assert {r.person_id for r in exported} == {c.pk for c in children}
    assert {r.case_id for r in exported} == {case.pk}


def test_it_does_not_log_a_case_when_nothing_is_shown_to_the_anonymous(client, case):
    assert client.get(reverse("cases:detail", args=[case.pk])).status_code == 302
    assert not rows()


@pytest.fixture
def log_refuses_writes(transactional_db):
    """The access log table refuses every new row (outside a test transaction, as the
    middleware writes in autocommit), until the test ends."""
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE accounts_accesslog ADD CONSTRAINT test_refuse_all CHECK (false) NOT VALID"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE accounts_accesslog DROP CONSTRAINT test_refuse_all")


def test_it_shows_nothing_when_the_log_cannot_be_written(
    log_refuses_writes, signed_in, case, children
):
    """Fail closed on a read: a 500 and no record shown when the log write fails."""
    response = signed_in.get(reverse("cases:detail", args=[case.pk]))

    assert response.status_code == 500
    assert b"Ava" not in response.content


def test_it_keeps_a_write_answer_when_the_log_cannot_be_written(
    log_refuses_writes, signed_in, case, children
):
    """A write that committed is not reported as failed because its log row failed."""
    response = signed_in.post(
        reverse("cases:edit", args=[case.pk]),
        {"family_name": "Carter-Jones", "summary": "Updated", "version": ""},
    )

    assert response.status_code in (200, 302)
    case.refresh_from_db()
    assert case.family_name == "Carter-Jones"


def test_old_rows_read_as_whole_case_views(worker, case):
    old = AccessLog.objects.create(
        user=worker,
        case_id=case.pk,
        case_reference=case.reference,
        what="viewed case page",
        at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )

    assert (old.via, old.outcome, old.person_id) == ("page", "shown", None)


def test_it_logs_a_case_action_the_policy_refuses_as_refused(signed_in, case, children):
    # A worker may see the case but not restrict it (managers do): a 403 shows nothing.
    assert signed_in.get(reverse("cases:restrict", args=[case.pk])).status_code == 403

    assert not rows(outcome="shown")
    assert {r.case_id for r in rows(outcome="refused")} == {case.pk}
