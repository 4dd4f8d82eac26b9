"""Administering users, teams, agencies and closure days in the application: the
services write what they should with who did it, and nothing for an unchanged submit;
the pages do the same through the services; switching an account off ends its sessions."""

import datetime

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts import roles, services
from accounts.models import Agency, ClosureDay, RoleChange, Team, User
from safeguarding.workdays import add_working_days
from tests.factories import PASSWORD, AgencyFactory, CaseFactory, TeamFactory, UserFactory
from tests.second_factor import sign_in_with_code

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2026, 12, 7, 10, 0))


@pytest.fixture
def team():
    return TeamFactory(name="North Assessment", code="north")


@pytest.fixture
def support(team):
    return UserFactory(
        username="bea", first_name="Bea", last_name="Okafor", team=team, role=roles.BUSINESS_SUPPORT
    )


@pytest.fixture
def sysadmin():
    return UserFactory(username="omar", team=None, role=roles.SYSTEM_ADMINISTRATOR)


@pytest.fixture
def admin_client(client, support):
    client.force_login(support)
    return client


def _user_form(user, **changes):
    data = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "job_title": user.job_title,
        "team": user.team_id or "",
        "role": user.role_label,
    }
    data.update(changes)
    return data


# --- Users ---------------------------------------------------------------------------------


def test_it_creates_a_user_with_one_role_history_and_a_role_change(support, team):
    user = services.user_create(
        actor=support,
        username="new.worker",
        first_name="  Nia ",
        last_name="Clarke",
        email="Nia.Clarke@COUNCIL.example",
        job_title="Social worker",
        team=team,
        role=roles.SOCIAL_WORKER,
        now=NOW,
    )
    user.refresh_from_db()
    assert user.first_name == "Nia"
    assert user.email == "Nia.Clarke@council.example"
    assert not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == [roles.SOCIAL_WORKER]
    row = user.history.get()
    assert row.history_user == support and row.history_type == "+"
    change = RoleChange.objects.get(user=user)
    assert (change.changed_by, change.before, change.after, change.changed_at) == (
        support,
        "",
        roles.SOCIAL_WORKER,
        NOW,
    )


def test_it_refuses_a_duplicate_username_and_a_team_member_without_a_team(support):
    UserFactory(username="taken")
    with pytest.raises(services.ValidationError) as exc:
        services.user_create(
            actor=support,
            username="TAKEN",
            first_name="A",
            last_name="B",
            team=None,
            role=roles.INFORMATION_GOVERNANCE,
        )
    assert "username" in exc.value.message_dict
    with pytest.raises(services.ValidationError) as exc:
        services.user_create(
            actor=support,
            username="noteam",
            first_name="A",
            last_name="B",
            team=None,
            role=roles.SOCIAL_WORKER,
        )
    assert "team" in exc.value.message_dict
    # A council-wide role needs no team.
    user = services.user_create(
        actor=support,
        username="ig",
        first_name="Lena",
        last_name="Ward",
        team=None,
        role=roles.INFORMATION_GOVERNANCE,
    )
    assert user.team is None


def test_it_changes_details_and_role_with_history_and_a_role_change(support, team):
    worker = UserFactory(username="amira", team=team)
    before_rows = worker.history.count()
    changed = services.user_update(
        actor=support,
        user=worker,
        job_title="Senior social worker",
        role=roles.PRACTICE_SUPERVISOR,
        now=NOW,
    )
    assert changed == ["job_title", "role"]
    worker = User.objects.get(pk=worker.pk)
    assert worker.job_title == "Senior social worker"
    assert worker.role_names == {roles.PRACTICE_SUPERVISOR}
    assert worker.history.count() == before_rows + 1
    row = worker.history.order_by("-history_id").first()
    assert (row.history_user, row.history_date) == (support, NOW)
    change = RoleChange.objects.get(user=worker)
    assert (change.before, change.after, change.changed_by) == (
        roles.SOCIAL_WORKER,
        roles.PRACTICE_SUPERVISOR,
        support,
    )


def test_it_writes_nothing_for_an_unchanged_submit(admin_client, team):
    worker = UserFactory(username="amira", team=team, job_title="Social worker")
    rows = worker.history.count()
    response = admin_client.post(f"/accounts/users/{worker.pk}/edit/", _user_form(worker))
    assert response.status_code == 302
    assert worker.history.count() == rows
    assert not RoleChange.objects.exists()
    followed = admin_client.get(response["Location"])
    assert "nothing was changed" in followed.content.decode()


