"""Changing a multi-agency entry typed in by hand, and its significance: the form starts
from what is stored, unchanged it writes nothing, a change is saved by whoever made it,
a form filled before someone else's change is refused, and entries recorded from events
are not edited by hand (their source is)."""

import datetime
import json

import pytest
import time_machine
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts import roles
from chronologies import services
from chronologies.models import ChronologyEntry
from chronologies.services import ManualEntryInput
from common.concurrency import EditConflict
from tests.factories import (
    AgencyFactory,
    CaseFactory,
    MembershipFactory,
    UserFactory,
    api_token_for,
)
from tests.form_html import form_data

D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2026, 3, 10, 16, 0))


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def manager(team):
    return UserFactory(username="boss", team=team, role=roles.TEAM_MANAGER)


@pytest.fixture
def case(worker):
    case = CaseFactory(team=worker.team, opened_on=D(2026, 1, 5))
    case.allocated_workers.add(worker)
    return case


@pytest.fixture
def child(case):
    return MembershipFactory(case=case, relationship="child", start_date=D(2026, 1, 5)).person


@pytest.fixture
def entry(case, worker, child, frozen):
    school = AgencyFactory(name="Oak Primary", kind="school")
    return services.entry_add_manual(
        actor=worker,
        case=case,
        data=ManualEntryInput(
            occurred_on=D(2026, 2, 14),
            title="School reports bruising",
            details="Teacher saw a bruise on <her> arm",
            analysis="Second report this term",
            agency=school,
            informant_name="Mrs Jones (DSL)",
            children=[child],
            significance="significant",
        ),
    )


@pytest.fixture
def recorded(case):
    """An entry written from an event (a visit, say): it follows its source."""
    return services.entry_record(
        case=case,
        source_type="visit",
        source_id=1,
        category="visit",
        occurred_on=D(2026, 3, 2),
        title="Visit: no answer",
        significance="significant",
    )


def history_rows() -> int:
    return sum(
        model.objects.count()
        for model in apps.get_models()
        if any(field.name == "history_id" for field in model._meta.fields)
    )


def _fresh(entry):
    return ChronologyEntry.objects.get(pk=entry.pk)


def _stored(entry, **changes):
    data = services.entry_manual_input(_fresh(entry))
    for name, value in changes.items():
        setattr(data, name, value)
    return data


# --- The service -------------------------------------------------------------------------


def test_it_writes_nothing_when_submitted_unchanged(worker, entry):
    before = history_rows()
    services.entry_update(
        actor=worker, entry=entry, data=_stored(entry), version=services.entry_version(entry)
    )
    assert history_rows() == before


def test_it_saves_a_change_as_one_history_row_by_whoever_made_it(manager, entry, frozen):
    frozen.shift(datetime.timedelta(hours=1))
    rows = entry.history.count()

    services.entry_update(
        actor=manager,
        entry=entry,
        data=_stored(entry, title="School reports bruising to the arm"),
        version=services.entry_version(entry),
    )

    changed = _fresh(entry)
    assert changed.title == "School reports bruising to the arm"
    assert changed.details == "Teacher saw a bruise on <her> arm"  # kept
    assert changed.history.count() == rows + 1
    assert changed.history.first().history_user == manager
    assert changed.updated_at == NOW + datetime.timedelta(hours=1)


def test_it_changes_the_source_date_children_and_significance(case, worker, manager, entry):
    other = MembershipFactory(case=case, relationship="child").person
    services.entry_update(
        actor=manager,
        entry=entry,
        data=_stored(
            entry,
            occurred_on=D(2026, 1, 20),
            date_is_approximate=True,
            agency=None,
            informant_type="neighbour",
            informant_name="",
            children=[other],
            significance="critical",
        ),
    )
    changed = _fresh(entry)
    assert (changed.occurred_on, changed.date_is_approximate) == (D(2026, 1, 1), True)
    assert changed.source_label == "Neighbour" and changed.agency is None
    assert list(changed.children.all()) == [other]
    assert changed.significance == "critical" and changed.significance_set_by == manager
    assert {row.history_user for row in changed.history.all()[:2]} == {manager}


