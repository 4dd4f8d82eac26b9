"""Changing what happened at a recorded visit: the page, the API and the service start
from what is stored and keep what they do not change; an observation is corrected in
place and added once; a second person saving over a newer visit is told who changed
what, and loses nothing typed."""

import datetime

import pytest
import time_machine
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from common.concurrency import EditConflict
from tests.factories import CaseFactory, MembershipFactory, UserFactory
from tests.form_html import form_data
from visits import services
from visits.models import ChildSeen, Observation, Visit
from visits.services import ChildSeenInput, ObservationInput, Outcome

D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2026, 3, 10, 16, 0))
# Seconds and microseconds as a device would send them: the form shows minutes.
WHEN = timezone.make_aware(datetime.datetime(2026, 3, 10, 10, 4, 37, 512000))


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def later(frozen, minutes=5):
    """Let time pass, so that each change has a time of its own."""
    frozen.shift(datetime.timedelta(minutes=minutes))


@pytest.fixture
def case(worker):
    case = CaseFactory(team=worker.team, family_name="Carter", opened_on=D(2026, 1, 5))
    case.allocated_workers.add(worker)
    return case


@pytest.fixture
def amy(case):
    return MembershipFactory(
        case=case, person__first_name="Amy", person__last_name="Carter", start_date=D(2026, 1, 5)
    ).person


@pytest.fixture
def mum(case):
    return MembershipFactory(
        case=case,
        person__first_name="Dawn",
        person__last_name="Carter",
        person__date_of_birth=D(1990, 5, 1),
        relationship="mother",
        start_date=D(2026, 1, 5),
    ).person


@pytest.fixture
def colleague(worker):
    return UserFactory(username="ben", first_name="Ben", last_name="Adams", team=worker.team)


def outcome(amy, mum, **changes):
    fields = {
        "outcome": Visit.Outcome.COMPLETED,
        "occurred_at": WHEN,
        "children": [
            ChildSeenInput(
                child=amy,
                seen=True,
                seen_alone=True,
                bedroom_seen=True,
                child_views="I like school dinners",
                presentation="Chatty, clean clothes",
            )
        ],
        "observations": [
            ObservationInput(
                what_was_seen="Mum picked Amy up when she cried", analysis="Warm", adult=mum
            )
        ],
        "present_members": [mum, amy],
        "others_present": "Nan",
        "parent_report": "All fine, she said",
        "notes": "Kitchen tidy",
    }
    return Outcome(**{**fields, **changes})


@pytest.fixture
def visit(worker, case, amy, mum):
    return services.visit_log(actor=worker, case=case, data=outcome(amy, mum), now=NOW)


def history_rows(visit=None) -> int:
    """Rows in every history table (simple_history's, many-to-many ones included)."""
    return sum(
        model.objects.count()
        for model in apps.get_models()
        if any(f.name == "history_id" for f in model._meta.fields)
    )


def amy_row(visit) -> ChildSeen:
    return ChildSeen.objects.get(visit=visit)


def assert_amy_as_recorded(visit):
    row = amy_row(visit)
    assert (row.seen, row.seen_alone, row.bedroom_seen) == (True, True, True)
    assert row.child_views == "I like school dinners"
    assert row.presentation == "Chatty, clean clothes"


# --- The service ---------------------------------------------------------------------------


def test_it_changes_nothing_and_writes_no_history_when_the_same_record_is_sent_again(
    worker, visit, amy, mum, django_capture_on_commit_callbacks
):
    before = history_rows(visit)
    version = services.visit_version(visit)

    with django_capture_on_commit_callbacks() as queued:
        services.visit_record(
            actor=worker, visit=visit, data=outcome(amy, mum), version=version, now=NOW
        )

    assert history_rows(visit) == before
    assert queued == [], "nothing changed, so the rule is not evaluated again"
    assert services.visit_version(Visit.objects.get(pk=visit.pk)) == version
    assert Visit.objects.get(pk=visit.pk).occurred_at == WHEN


