"""The access log pages: who may read which rows, the filters, the CSV (with the formula
guard) and the reading itself logged."""

import csv
import datetime
import io

import pytest
from django.urls import reverse

from accounts import policy, roles
from accounts.models import AccessLog
from cases.models import Case, Membership
from tests.factories import CaseFactory, MembershipFactory, PersonFactory, TeamFactory, UserFactory

AT = datetime.datetime(2026, 11, 2, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def north(db):
    return TeamFactory(name="North", code="north")


@pytest.fixture
def south(db):
    return TeamFactory(name="South", code="south")


@pytest.fixture
def world(north, south):
    """A child on a North case and one on a South case, each looked at by a worker."""
    north_case = CaseFactory(team=north, reference="SG-N-1")
    south_case = CaseFactory(team=south, reference="SG-S-1")
    ava = MembershipFactory(case=north_case, person=PersonFactory(first_name="Ava")).person
    sam = MembershipFactory(case=south_case, person=PersonFactory(first_name="Sam")).person
    amira = UserFactory(username="amira.north", team=north)
    sid = UserFactory(username="sid.south", team=south)
    for user, case, child, days in [(amira, north_case, ava, 0), (sid, south_case, sam, 1)]:
        AccessLog.objects.create(
            user=user,
            person_id=child.pk,
            case_id=case.pk,
            case_reference=case.reference,
            what="viewed case page",
            via="page",
            route="cases:detail",
            at=AT + datetime.timedelta(days=days),
            ip_address="192.0.2.10",
        )
    return {"north_case": north_case, "ava": ava, "sam": sam, "amira": amira, "sid": sid}


def make(role, team):
    return UserFactory(username=f"u-{role[:6].replace(' ', '')}-{team.code}", team=team, role=role)


def visible(user):
    return set(
        policy.visible_access_log(
            user,
            AccessLog.objects.all(),
            cases=Case.objects.all(),
            memberships=Membership.objects.all(),
        ).values_list("person_id", flat=True)
    )


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (roles.SOCIAL_WORKER, set()),
        (roles.PRACTICE_SUPERVISOR, set()),
        (roles.BUSINESS_SUPPORT, set()),
        (roles.SYSTEM_ADMINISTRATOR, set()),
        (roles.TEAM_MANAGER, {"ava"}),
        (roles.SERVICE_MANAGER, {"ava", "sam"}),
        (roles.INFORMATION_GOVERNANCE, {"ava", "sam"}),
    ],
)
def test_it_lets_each_role_read_its_part_of_the_log(world, north, role, expected):
    user = make(role, north)

    assert policy.can_read_access_log(user) is bool(expected)
    assert visible(user) == {world[name].pk for name in expected}


def test_it_lets_a_superuser_read_everything(world, north):
    admin = UserFactory(username="root", team=None)
    admin.is_superuser = True
    admin.save()

    assert visible(admin) == {world["ava"].pk, world["sam"].pk}


def test_it_shows_a_team_manager_the_log_of_their_teams_children_only(client, world, north):
    client.force_login(make(roles.TEAM_MANAGER, north))

    own = client.get(reverse("governance:access_child"), {"person": world["ava"].pk})
    other = client.get(reverse("governance:access_child"), {"person": world["sam"].pk})

    assert own.status_code == 200 and b"amira.north" in own.content
    assert other.status_code == 404
    # What a South worker looked at: nothing of North's, so nothing.
    sid = client.get(reverse("governance:access_user"), {"user": world["sid"].pk})
    assert sid.status_code == 200 and b"SG-S-1" not in sid.content


def test_it_refuses_the_pages_to_a_social_worker(client, world, north):
    client.force_login(make(roles.SOCIAL_WORKER, north))

    for url, params in [
        (reverse("governance:access"), {}),
        (reverse("governance:access_child"), {"person": world["ava"].pk}),
        (reverse("governance:access_user"), {"user": world["amira"].pk}),
    ]:
        assert client.get(url, params).status_code == 403