def test_it_keeps_a_second_role_given_elsewhere_when_the_role_is_not_changed(admin_client, team):
    from django.contrib.auth.models import Group

    worker = UserFactory(username="amira", team=team, role=roles.PRACTICE_SUPERVISOR)
    worker.groups.add(Group.objects.get(name=roles.SOCIAL_WORKER))
    worker = User.objects.get(pk=worker.pk)
    response = admin_client.post(
        f"/accounts/users/{worker.pk}/edit/", _user_form(worker, job_title="Lead")
    )
    assert response.status_code == 302
    assert User.objects.get(pk=worker.pk).role_names == {
        roles.PRACTICE_SUPERVISOR,
        roles.SOCIAL_WORKER,
    }


def test_it_does_not_offer_business_support_the_system_administrator_role(admin_client, team):
    worker = UserFactory(username="amira", team=team)
    page = admin_client.get(f"/accounts/users/{worker.pk}/edit/").content.decode()
    assert 'value="Business support"' in page
    assert 'value="System administrator"' not in page
    response = admin_client.post(
        f"/accounts/users/{worker.pk}/edit/",
        _user_form(worker, role=roles.SYSTEM_ADMINISTRATOR, team=""),
    )
    assert response.status_code == 400
    assert User.objects.get(pk=worker.pk).role_names == {roles.SOCIAL_WORKER}
    assert not RoleChange.objects.exists()


def test_it_refuses_the_page_of_ones_own_role(admin_client, support):
    assert admin_client.get(f"/accounts/users/{support.pk}/edit/").status_code == 403
    response = admin_client.post(
        f"/accounts/users/{support.pk}/edit/",
        _user_form(support, role=roles.SYSTEM_ADMINISTRATOR),
    )
    assert response.status_code == 403
    assert (
        admin_client.post(f"/accounts/users/{support.pk}/switch-off/", {"reason": "x"}).status_code
        == 403
    )
    assert User.objects.get(pk=support.pk).role_names == {roles.BUSINESS_SUPPORT}


def test_it_lets_a_system_administrator_grant_system_administrator(client, sysadmin, team):
    worker = UserFactory(username="amira", team=team)
    client.force_login(sysadmin)
    response = client.post(
        f"/accounts/users/{worker.pk}/edit/",
        _user_form(worker, role=roles.SYSTEM_ADMINISTRATOR, team=""),
    )
    assert response.status_code == 302
    worker = User.objects.get(pk=worker.pk)
    assert worker.role_names == {roles.SYSTEM_ADMINISTRATOR}
    assert worker.team is None


def test_it_creates_a_user_through_the_page(admin_client, team, support):
    response = admin_client.post(
        "/accounts/users/new/",
        {
            "username": "nia.clarke",
            "first_name": "Nia",
            "last_name": "Clarke",
            "email": "nia@council.example",
            "job_title": "Social worker",
            "team": team.pk,
            "role": roles.SOCIAL_WORKER,
        },
    )
    user = User.objects.get(username="nia.clarke")
    assert response.status_code == 302 and response["Location"] == f"/accounts/users/{user.pk}/"
    assert user.history.get().history_user == support
    page = admin_client.get(response["Location"]).content.decode()
    # Newest first: the role given with the account is listed above the account added.
    assert page.index("Role given") < page.index("Account added")
    assert "Role: none → Social worker" in page


def test_it_escapes_typed_names_on_the_list_and_the_user_page(admin_client, support, team):
    user = services.user_create(
        actor=support,
        username="odd",
        first_name='<script>alert("x")</script>',
        last_name="<b>Bold</b>",
        job_title="<img src=x onerror=alert(1)>",
        team=team,
        role=roles.SOCIAL_WORKER,
    )
    for path in ("/accounts/users/", f"/accounts/users/{user.pk}/"):
        page = admin_client.get(path).content.decode()
        assert "<script>alert" not in page and "<b>Bold</b>" not in page
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    detail = admin_client.get(f"/accounts/users/{user.pk}/").content.decode()
    assert "<img src=x" not in detail and "&lt;img src=x onerror=alert(1)&gt;" in detail