def test_it_refuses_a_stale_form_saying_who_changed_what(worker, manager, entry, frozen):
    opened = services.entry_version(entry)
    frozen.shift(datetime.timedelta(minutes=5))
    services.entry_update(
        actor=manager, entry=entry, data=_stored(entry, title="The manager's summary")
    )

    with pytest.raises(EditConflict) as exc:
        services.entry_update(
            actor=worker,
            entry=entry,
            data=_stored(entry, title="The worker's summary"),
            version=opened,
        )

    message = exc.value.messages[0]
    assert manager.get_full_name() in message and "title is now “The manager's summary”" in message
    assert _fresh(entry).title == "The manager's summary"


def test_it_does_not_edit_an_entry_recorded_from_an_event_by_hand(worker, recorded):
    before = history_rows()
    with pytest.raises(PermissionDenied):
        services.entry_update(
            actor=worker,
            entry=recorded,
            data=ManualEntryInput(
                occurred_on=D(2026, 3, 2),
                title="Visit: seen",
                details="x",
                informant_type="neighbour",
            ),
        )
    assert history_rows() == before


def test_it_refuses_someone_who_may_not_see_the_case(entry):
    outsider = UserFactory(username="out")
    with pytest.raises(PermissionDenied):
        services.entry_update(actor=outsider, entry=entry, data=_stored(entry, title="x"))


def test_it_refuses_an_entry_recorded_in_error_and_bad_input(worker, case, entry):
    other_case_child = MembershipFactory(case=CaseFactory(team=case.team)).person
    with pytest.raises(ValidationError) as exc:
        services.entry_update(
            actor=worker,
            entry=entry,
            data=_stored(entry, title=" ", occurred_on=D(2026, 4, 1), children=[other_case_child]),
        )
    assert {"title", "occurred_on", "children"} <= set(exc.value.message_dict)
    services.entry_mark_in_error(actor=worker, entry=entry, reason="Wrong family")
    with pytest.raises(ValidationError):
        services.entry_update(actor=worker, entry=entry, data=_stored(entry, title="x"))


def test_it_keeps_an_agency_no_longer_in_use_but_offers_no_new_one(worker, entry):
    old = entry.agency
    old.active = False
    old.save()
    services.entry_update(actor=worker, entry=entry, data=_stored(entry, title="Kept agency"))
    assert _fresh(entry).agency == old
    closed = AgencyFactory(name="Closed clinic", kind="other", active=False)
    with pytest.raises(ValidationError) as exc:
        services.entry_update(actor=worker, entry=entry, data=_stored(entry, agency=closed))
    assert "agency" in exc.value.message_dict


def test_the_same_significance_again_changes_nothing(worker, recorded, frozen):
    before = history_rows()
    services.entry_set_significance(actor=worker, entry=recorded, significance="significant")
    assert history_rows() == before
    assert _fresh(recorded).significance_set_by is None  # still the source's own

    opened = services.entry_version(recorded)
    frozen.shift(datetime.timedelta(minutes=5))
    services.entry_set_significance(actor=worker, entry=recorded, significance="critical")
    assert _fresh(recorded).significance_set_by == worker
    with pytest.raises(EditConflict):
        services.entry_set_significance(
            actor=worker, entry=recorded, significance="routine", version=opened
        )
    assert _fresh(recorded).significance == "critical"


# --- The pages ---------------------------------------------------------------------------


def test_the_entry_page_links_a_manual_entry_to_its_form_and_not_a_recorded_one(
    client, worker, case, entry, recorded
):
    client.force_login(worker)
    edit_url = reverse("chronologies:entry_edit", args=[case.pk, entry.pk])
    body = client.get(reverse("chronologies:entry", args=[case.pk, entry.pk])).content.decode()
    assert edit_url in body
    recorded_url = reverse("chronologies:entry_edit", args=[case.pk, recorded.pk])
    body = client.get(reverse("chronologies:entry", args=[case.pk, recorded.pk])).content.decode()
    assert recorded_url not in body
    assert client.get(recorded_url).status_code == 403
    assert client.post(recorded_url, {}).status_code == 403