@pytest.fixture
def ig(client, north):
    user = UserFactory(username="lena", team=None, role=roles.INFORMATION_GOVERNANCE)
    client.force_login(user)
    return user


def test_it_shows_who_looked_at_a_child_and_logs_the_reading(client, world, ig):
    response = client.get(reverse("governance:access_child"), {"person": world["ava"].pk})

    body = response.content.decode()
    assert response.status_code == 200
    assert "Who has looked at Ava" in body and "amira.north" in body and "SG-N-1" in body
    assert "192.0.2.10" in body and "cases:detail" in body
    assert "sid.south" not in body
    read = AccessLog.objects.get(user=ig)
    assert (read.via, read.person_id, read.route) == (
        "access_log",
        world["ava"].pk,
        "governance:access_child",
    )


def test_it_filters_by_date_via_and_outcome(client, world, ig):
    AccessLog.objects.create(
        user=world["sid"],
        person_id=world["ava"].pk,
        what="API refused person",
        via="api",
        outcome="refused",
        at=AT + datetime.timedelta(days=5),
    )
    url = reverse("governance:access_child")
    base = {"person": world["ava"].pk}

    def count(**params):
        body = client.get(url, {**base, **params}).content.decode()
        return int(body.split('id="log-count">')[1].split(" ")[0])

    assert count() == 2
    assert count(outcome="refused") == 1
    assert count(via="page") == 1
    day = AT + datetime.timedelta(days=5)
    on_day = {"date_from-day": day.day, "date_from-month": day.month, "date_from-year": day.year}
    on_day.update({"date_to-day": day.day, "date_to-month": day.month, "date_to-year": day.year})
    assert count(**on_day) == 1
    # Each reading above was logged for the child too, today.
    assert count(via="access_log") == 4
    assert count(**{"date_to-day": AT.day, "date_to-month": AT.month, "date_to-year": AT.year}) == 1
    assert client.get(url, {**base, "via": "nonsense"}).status_code == 400


def test_it_exports_the_filtered_log_as_csv_with_formulas_neutralised(client, world, ig):
    evil = UserFactory(username="evil", first_name='=HYPERLINK("x")', last_name="", team=None)
    AccessLog.objects.create(
        user=evil,
        person_id=world["ava"].pk,
        what="@SUM(1)",
        via="page",
        at=AT,
    )

    response = client.get(
        reverse("governance:access_child"), {"person": world["ava"].pk, "format": "csv"}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert table[0][:3] == ["When", "User", "Username"]
    assert len(table) == 3
    cells = [cell for row in table[1:] for cell in row]
    assert '\'=HYPERLINK("x")' in cells and "'@SUM(1)" in cells
    assert not any(cell.startswith(("=", "@", "+", "-")) for cell in cells)
    assert AccessLog.objects.filter(user=ig, what__endswith="(CSV)").exists()


def test_it_shows_what_a_user_looked_at(client, world, ig):
    response = client.get(reverse("governance:access_user"), {"user": world["amira"].pk})

    body = response.content.decode()
    assert response.status_code == 200
    assert "Ava" in body and "SG-N-1" in body and "SG-S-1" not in body


def test_it_puts_only_ids_in_the_query_string(client, world, ig):
    response = client.get(reverse("governance:access"))
    body = response.content.decode()

    assert 'method="get"' in body
    assert 'name="person"' in body and 'name="user"' in body
    for bad in ("first_name", "last_name", "date_of_birth"):
        assert f'name="{bad}"' not in body


def test_it_links_the_person_page_to_the_log_for_those_allowed(client, world, north):
    manager = make(roles.TEAM_MANAGER, north)
    client.force_login(manager)
    case = world["north_case"]
    url = reverse("cases:person_edit", args=[case.pk, world["ava"].pk])
    link = f"{reverse('governance:access_child')}?person={world['ava'].pk}"

    assert link in client.get(url).content.decode()
    worker = UserFactory(username="w2", team=north)
    client.force_login(worker)
    assert link not in client.get(url).content.decode()