def test_it_keeps_every_childs_words_and_answers_when_only_the_notes_change(
    worker, visit, amy, mum
):
    services.visit_record(
        actor=worker,
        visit=visit,
        data=outcome(amy, mum, children=[], observations=[], notes="Kitchen tidy, fridge full"),
        now=NOW,
    )

    visit.refresh_from_db()
    assert visit.notes == "Kitchen tidy, fridge full"
    assert_amy_as_recorded(visit)
    assert list(
        Observation.objects.filter(visit=visit).values_list("what_was_seen", flat=True)
    ) == ["Mum picked Amy up when she cried"]


def test_it_keeps_the_fields_a_correction_leaves_out(worker, visit, amy, mum):
    services.visit_record(
        actor=worker,
        visit=visit,
        data=Outcome(outcome=Visit.Outcome.COMPLETED, occurred_at=WHEN, notes="Fridge full"),
        now=NOW,
    )

    visit.refresh_from_db()
    assert (visit.notes, visit.others_present, visit.parent_report) == (
        "Fridge full",
        "Nan",
        "All fine, she said",
    )
    assert set(visit.present_members.all()) == {amy, mum}
    assert_amy_as_recorded(visit)


def test_it_changes_who_was_there_and_keeps_the_rest(worker, colleague, visit, amy, mum):
    services.visit_record(
        actor=colleague, visit=visit, data=outcome(amy, mum, present_members=[mum]), now=NOW
    )

    visit.refresh_from_db()
    assert list(visit.present_members.all()) == [mum]
    assert visit.history.first().history_user == colleague
    assert (visit.notes, visit.outcome_recorded_by) == ("Kitchen tidy", colleague)
    assert_amy_as_recorded(visit)


def test_it_records_who_changed_a_childs_answer_and_keeps_the_old_one_in_history(
    worker, colleague, visit, amy, mum
):
    services.visit_record(
        actor=colleague,
        visit=visit,
        data=outcome(
            amy,
            mum,
            children=[
                ChildSeenInput(
                    child=amy,
                    seen=True,
                    seen_alone=False,
                    reason_not_seen="Mum would not leave the room",
                    bedroom_seen=True,
                    child_views="I like school dinners",
                    presentation="Chatty, clean clothes",
                )
            ],
        ),
        now=NOW,
    )

    row = amy_row(visit)
    assert (row.seen_alone, row.reason_not_seen) == (False, "Mum would not leave the room")
    assert row.history.first().history_user == colleague
    assert row.history.last().seen_alone is True
    visit.refresh_from_db()
    assert visit.outcome_recorded_by == colleague


def test_it_corrects_an_observation_in_place_and_keeps_the_original_in_history(
    worker, colleague, visit, amy, mum
):
    observation = Observation.objects.get(visit=visit)

    services.visit_record(
        actor=colleague,
        visit=visit,
        data=outcome(
            amy,
            mum,
            observations=[
                ObservationInput(
                    observation_id=observation.pk,
                    what_was_seen="Mum picked Amy up straight away when she cried",
                    analysis="Warm and attuned",
                )
            ],
        ),
        now=NOW,
    )

    [corrected] = Observation.objects.filter(visit=visit)
    assert corrected.pk == observation.pk
    assert corrected.what_was_seen == "Mum picked Amy up straight away when she cried"
    assert corrected.analysis == "Warm and attuned"
    assert corrected.adult == mum, "who was observed stays as recorded"
    assert [h.what_was_seen for h in corrected.history.order_by("history_date")] == [
        "Mum picked Amy up when she cried",
        "Mum picked Amy up straight away when she cried",
    ]
    assert corrected.history.first().history_user == colleague