def test_it_searches_by_name_without_putting_it_in_the_url(admin_client, team):
    UserFactory(username="amira", first_name="Amira", last_name="Hussain", team=team)
    UserFactory(username="tom", first_name="Tom", last_name="Fletcher", team=team)
    response = admin_client.post("/accounts/users/", {"q": "huss", "status": "active"})
    assert response.status_code == 302
    assert "huss" not in response["Location"].lower()
    page = admin_client.get(response["Location"]).content.decode()
    assert "Amira Hussain" in page and "Tom Fletcher" not in page


def test_it_filters_by_role_team_and_status(admin_client, team, support):
    other = TeamFactory(name="South", code="south")
    UserFactory(username="amira", first_name="Amira", last_name="Hussain", team=team)
    UserFactory(
        username="rachel",
        first_name="Rachel",
        last_name="Green",
        team=other,
        role=roles.TEAM_MANAGER,
    )
    gone = UserFactory(username="gone", first_name="Gone", last_name="Away", team=team)
    services.user_deactivate(actor=support, user=gone, reason="Left")
    found = admin_client.post("/accounts/users/", {"role": roles.TEAM_MANAGER, "status": "all"})
    page = admin_client.get(found["Location"]).content.decode()
    assert "Rachel Green" in page and "Amira Hussain" not in page
    found = admin_client.post("/accounts/users/", {"team": other.pk, "status": "active"})
    page = admin_client.get(found["Location"]).content.decode()
    assert "Rachel Green" in page and "Amira Hussain" not in page
    found = admin_client.post("/accounts/users/", {"status": "inactive"})
    page = admin_client.get(found["Location"]).content.decode()
    assert "Gone Away" in page and "Amira Hussain" not in page


# --- Switching accounts off and on ----------------------------------------------------------


def test_it_signs_a_switched_off_user_out_on_their_next_request(client, support, team):
    from django.test import Client

    worker = UserFactory(username="amira", team=team)
    worker_client = Client()
    worker_client.force_login(worker)
    other_client = Client()
    other_client.force_login(support)  # someone else's session is left alone
    assert worker_client.get("/cases/").status_code == 200
    client.force_login(support)
    sessions = Session.objects.count()
    response = client.post(
        f"/accounts/users/{worker.pk}/switch-off/", {"reason": "Left the council"}
    )
    assert response.status_code == 302

    assert Session.objects.count() == sessions - 1
    response = worker_client.get("/cases/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/sign-in/")
    assert other_client.get("/cases/").status_code == 200
    worker.refresh_from_db()
    assert not worker.is_active
    assert (worker.deactivated_by, worker.deactivation_reason) == (support, "Left the council")
    row = worker.history.first()
    assert row.history_user == support
    assert row.history_change_reason == "Switched off: Left the council"
    # Switched on again, the old session stays ended; the user signs in afresh.
    services.user_reactivate(actor=support, user=worker)
    assert worker_client.get("/cases/").status_code == 302
    again = Client()
    again.force_login(worker)
    assert again.get("/cases/").status_code == 200


def test_it_needs_a_reason_to_switch_an_account_off(admin_client, team):
    worker = UserFactory(username="amira", team=team)
    response = admin_client.post(f"/accounts/users/{worker.pk}/switch-off/", {"reason": "  "})
    assert response.status_code == 400
    assert User.objects.get(pk=worker.pk).is_active


def test_it_switches_an_account_on_again(admin_client, support, team):
    worker = UserFactory(username="amira", team=team)
    services.user_deactivate(actor=support, user=worker, reason="Long leave")
    response = admin_client.post(f"/accounts/users/{worker.pk}/switch-on/", {"reason": "Back"})
    assert response.status_code == 302
    worker.refresh_from_db()
    assert worker.is_active and worker.deactivated_at is None and worker.deactivation_reason == ""
    assert worker.history.first().history_change_reason == "Switched on again: Back"
    page = admin_client.get(f"/accounts/users/{worker.pk}/").content.decode()
    assert "Switched off: Long leave" in page and "Switched on again: Back" in page


# --- Temporary passwords ----------------------------------------------------------------------