def test_the_form_shows_every_stored_value_and_saves_a_change(client, worker, case, entry, child):
    client.force_login(worker)
    url = reverse("chronologies:entry_edit", args=[case.pk, entry.pk])
    data = form_data(client.get(url).content.decode())
    assert data["title"] == ["School reports bruising"]
    assert data["details"] == ["Teacher saw a bruise on <her> arm"]
    assert data["analysis"] == ["Second report this term"]
    assert data["source_kind"] == ["agency"] and data["agency"] == [str(entry.agency_id)]
    assert data["informant_name"] == ["Mrs Jones (DSL)"]
    assert data["children"] == [str(child.pk)]
    assert data["significance"] == ["significant"] and data["date_known"] == ["exact"]
    assert (data["occurred_on-day"], data["occurred_on-month"]) == (["14"], ["2"])

    before = history_rows()
    assert client.post(url, data).status_code == 302
    assert history_rows() == before

    data["action_taken"] = ["Strategy discussion requested"]
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"].endswith(f"#entry-{entry.pk}")
    changed = _fresh(entry)
    assert changed.action_taken == "Strategy discussion requested"
    assert changed.informant_name == "Mrs Jones (DSL)"
    assert changed.history.first().history_user == worker


def test_the_form_tells_the_second_person_and_keeps_what_they_typed(
    client, worker, manager, case, entry, frozen
):
    client.force_login(worker)
    url = reverse("chronologies:entry_edit", args=[case.pk, entry.pk])
    data = form_data(client.get(url).content.decode())
    frozen.shift(datetime.timedelta(minutes=5))
    services.entry_update(actor=manager, entry=entry, data=_stored(entry, details="By the manager"))

    data["details"] = ["By the worker"]
    response = client.post(url, data)

    assert response.status_code == 400
    body = response.content.decode()
    assert escape(manager.get_full_name()) in body and "after you opened this form" in body
    assert "By the worker" in body
    assert _fresh(entry).details == "By the manager"
    assert client.post(url, form_data(body)).status_code == 302
    assert _fresh(entry).details == "By the worker"


def test_the_entry_page_saves_a_significance_and_nothing_when_unchanged(
    client, worker, case, recorded
):
    client.force_login(worker)
    url = reverse("chronologies:entry", args=[case.pk, recorded.pk])
    data = form_data(client.get(url).content.decode())
    before = history_rows()
    assert client.post(url, data).status_code == 302
    assert history_rows() == before
    data["significance"] = ["critical"]
    assert client.post(url, data).status_code == 302
    assert _fresh(recorded).significance == "critical"


# --- The API -----------------------------------------------------------------------------


def _patch(client, user, url, body):
    token = api_token_for(user)
    return client.patch(
        url,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )


def test_the_api_changes_only_what_is_sent(client, worker, manager, case, entry, frozen):
    url = f"/api/v1/cases/{case.pk}/chronology/{entry.pk}/"
    before = history_rows()
    same = _patch(client, worker, url, {"title": "School reports bruising"})
    assert same.status_code == 200, same.content
    assert history_rows() == before
    version = json.loads(same.content)["version"]

    changed = _patch(client, worker, url, {"informant_type": "neighbour"})
    assert changed.status_code == 200, changed.content
    body = json.loads(changed.content)
    assert body["agency"] is None and body["informant_type"] == "neighbour"
    assert body["details"] == "Teacher saw a bruise on <her> arm"
    assert body["informant_name"] == "Mrs Jones (DSL)"

    stale = _patch(client, manager, url, {"title": "Too late", "version": version})
    assert stale.status_code == 409
    assert _fresh(entry).title == "School reports bruising"


def test_the_api_does_not_edit_a_recorded_entry_or_another_teams(client, worker, case, recorded):
    url = f"/api/v1/cases/{case.pk}/chronology/{recorded.pk}/"
    assert _patch(client, worker, url, {"title": "x"}).status_code == 403
    outsider = UserFactory(username="out")
    assert _patch(client, outsider, url, {"title": "x"}).status_code == 404
    assert _fresh(recorded).title == "Visit: no answer"