def test_a_corrected_observation_sent_again_or_beside_its_old_words_is_never_duplicated(
    worker, visit, amy, mum
):
    observation = Observation.objects.get(visit=visit)
    corrected = outcome(
        amy,
        mum,
        observations=[
            ObservationInput(
                observation_id=observation.pk, what_was_seen="Mum held Amy", analysis="Warm"
            )
        ],
    )
    services.visit_record(actor=worker, visit=visit, data=corrected, now=NOW)
    services.visit_record(actor=worker, visit=visit, data=corrected, now=NOW)
    # The same new observation given twice in one record is added once.
    twice = [ObservationInput(what_was_seen="Dad kept his distance")] * 2
    services.visit_record(actor=worker, visit=visit, data=outcome(amy, mum, observations=twice))
    services.visit_record(actor=worker, visit=visit, data=outcome(amy, mum, observations=twice))

    assert list(
        Observation.objects.filter(visit=visit)
        .order_by("pk")
        .values_list("what_was_seen", flat=True)
    ) == ["Mum held Amy", "Dad kept his distance"]


@pytest.mark.parametrize(
    "what", [pytest.param("", id="emptied"), pytest.param("x", id="of-another-visit")]
)
def test_it_refuses_a_correction_that_empties_an_observation_or_is_not_of_this_visit(
    worker, case, visit, amy, mum, what
):
    observation = Observation.objects.get(visit=visit)
    observation_id = observation.pk
    if what:
        other = services.visit_log(actor=worker, case=case, data=outcome(amy, mum), now=NOW)
        observation_id = Observation.objects.get(visit=other).pk
    before = history_rows(visit)

    with pytest.raises(ValidationError) as exc:
        services.visit_record(
            actor=worker,
            visit=visit,
            data=outcome(
                amy,
                mum,
                notes="Changed",
                observations=[ObservationInput(observation_id=observation_id, what_was_seen=what)],
            ),
            now=NOW,
        )

    assert list(exc.value.message_dict) == ["observations-0"]
    assert history_rows(visit) == before
    assert Visit.objects.get(pk=visit.pk).notes == "Kitchen tidy"


def test_it_refuses_to_save_over_a_visit_changed_since_and_says_who_changed_what(
    worker, colleague, visit, amy, mum, frozen
):
    version = services.visit_version(visit)
    later(frozen)
    services.visit_record(
        actor=colleague, visit=visit, data=outcome(amy, mum, notes="Fridge empty"), now=NOW
    )
    before = history_rows(visit)

    with pytest.raises(EditConflict) as exc:
        services.visit_record(
            actor=worker,
            visit=visit,
            data=outcome(amy, mum, notes="Kitchen tidy; dog in the garden"),
            version=version,
            now=NOW,
        )

    message = exc.value.messages[0]
    assert message.startswith("Ben Adams changed this visit")
    assert "worker's notes is now “Fridge empty”" in message
    assert exc.value.current_version == services.visit_version(Visit.objects.get(pk=visit.pk))
    assert history_rows(visit) == before
    assert Visit.objects.get(pk=visit.pk).notes == "Fridge empty"


@pytest.mark.parametrize("part", ["child", "observation"])
def test_the_version_covers_the_childrens_rows_and_the_observations(worker, visit, part):
    version = services.visit_version(visit)
    if part == "child":
        row = ChildSeen.objects.get(visit=visit)
        row.child_views = "I like school dinners and PE"
        row.save()
    else:
        observation = Observation.objects.get(visit=visit)
        observation.analysis = "Warm; attuned"
        observation.save()

    assert services.visit_version(Visit.objects.get(pk=visit.pk)) != version


# --- The page ------------------------------------------------------------------------------


def edit_url(case, visit):
    return reverse("visits:record", args=[case.pk, visit.pk])