def test_it_makes_a_user_choose_a_new_password_after_a_temporary_one(admin_client, team):
    from django.test import Client

    worker = UserFactory(username="amira", team=team)
    response = admin_client.post(
        f"/accounts/users/{worker.pk}/password/", {"password": "Temporary-Pass-2026"}
    )
    assert response.status_code == 302
    user_client = Client()
    response = sign_in_with_code(user_client, "amira", "Temporary-Pass-2026")
    assert response.status_code == 302
    response = user_client.get("/cases/")
    assert response.status_code == 302 and response["Location"] == "/accounts/password/"
    assert user_client.get("/api/v1/cases/").status_code == 403
    response = user_client.post(
        "/accounts/password/",
        {
            "old_password": "Temporary-Pass-2026",
            "new_password1": "My-own-secret-phrase-77",
            "new_password2": "My-own-secret-phrase-77",
        },
    )
    assert response.status_code == 302
    assert user_client.get("/cases/").status_code == 200  # still signed in
    worker.refresh_from_db()
    assert not worker.must_change_password
    assert worker.check_password("My-own-secret-phrase-77")


def test_it_refuses_a_weak_temporary_password(admin_client, team):
    worker = UserFactory(username="amira", team=team)
    response = admin_client.post(f"/accounts/users/{worker.pk}/password/", {"password": "short"})
    assert response.status_code == 400
    worker.refresh_from_db()
    assert worker.check_password(PASSWORD) and not worker.must_change_password


# --- Teams and agencies ------------------------------------------------------------------------


def test_it_adds_and_changes_a_team_with_history(admin_client, support):
    response = admin_client.post(
        "/accounts/administration/teams/new/", {"name": "East Help", "code": "east"}
    )
    assert response.status_code == 302
    team = Team.objects.get(code="east")
    assert team.history.get().history_user == support
    data = {"name": "East Early Help", "code": "east", "active": "on"}
    admin_client.post(f"/accounts/administration/teams/{team.pk}/", data)
    assert Team.objects.get(pk=team.pk).name == "East Early Help"
    assert team.history.count() == 2
    admin_client.post(f"/accounts/administration/teams/{team.pk}/", data)  # unchanged
    assert team.history.count() == 2


def test_it_switches_a_team_off_only_when_no_one_and_nothing_open_is_in_it(support):
    team = TeamFactory(name="West", code="west")
    member = UserFactory(username="w1", team=team)
    with pytest.raises(services.ValidationError) as exc:
        services.team_update(actor=support, team=team, active=False)
    assert "1 active member" in str(exc.value)
    services.user_update(actor=support, user=member, team=support.team)
    case = CaseFactory(team=team, created_by=support)
    with pytest.raises(services.ValidationError) as exc:
        services.team_update(actor=support, team=team, active=False)
    assert "1 open case" in str(exc.value)
    case.status = "closed"
    case.closed_on = datetime.date(2026, 12, 1)
    case.closure_reason = "No further action"
    case.save()
    assert services.team_update(actor=support, team=team, active=False) == ["active"]
    assert not Team.objects.get(pk=team.pk).active


def test_it_refuses_a_duplicate_team_name_or_code(admin_client, team):
    response = admin_client.post(
        "/accounts/administration/teams/new/", {"name": "north assessment", "code": "n2"}
    )
    assert response.status_code == 400
    response = admin_client.post(
        "/accounts/administration/teams/new/", {"name": "Another", "code": "NORTH"}
    )
    assert response.status_code == 400
    assert Team.objects.count() == 1


def test_it_adds_changes_and_switches_off_an_agency(admin_client, support):
    response = admin_client.post(
        "/accounts/administration/agencies/new/", {"name": "Northtown Police", "kind": "police"}
    )
    assert response.status_code == 302
    agency = Agency.objects.get(name="Northtown Police")
    admin_client.post(
        f"/accounts/administration/agencies/{agency.pk}/",
        {"name": "Northshire Police", "kind": "police"},  # unticked: switched off
    )
    agency.refresh_from_db()
    assert (agency.name, agency.active) == ("Northshire Police", False)
    assert [r.history_user for r in agency.history.all()] == [support, support]
    page = admin_client.get("/accounts/administration/agencies/").content.decode()
    assert "Northshire Police" in page and "Inactive" in page


