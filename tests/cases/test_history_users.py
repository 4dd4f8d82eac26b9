"""Every change to a case keeps who made it, also when a service is called outside a
request (tasks, management commands): changes to who is allocated and who may see a
restricted case are written by simple_history from the many-to-many signal, before the
case itself is saved."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from cases import history, services
from cases.models import Case
from tests.factories import UserFactory

D = datetime.date


@pytest.fixture
def manager(team):
    return UserFactory(
        username="manager",
        first_name="Maria",
        last_name="Okafor",
        team=team,
        role=roles.TEAM_MANAGER,
    )


def _new_versions(case, since_id):
    return list(case.history.filter(history_id__gt=since_id).order_by("history_id"))


def _latest_id(case):
    return case.history.order_by("-history_id").values_list("history_id", flat=True).first()


def _assert_all_by(versions, actor):
    assert versions, "the change wrote no history"
    assert [v.history_user for v in versions] == [actor] * len(versions)
    historical = Case.history.model
    for name in ("allocated_workers", "restricted_to"):
        # The rows of who was on the case at each version, kept in their own table.
        rows = (
            getattr(historical, name)
            .model.objects.filter(history__in=[v.history_id for v in versions])
            .select_related("history")
        )
        assert {row.history.history_user for row in rows} <= {actor}


def test_allocating_workers_keeps_who_allocated_them(team, worker, manager, case):
    colleague = UserFactory(team=team)
    since = _latest_id(case)
    services.case_allocate(actor=manager, case=case, workers=[colleague])
    versions = _new_versions(case, since)
    _assert_all_by(versions, manager)
    # The allocation is among the versions, with the new worker on it.
    assert any(v.allocated_workers.filter(user=colleague).exists() for v in versions)


def test_allocating_on_a_restricted_case_keeps_who_named_the_workers(team, worker, manager, case):
    Case.objects.filter(pk=case.pk).update(restricted=True)
    case.restricted_to.add(worker, manager)
    colleague = UserFactory(team=team)
    since = _latest_id(case)
    services.case_allocate(actor=manager, case=case, workers=[worker, colleague])
    _assert_all_by(_new_versions(case, since), manager)


def test_restricting_a_case_keeps_who_restricted_it(team, worker, manager, case):
    named = UserFactory(team=team)
    since = _latest_id(case)
    services.case_set_restriction(actor=manager, case=case, restricted=True, named_users=[named])
    _assert_all_by(_new_versions(case, since), manager)
    since = _latest_id(case)
    services.case_set_restriction(actor=manager, case=case, restricted=False, named_users=[])
    _assert_all_by(_new_versions(case, since), manager)


def test_the_recent_changes_name_who_allocated_the_case(team, worker, manager, case):
    colleague = UserFactory(team=team, first_name="Sam", last_name="Reid")
    before = timezone.now()
    services.case_allocate(actor=manager, case=case, workers=[colleague])
    allocations = [
        c
        for c in history.case_changes(case, limit=8)
        if c.when >= before and any(label == "Allocated workers" for label, *_ in c.fields)
    ]
    assert allocations
    assert {c.who for c in allocations} == {manager}


def test_the_case_page_names_who_allocated_the_case(client, team, worker, manager, case):
    colleague = UserFactory(team=team)
    services.case_allocate(actor=manager, case=case, workers=[worker, colleague])
    client.force_login(worker)
    response = client.get(reverse("cases:detail", args=[case.pk]))
    assert response.status_code == 200
    assert "by Maria Okafor" in response.content.decode()