def test_the_edit_form_starts_from_everything_stored(signed_in, case, visit, amy, mum):
    page = signed_in.get(edit_url(case, visit))

    assert page.status_code == 200
    data = form_data(page.content.decode())
    observation = Observation.objects.get(visit=visit)
    assert data[f"child-{amy.pk}-seen"] == ["yes"]
    assert data[f"child-{amy.pk}-seen_alone"] == ["yes"]
    assert data[f"child-{amy.pk}-bedroom_seen"] == ["yes"]
    assert data[f"child-{amy.pk}-child_views"] == ["I like school dinners"]
    assert data[f"child-{amy.pk}-presentation"] == ["Chatty, clean clothes"]
    assert data[f"obs-{observation.pk}-what_was_seen"] == ["Mum picked Amy up when she cried"]
    assert data[f"obs-{observation.pk}-analysis"] == ["Warm"]
    assert data["o-observed"] == [""], "a new observation starts empty"
    assert sorted(data["o-present_members"]) == sorted([str(mum.pk), str(amy.pk)])
    assert (data["o-others_present"], data["o-parent_report"], data["o-notes"]) == (
        ["Nan"],
        ["All fine, she said"],
        ["Kitchen tidy"],
    )
    assert (data["o-outcome"], data["o-time"]) == (["completed"], ["10:04"])
    assert data["o-version"] == [services.visit_version(visit)]