def test_it_escapes_typed_team_and_agency_names(admin_client, support):
    services.team_create(actor=support, name="<i>Team</i>", code="ital")
    AgencyFactory(name="<script>x</script> School")
    teams = admin_client.get("/accounts/administration/teams/").content.decode()
    agencies = admin_client.get("/accounts/administration/agencies/").content.decode()
    assert "<i>Team</i>" not in teams and "&lt;i&gt;Team&lt;/i&gt;" in teams
    assert "<script>x" not in agencies and "&lt;script&gt;x&lt;/script&gt; School" in agencies


# --- Closure days ------------------------------------------------------------------------------


def test_it_moves_a_working_day_deadline_while_a_closure_day_is_in_force(admin_client, support):
    start = datetime.date(2026, 12, 18)  # a Friday; 7 working days: Thu 31 December
    assert add_working_days(start, 7) == datetime.date(2026, 12, 31)
    response = admin_client.post(
        "/accounts/administration/closure-days/new/",
        {"date-day": "29", "date-month": "12", "date-year": "2026", "reason": "Offices closed"},
    )
    assert response.status_code == 302
    # 29 December skipped; 1 January is a bank holiday: Monday 4 January.
    assert add_working_days(start, 7) == datetime.date(2027, 1, 4)
    day = ClosureDay.objects.get()
    assert day.history.get().history_user == support

    response = admin_client.post(
        f"/accounts/administration/closure-days/{day.pk}/withdraw/",
        {"reason": "Entered for the wrong year"},
    )
    assert response.status_code == 302
    assert add_working_days(start, 7) == datetime.date(2026, 12, 31)
    day.refresh_from_db()
    assert (day.withdrawn_by, day.withdrawal_reason) == (support, "Entered for the wrong year")
    assert day.history.count() == 2
    page = admin_client.get("/accounts/administration/closure-days/").content.decode()
    assert "Withdrawn" in page and "Entered for the wrong year" in page


def test_it_refuses_a_closure_day_twice_but_allows_it_again_once_withdrawn(support):
    day = datetime.date(2026, 12, 29)
    first = services.closure_day_add(actor=support, date=day, reason="Closed")
    with pytest.raises(services.ValidationError):
        services.closure_day_add(actor=support, date=day, reason="Closed again")
    services.closure_day_withdraw(actor=support, day=first, reason="Wrong")
    with pytest.raises(services.ValidationError):
        services.closure_day_withdraw(actor=support, day=first, reason="Twice")
    again = services.closure_day_add(actor=support, date=day, reason="Closed after all")
    assert ClosureDay.objects.in_force().get() == again
    assert ClosureDay.objects.count() == 2


def test_it_refuses_a_weekend_closure_day(support):
    with pytest.raises(services.ValidationError):
        services.closure_day_add(actor=support, date=datetime.date(2026, 12, 26), reason="Sat")


def test_it_escapes_a_typed_closure_day_reason(admin_client, support):
    services.closure_day_add(
        actor=support, date=datetime.date(2027, 6, 1), reason="<script>alert(1)</script>"
    )
    page = admin_client.get("/accounts/administration/closure-days/").content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- Links to pages other parts of the system add ------------------------------------------


def test_it_links_the_second_factor_tokens_and_lockouts_pages_for_those_allowed(
    client, support, team
):
    worker = UserFactory(username="amira", team=team)
    client.force_login(support)
    page = client.get(f"/accounts/users/{worker.pk}/").content.decode()
    assert f'href="/accounts/users/{worker.pk}/second-factor/reset/"' in page
    assert f'href="/accounts/users/{worker.pk}/api-tokens/"' in page
    assert 'href="/accounts/lockouts/"' in page
    home = client.get("/accounts/administration/").content.decode()
    assert 'href="/accounts/lockouts/"' in home
    # Their own second factor is reset by someone else (policy.can_reset_second_factor).
    own = client.get(f"/accounts/users/{support.pk}/").content.decode()
    assert f'href="/accounts/users/{support.pk}/second-factor/reset/"' not in own


# --- The Django admin, still there for superusers -------------------------------------------


