"""Who may administer what (accounts.policy, "Administration"): every role against every
action, self-escalation attempts included; and the services refuse what the policy does."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts import policy, roles, services
from accounts.models import ClosureDay
from tests.factories import AgencyFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

ADMINISTRATORS = {roles.BUSINESS_SUPPORT, roles.SYSTEM_ADMINISTRATOR}
NOT_ADMINISTRATORS = [r for r in roles.ALL_ROLES if r not in ADMINISTRATORS]


@pytest.fixture
def team():
    return TeamFactory(name="North Assessment", code="north")


def _actor(kind, team):
    if kind == "superuser":
        user = UserFactory(username="root", team=None, role=roles.SOCIAL_WORKER)
        user.groups.clear()
        user.is_superuser = True
        user.save()
        user._role_names = None
        return user
    if kind == "inactive business support":
        user = UserFactory(username="gone", team=team, role=roles.BUSINESS_SUPPORT)
        user.is_active = False
        user.save()
        return user
    return UserFactory(username="actor", team=team, role=kind)


ALL_ACTORS = [*roles.ALL_ROLES, "superuser", "inactive business support"]


@pytest.mark.parametrize("kind", ALL_ACTORS)
def test_it_lets_only_business_support_system_administrators_and_superusers_administer(kind, team):
    actor = _actor(kind, team)
    allowed = kind in ADMINISTRATORS or kind == "superuser"
    assert policy.can_administer(actor) is allowed
    assert policy.can_manage_users(actor) is allowed
    assert policy.can_manage_teams(actor) is allowed
    assert policy.can_manage_agencies(actor) is allowed
    assert policy.can_manage_closure_days(actor) is allowed


@pytest.mark.parametrize("kind", ALL_ACTORS)
@pytest.mark.parametrize("role", roles.ALL_ROLES)
def test_it_lets_only_system_administrators_grant_system_administrator(kind, role, team):
    actor = _actor(kind, team)
    if kind in ADMINISTRATORS or kind == "superuser":
        expected = role != roles.SYSTEM_ADMINISTRATOR or kind in (
            roles.SYSTEM_ADMINISTRATOR,
            "superuser",
        )
    else:
        expected = False
    assert policy.can_grant_role(actor, role) is expected


@pytest.mark.parametrize("kind", ALL_ACTORS)
@pytest.mark.parametrize("target_role", roles.ALL_ROLES)
def test_it_matches_who_may_edit_switch_off_and_reset_whom(kind, target_role, team):
    actor = _actor(kind, team)
    target = UserFactory(username="target", team=team, role=target_role)
    administers = kind in ADMINISTRATORS or kind == "superuser"
    if target_role == roles.SYSTEM_ADMINISTRATOR:
        expected = administers and kind in (roles.SYSTEM_ADMINISTRATOR, "superuser")
    else:
        expected = administers
    assert policy.can_edit_user(actor, target) is expected
    assert policy.can_change_roles(actor, target) is expected
    assert policy.can_deactivate_user(actor, target) is expected
    assert policy.can_set_password(actor, target) is expected
    assert policy.can_reactivate_user(actor, target) is False  # it is active


@pytest.mark.parametrize("kind", [roles.BUSINESS_SUPPORT, roles.SYSTEM_ADMINISTRATOR, "superuser"])
def test_it_refuses_everyone_their_own_account(kind, team):
    actor = _actor(kind, team)
    assert policy.can_view_user(actor, actor)
    assert not policy.can_edit_user(actor, actor)
    assert not policy.can_change_roles(actor, actor, roles.SYSTEM_ADMINISTRATOR)
    assert not policy.can_deactivate_user(actor, actor)
    assert not policy.can_set_password(actor, actor)
    with pytest.raises(PermissionDenied):
        services.user_update(actor=actor, user=actor, role=roles.SERVICE_MANAGER)
    with pytest.raises(PermissionDenied):
        services.user_update(actor=actor, user=actor, team=TeamFactory(code="other"))
    with pytest.raises(PermissionDenied):
        services.user_deactivate(actor=actor, user=actor, reason="Leaving")


def test_it_keeps_superusers_out_of_reach_of_everyone_but_superusers(team):
    root = UserFactory(username="root2", team=team, role=roles.SOCIAL_WORKER)
    root.is_superuser = True
    root.save()
    for kind in (roles.BUSINESS_SUPPORT, roles.SYSTEM_ADMINISTRATOR):
        actor = UserFactory(username=f"a-{kind}", team=team, role=kind)
        assert not policy.can_edit_user(actor, root)
        assert not policy.can_deactivate_user(actor, root)
    other_root = _actor("superuser", team)
    assert policy.can_deactivate_user(other_root, root)


def test_it_refuses_business_support_the_system_administrator_role_in_the_service(team):
    support = UserFactory(username="bea", team=team, role=roles.BUSINESS_SUPPORT)
    worker = UserFactory(username="amira", team=team)
    with pytest.raises(PermissionDenied):
        services.user_update(actor=support, user=worker, role=roles.SYSTEM_ADMINISTRATOR)
    with pytest.raises(PermissionDenied):
        services.user_create(
            actor=support,
            username="new.admin",
            first_name="New",
            last_name="Admin",
            team=None,
            role=roles.SYSTEM_ADMINISTRATOR,
        )
    assert worker.groups.get().name == roles.SOCIAL_WORKER
    # Nor can they take the role away from someone who holds it.
    omar = UserFactory(username="omar", team=None, role=roles.SYSTEM_ADMINISTRATOR)
    with pytest.raises(PermissionDenied):
        services.user_update(actor=support, user=omar, role=roles.SOCIAL_WORKER)
    with pytest.raises(PermissionDenied):
        services.user_deactivate(actor=support, user=omar, reason="Trying")


@pytest.mark.parametrize("kind", NOT_ADMINISTRATORS)
def test_it_refuses_staff_who_do_not_administer_every_service(kind, team):
    actor = _actor(kind, team)
    worker = UserFactory(username="amira", team=team)
    with pytest.raises(PermissionDenied):
        services.user_update(actor=actor, user=worker, first_name="Changed")
    with pytest.raises(PermissionDenied):
        services.user_deactivate(actor=actor, user=worker, reason="No")
    with pytest.raises(PermissionDenied):
        services.team_create(actor=actor, name="Rogue", code="rogue")
    with pytest.raises(PermissionDenied):
        services.agency_create(actor=actor, name="Rogue agency", kind="other")
    with pytest.raises(PermissionDenied):
        services.closure_day_add(actor=actor, date=datetime.date(2026, 12, 29), reason="No")


def test_it_shows_the_administration_navigation_only_to_administrators(client, team):
    support = UserFactory(username="bea", team=team, role=roles.BUSINESS_SUPPORT)
    worker = UserFactory(username="amira", team=team)
    client.force_login(worker)
    assert b"/accounts/administration/" not in client.get("/cases/").content
    assert client.get("/accounts/administration/").status_code == 403
    assert client.get("/accounts/users/").status_code == 403
    assert client.get(f"/accounts/users/{support.pk}/").status_code == 403
    client.force_login(support)
    assert b'href="/accounts/administration/"' in client.get("/cases/").content
    assert client.get("/accounts/administration/").status_code == 200


# --- Every administration service, called as every kind of actor -----------------------------


def _build(name, team):
    """Keyword arguments for one call of the service `name` on fresh records."""
    target = UserFactory(username=f"t-{name}", team=team)
    if name == "user_create":
        return dict(
            username=f"new-{name}",
            first_name="Nia",
            last_name="Clarke",
            team=team,
            role=roles.SOCIAL_WORKER,
        )
    if name == "user_update":
        return dict(user=target, job_title="Senior social worker")
    if name == "user_deactivate":
        return dict(user=target, reason="Left")
    if name == "user_reactivate":
        target.is_active = False
        target.save()
        return dict(user=target)
    if name == "user_set_temporary_password":
        return dict(user=target, password="Temporary-Pass-2026")
    if name == "team_create":
        return dict(name="East", code="east")
    if name == "team_update":
        return dict(team=TeamFactory(name="West", code="west"), name="West Early Help")
    if name == "agency_create":
        return dict(name="Northshire Police", kind="police")
    if name == "agency_update":
        return dict(agency=AgencyFactory(name="School"), name="Northtown School")
    if name == "closure_day_add":
        return dict(date=datetime.date(2026, 12, 29), reason="Closed")
    if name == "closure_day_withdraw":
        return dict(
            day=ClosureDay.objects.create(date=datetime.date(2026, 12, 30), reason="Closed"),
            reason="Wrong day",
        )
    raise AssertionError(name)


class Undo(Exception):
    pass


ADMIN_SERVICES = [
    "user_create",
    "user_update",
    "user_deactivate",
    "user_reactivate",
    "user_set_temporary_password",
    "team_create",
    "team_update",
    "agency_create",
    "agency_update",
    "closure_day_add",
    "closure_day_withdraw",
]


@pytest.mark.parametrize("name", ADMIN_SERVICES)
def test_it_lets_only_administrators_call_each_administration_service(name, team):
    outcomes = {}
    for kind in ALL_ACTORS:
        try:
            with transaction.atomic():
                actor = _actor(kind, team)
                try:
                    getattr(services, name)(actor=actor, **_build(name, team))
                except PermissionDenied:
                    outcomes[kind] = "denied"
                else:
                    outcomes[kind] = "done"
                raise Undo
        except Undo:
            pass
    expected = {
        kind: "done" if kind in ADMINISTRATORS or kind == "superuser" else "denied"
        for kind in ALL_ACTORS
    }
    assert outcomes == expected


ADMIN_PAGES = [
    "/accounts/administration/",
    "/accounts/users/",
    "/accounts/users/new/",
    "/accounts/users/{pk}/",
    "/accounts/users/{pk}/edit/",
    "/accounts/users/{pk}/switch-off/",
    "/accounts/users/{pk}/password/",
    "/accounts/administration/teams/",
    "/accounts/administration/teams/new/",
    "/accounts/administration/teams/{team}/",
    "/accounts/administration/agencies/",
    "/accounts/administration/agencies/new/",
    "/accounts/administration/closure-days/",
    "/accounts/administration/closure-days/new/",
]


@pytest.mark.parametrize("kind", NOT_ADMINISTRATORS)
def test_it_refuses_every_administration_page_to_staff_who_do_not_administer(client, kind, team):
    actor = _actor(kind, team)
    target = UserFactory(username="amira", team=team)
    client.force_login(actor)
    for page in ADMIN_PAGES:
        url = page.format(pk=target.pk, team=team.pk)
        assert client.get(url).status_code == 403, url
        assert client.post(url, {}).status_code == 403, url


def test_it_sends_anonymous_visitors_of_administration_to_sign_in(client, team):
    target = UserFactory(username="amira", team=team)
    for page in ADMIN_PAGES:
        response = client.get(page.format(pk=target.pk, team=team.pk))
        assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"]