def test_changing_only_the_notes_on_the_page_keeps_the_words_answers_and_observation(
    signed_in, case, visit, amy
):
    data = form_data(signed_in.get(edit_url(case, visit)).content.decode())
    data["o-notes"] = ["Kitchen tidy, fridge full"]

    response = signed_in.post(edit_url(case, visit), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    visit.refresh_from_db()
    assert visit.notes == "Kitchen tidy, fridge full"
    assert visit.occurred_at == WHEN, "the seconds the form does not show are kept"
    assert_amy_as_recorded(visit)
    assert Observation.objects.filter(visit=visit).count() == 1


def test_an_observation_corrected_on_the_page_is_corrected_not_added(signed_in, case, visit):
    observation = Observation.objects.get(visit=visit)
    data = form_data(signed_in.get(edit_url(case, visit)).content.decode())
    data[f"obs-{observation.pk}-what_was_seen"] = ["Mum picked Amy up at once when she cried"]

    response = signed_in.post(edit_url(case, visit), data)

    assert response.status_code == 302
    [kept] = Observation.objects.filter(visit=visit)
    assert kept.what_was_seen == "Mum picked Amy up at once when she cried"
    assert kept.history.count() == 2


def test_a_new_observation_typed_once_is_added_once_also_after_a_validation_error(
    signed_in, case, visit
):
    data = form_data(signed_in.get(edit_url(case, visit)).content.decode())
    data["o-observed"] = ["Amy hid behind the sofa when the door slammed"]
    data["o-time"] = ["25:99"]

    refused = signed_in.post(edit_url(case, visit), data)

    assert refused.status_code == 400
    assert Observation.objects.filter(visit=visit).count() == 1
    again = form_data(refused.content.decode())
    assert again["o-observed"] == ["Amy hid behind the sofa when the door slammed"]
    again["o-time"] = ["10:04"]
    assert signed_in.post(edit_url(case, visit), again).status_code == 302
    # The same form sent twice (a double click, the back button): refused as older than
    # the visit now is, then saved again on purpose; the observation is still added once.
    second = signed_in.post(edit_url(case, visit), again)
    assert second.status_code == 400
    assert (
        signed_in.post(edit_url(case, visit), form_data(second.content.decode())).status_code == 302
    )

    assert list(
        Observation.objects.filter(visit=visit)
        .order_by("pk")
        .values_list("what_was_seen", flat=True)
    ) == ["Mum picked Amy up when she cried", "Amy hid behind the sofa when the door slammed"]
    page = form_data(signed_in.get(edit_url(case, visit)).content.decode())
    assert page["o-observed"] == [""]


def test_a_second_person_saving_over_a_newer_visit_is_told_and_loses_nothing_typed(
    client, signed_in, worker, colleague, case, visit, amy, frozen
):
    mine = form_data(signed_in.get(edit_url(case, visit)).content.decode())
    later(frozen)
    client.force_login(colleague)
    theirs = form_data(client.get(edit_url(case, visit)).content.decode())
    theirs["o-notes"] = ["Fridge empty"]
    assert client.post(edit_url(case, visit), theirs).status_code == 302

    client.force_login(worker)
    mine[f"child-{amy.pk}-child_views"] = ["I like school dinners and my teacher"]
    mine["o-observed"] = ["Amy held Mum's hand on the stairs"]
    response = client.post(edit_url(case, visit), mine)

    assert response.status_code == 400
    html = response.content.decode()
    assert "Ben Adams changed this visit" in html
    assert "Fridge empty" in html
    shown = form_data(html)
    assert shown[f"child-{amy.pk}-child_views"] == ["I like school dinners and my teacher"]
    assert shown["o-observed"] == ["Amy held Mum's hand on the stairs"]
    assert shown["o-notes"] == ["Kitchen tidy"]
    assert amy_row(visit).child_views == "I like school dinners"
    # Having looked, saving again replaces the visit with what is on the form.
    assert client.post(edit_url(case, visit), shown).status_code == 302
    visit.refresh_from_db()
    assert visit.notes == "Kitchen tidy"
    assert amy_row(visit).child_views == "I like school dinners and my teacher"
    assert Observation.objects.filter(visit=visit).count() == 2


# --- The API -------------------------------------------------------------------------------


@pytest.fixture
def api(worker):
    client = APIClient()
    client.force_authenticate(worker)
    return client


def record_url(visit):
    return f"/api/v1/visits/{visit.pk}/record/"


def test_the_api_changes_nothing_when_sent_what_is_stored(api, visit, amy, mum):
    stored = api.get(f"/api/v1/visits/{visit.pk}/").json()
    before = history_rows(visit)
    body = {
        "outcome": stored["outcome"],
        "occurred_at": stored["occurred_at"],
        "children": [
            {k: c[k] for k in ("child", "seen", "seen_alone", "bedroom_seen", "child_views")}
            | {"presentation": c["presentation"], "reason_not_seen": c["reason_not_seen"]}
            for c in stored["children"]
        ],
        "observations": [
            {"id": o["id"], "what_was_seen": o["what_was_seen"], "analysis": o["analysis"]}
            for o in stored["observations"]
        ],
        "present_members": stored["present_members"],
        "others_present": stored["others_present"],
        "parent_report": stored["parent_report"],
        "notes": stored["notes"],
        "version": stored["version"],
    }

    response = api.post(record_url(visit), body, format="json")

    assert response.status_code == 200, response.content
    assert history_rows(visit) == before
    assert response.json()["version"] == stored["version"]


def test_the_api_keeps_what_a_correction_leaves_out_and_corrects_an_observation_by_id(
    api, visit, amy, mum
):
    observation = Observation.objects.get(visit=visit)

    response = api.post(
        record_url(visit),
        {
            "outcome": "completed",
            "occurred_at": WHEN.isoformat(),
            "notes": "Fridge full",
            "observations": [
                {"id": observation.pk, "what_was_seen": "Mum held Amy", "analysis": "Warm"}
            ],
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["notes"], body["others_present"], body["parent_report"]) == (
        "Fridge full",
        "Nan",
        "All fine, she said",
    )
    assert set(body["present_members"]) == {amy.pk, mum.pk}
    [child] = body["children"]
    assert child["child_views"] == "I like school dinners"
    assert [(o["id"], o["what_was_seen"]) for o in body["observations"]] == [
        (observation.pk, "Mum held Amy")
    ]


def test_the_api_refuses_a_record_over_a_newer_visit(api, colleague, visit, amy, mum, frozen):
    version = api.get(f"/api/v1/visits/{visit.pk}/").json()["version"]
    later(frozen)
    services.visit_record(
        actor=colleague, visit=visit, data=outcome(amy, mum, notes="Fridge empty"), now=NOW
    )

    response = api.post(
        record_url(visit),
        {
            "outcome": "completed",
            "occurred_at": WHEN.isoformat(),
            "notes": "Mine",
            "version": version,
        },
        format="json",
    )

    assert response.status_code == 409, response.content
    assert "Ben Adams changed this visit" in str(response.json())
    assert Visit.objects.get(pk=visit.pk).notes == "Fridge empty"