def test_it_records_a_role_changed_in_the_django_admin(client, team):
    from django.contrib.auth.models import Group

    root = UserFactory(username="root", team=team)
    root.is_superuser = root.is_staff = True
    root.save()
    worker = UserFactory(username="amira", team=team, first_name="Amira", last_name="Hussain")
    client.force_login(root)
    assert client.get(f"/admin/accounts/user/{worker.pk}/change/").status_code == 200
    manager = Group.objects.get(name=roles.TEAM_MANAGER)
    response = client.post(
        f"/admin/accounts/user/{worker.pk}/change/",
        {
            "username": "amira",
            "first_name": "Amira",
            "last_name": "Hussain",
            "email": worker.email,
            "is_active": "on",
            "groups": [manager.pk],
            "team": team.pk,
            "job_title": "",
            "date_joined_0": "2026-01-05",
            "date_joined_1": "09:00:00",
            "must_change_password": "",
            "deactivation_reason": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    change = RoleChange.objects.get(user=worker)
    assert (change.before, change.after, change.changed_by) == (
        roles.SOCIAL_WORKER,
        roles.TEAM_MANAGER,
        root,
    )


def test_it_signs_out_a_user_switched_off_in_the_django_admin(client, team):
    from django.test import Client

    root = UserFactory(username="root", team=team)
    root.is_superuser = root.is_staff = True
    root.save()
    worker = UserFactory(username="amira", team=team, first_name="Amira", last_name="Hussain")
    worker_client = Client()
    worker_client.force_login(worker)
    client.force_login(root)
    response = client.post(
        f"/admin/accounts/user/{worker.pk}/change/",
        {
            "username": "amira",
            "first_name": "Amira",
            "last_name": "Hussain",
            "email": worker.email,
            "groups": [g.pk for g in worker.groups.all()],
            "team": team.pk,
            "date_joined_0": "2026-01-05",
            "date_joined_1": "09:00:00",
        },  # "is_active" left out: unticked
    )
    assert response.status_code == 302
    assert not User.objects.get(pk=worker.pk).is_active
    remaining = [s.get_decoded().get("_auth_user_id") for s in Session.objects.all()]
    assert str(worker.pk) not in remaining and str(root.pk) in remaining


# --- Single sign-on links ------------------------------------------------------------------


def test_it_links_and_ends_a_single_sign_on_id_from_the_user_page(
    admin_client, support, team, settings
):
    from accounts.models import ExternalIdentity

    settings.OIDC_OP_ISSUER = "https://login.example/tenant/v2.0"
    worker = UserFactory(username="amira", team=team)
    page = admin_client.get(f"/accounts/users/{worker.pk}/").content.decode()
    assert f'href="/accounts/users/{worker.pk}/single-sign-on/"' in page
    assert "Not linked" in page

    url = f"/accounts/users/{worker.pk}/single-sign-on/"
    form = admin_client.get(url).content.decode()
    assert 'type="hidden" name="issuer" value="https://login.example/tenant/v2.0"' in form
    response = admin_client.post(
        url, {"subject": "0f1e-<b>oid</b>", "issuer": "https://login.example/tenant/v2.0"}
    )
    assert response.status_code == 302
    link = ExternalIdentity.objects.get(user=worker)
    assert (link.subject, link.issuer, link.created_by) == (
        "0f1e-<b>oid</b>",
        "https://login.example/tenant/v2.0",
        support,
    )
    page = admin_client.get(url).content.decode()
    assert "0f1e-&lt;b&gt;oid&lt;/b&gt;" in page and "<b>oid</b>" not in page

    # The same id for someone else is refused on the form, and nothing changes.
    other = UserFactory(username="tom", team=team)
    response = admin_client.post(
        f"/accounts/users/{other.pk}/single-sign-on/",
        {"subject": "0f1e-<b>oid</b>", "issuer": "https://login.example/tenant/v2.0"},
    )
    assert response.status_code == 400
    assert "already signs in as amira" in response.content.decode()
    assert not ExternalIdentity.objects.filter(user=other).exists()

    response = admin_client.post(f"/accounts/users/{worker.pk}/single-sign-on/{link.pk}/end/")
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.ended_by == support and link.ended_at is not None


def test_it_refuses_single_sign_on_links_to_those_who_do_not_administer(client, team):
    worker = UserFactory(username="amira", team=team)
    other = UserFactory(username="tom", team=team)
    client.force_login(worker)
    assert client.get(f"/accounts/users/{other.pk}/single-sign-on/").status_code == 403
    response = client.post(
        f"/accounts/users/{other.pk}/single-sign-on/", {"subject": "x", "issuer": "https://i"}
    )
    assert response.status_code == 403
