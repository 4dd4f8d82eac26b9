"""Changing a supervision record: worries and wellbeing, a case discussion, a decision,
an action. Each starts from what is stored; submitted unchanged it writes nothing (and
after sign-off asks no reason); a change is one history row by the person who made it,
and after sign-off needs a reason and writes an Amendment; a form filled before someone
else's change is refused, saying who changed what, and nothing is saved."""

import datetime
import json

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils.html import escape

from common.concurrency import EditConflict
from supervision import services
from supervision.models import Amendment, SupervisionSession
from tests.factories import api_token_for
from tests.form_html import form_data

from .conftest import NOW

D = datetime.date
KINDS = ["session", "discussion", "decision", "action"]


def history_rows() -> int:
    return sum(
        model.objects.count()
        for model in apps.get_models()
        if any(field.name == "history_id" for field in model._meta.fields)
    )


@pytest.fixture
def record(people, cp_case, frozen):
    """A held session with worries and wellbeing, a discussion, a decision and an
    action, all written by the supervisor."""
    supervisor = people["supervisor"]
    session = services.session_create(
        actor=supervisor, supervisee=people["worker"], date=D(2026, 3, 9), now=NOW
    )
    services.session_hold(actor=supervisor, session=session, now=NOW)
    session = services.session_update(
        actor=supervisor,
        session=session,
        most_worried_case=cp_case,
        most_worried_why="Four defaults & nobody has seen Mia alone",
        wellbeing_impact="Shaken after the doorstep threat",
        wellbeing_support="Joint visits only",
        now=NOW,
    )
    discussion = services.discussion_create(
        actor=supervisor,
        session=session,
        case=cp_case,
        data=services.Answers(
            lived_experience="Mia is hungry at school",
            answers={"assumptions": "That mum copes; <no> evidence"},
            not_discussed=set(services.QUESTION_FIELDS) - {"assumptions"},
        ),
        now=NOW,
    )
    decision = services.decision_record(
        actor=supervisor,
        discussion=discussion,
        decision="Unannounced visit this week",
        reasons="Announced visits find the home tidied",
        now=NOW,
    )
    action = services.action_create(
        actor=supervisor,
        discussion=discussion,
        description="Ring the school nurse",
        owner=people["worker"],
        due_date=D(2026, 3, 20),
        now=NOW,
    )
    return {"session": session, "discussion": discussion, "decision": decision, "action": action}


def _fresh(kind, record):
    obj = record[kind]
    return type(obj).objects.get(pk=obj.pk)


def _version(kind, record):
    return getattr(services, f"{kind}_version")(_fresh(kind, record))


def _answers(discussion, **changes):
    answers = {q: getattr(discussion, q) for q in services.QUESTION_FIELDS}
    skipped = {q for q in services.QUESTION_FIELDS if getattr(discussion, f"{q}_not_discussed")}
    answers.update(changes)
    return services.Answers(
        lived_experience=discussion.lived_experience, answers=answers, not_discussed=skipped
    )


# What each edit changes, and how the history names that field.
CHANGES = {
    "session": ("wellbeing_support", "support agreed"),
    "discussion": ("assumptions", "assumptions"),
    "decision": ("reasons", "reasons"),
    "action": ("description", "what needs doing"),
}


def edit(kind, record, actor, *, to=None, version=None, reason=""):
    """Submit `kind`'s edit as its form would: every stored value, with the field of
    CHANGES set to `to` if given."""
    obj = _fresh(kind, record)
    field, _ = CHANGES[kind]
    value = getattr(obj, field) if to is None else to
    common = {"actor": actor, "version": version, "reason": reason, "now": NOW}
    if kind == "session":
        values = {name: getattr(obj, name) for name in services.SESSION_FIELDS}
        values[field] = value
        return services.session_update(session=obj, **values, **common)
    if kind == "discussion":
        return services.discussion_update(
            discussion=obj, data=_answers(obj, **{field: value}), **common
        )
    if kind == "decision":
        return services.decision_update(decision=obj, text=obj.decision, reasons=value, **common)
    return services.action_update(
        action=obj, description=value, owner=obj.owner, due_date=obj.due_date, **common
    )


def _sign_off(people, record):
    services.session_sign_off(actor=people["supervisor"], session=record["session"], now=NOW)


@pytest.mark.parametrize("signed_off", [False, True], ids=["open", "signed-off"])
@pytest.mark.parametrize("kind", KINDS)
def test_it_writes_nothing_when_submitted_unchanged(people, record, kind, signed_off):
    if signed_off:
        _sign_off(people, record)
    before = history_rows()

    edit(kind, record, people["supervisor"], version=_version(kind, record))

    assert history_rows() == before
    assert not Amendment.objects.exists()  # and no reason was asked for


@pytest.mark.parametrize("kind", KINDS)
def test_it_writes_one_history_row_by_whoever_changed_it(people, record, kind):
    field, _ = CHANGES[kind]
    obj = _fresh(kind, record)
    rows = obj.history.count()

    # The team manager stands in for the supervisor.
    edit(kind, record, people["manager"], to="Changed <b>text</b>", version=_version(kind, record))

    obj = _fresh(kind, record)
    assert getattr(obj, field) == "Changed <b>text</b>"
    assert obj.history.count() == rows + 1
    assert obj.history.first().history_user == people["manager"]
    assert not Amendment.objects.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_it_needs_a_reason_to_change_a_signed_off_record_and_keeps_it(people, record, kind):
    field, _ = CHANGES[kind]
    _sign_off(people, record)
    stored = getattr(_fresh(kind, record), field)

    with pytest.raises(ValidationError) as exc:
        edit(kind, record, people["supervisor"], to="Second thoughts")
    assert "reason" in exc.value.message_dict
    assert getattr(_fresh(kind, record), field) == stored

    edit(kind, record, people["supervisor"], to="Second thoughts", reason="Typed in haste")

    assert getattr(_fresh(kind, record), field) == "Second thoughts"
    amendment = Amendment.objects.get()
    assert amendment.by == people["supervisor"] and amendment.reason == "Typed in haste"
    assert amendment.session == record["session"]
    row = _fresh(kind, record).history.first()
    assert row.history_change_reason == "After sign-off: Typed in haste"


@pytest.mark.parametrize("kind", KINDS)
def test_it_refuses_a_stale_form_saying_who_changed_what_and_saves_nothing(
    people, record, kind, frozen
):
    field, label = CHANGES[kind]
    opened = _version(kind, record)
    frozen.shift(datetime.timedelta(minutes=5))
    edit(kind, record, people["manager"], to="The manager's words", version=opened)

    with pytest.raises(EditConflict) as exc:
        edit(kind, record, people["supervisor"], to="The supervisor's words", version=opened)

    message = exc.value.messages[0]
    assert people["manager"].get_full_name() in message
    assert f"{label} is now “The manager's words”" in message
    assert getattr(_fresh(kind, record), field) == "The manager's words"
    # Having looked, the supervisor saves over it with the version now stored.
    edit(
        kind,
        record,
        people["supervisor"],
        to="The supervisor's words",
        version=exc.value.current_version,
    )
    assert getattr(_fresh(kind, record), field) == "The supervisor's words"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("who", ["worker", "colleague", "admin", "other_manager"])
def test_it_refuses_those_who_may_not_change_the_record(people, record, kind, who):
    before = history_rows()
    with pytest.raises(PermissionDenied):
        edit(kind, record, people[who], to="Not theirs to change")
    assert history_rows() == before


def test_it_refuses_a_manager_who_cannot_see_the_case_a_decision_is_on(people, record, cp_case):
    cp_case.restricted = True
    cp_case.save()
    cp_case.restricted_to.add(people["worker"], people["supervisor"])
    with pytest.raises(PermissionDenied):
        edit("decision", record, people["manager"], to="Not theirs")
    with pytest.raises(PermissionDenied):
        edit("action", record, people["manager"], to="Not theirs")
    edit("decision", record, people["supervisor"], to="Theirs")


def test_it_checks_a_new_owner_can_see_the_case(people, record):
    action = _fresh("action", record)
    with pytest.raises(ValidationError) as exc:
        services.action_update(
            actor=people["supervisor"],
            action=action,
            description=action.description,
            owner=people["outsider"],
            due_date=action.due_date,
        )
    assert "owner" in exc.value.message_dict
    services.action_update(
        actor=people["supervisor"],
        action=action,
        description=action.description,
        owner=people["colleague"],
        due_date=D(2026, 3, 27),
    )
    action = _fresh("action", record)
    assert action.owner == people["colleague"] and action.due_date == D(2026, 3, 27)


def test_a_changed_decision_changes_its_chronology_entry(people, record):
    from chronologies.models import ChronologyEntry

    edit("decision", record, people["supervisor"], to="The school's reports say otherwise")
    entry = ChronologyEntry.objects.get(
        source_type="supervision_decision", source_id=str(record["decision"].pk)
    )
    assert entry.analysis == "The school's reports say otherwise"
    assert entry.history.first().history_user == people["supervisor"]


def test_it_keeps_a_worry_about_a_case_the_editor_cannot_see(client, people, record, cp_case):
    """A manager standing in, who may not see the case that worries the worker most, is
    neither shown it nor able to lose it by saving."""
    cp_case.restricted = True
    cp_case.save()
    cp_case.restricted_to.add(people["worker"], people["supervisor"])
    client.force_login(people["manager"])
    url = reverse("supervision:record", args=[record["session"].pk])
    page = client.get(url)
    body = page.content.decode()
    # The page's own content: the header names the signed-in manager, whose (random)
    # surname may be the family's.
    main = body.split("<main", 1)[1].split("</main>", 1)[0]
    assert "Four defaults" not in main and cp_case.family_name not in main
    data = form_data(body)
    data["wellbeing_support"] = ["Joint visits only; weekly debrief"]
    assert client.post(url, data).status_code == 302
    session = SupervisionSession.objects.get(pk=record["session"].pk)
    assert session.most_worried_case == cp_case
    assert session.most_worried_why == "Four defaults & nobody has seen Mia alone"
    assert session.wellbeing_support == "Joint visits only; weekly debrief"


# --- Pages ------------------------------------------------------------------------------

PAGES = {
    "decision": (
        "supervision:decision_edit",
        lambda r: [r["session"].pk, r["discussion"].pk, r["decision"].pk],
        "reasons",
    ),
    "action": (
        "supervision:action_edit",
        lambda r: [r["session"].pk, r["discussion"].pk, r["action"].pk],
        "description",
    ),
}


@pytest.mark.parametrize("kind", sorted(PAGES))
def test_the_session_page_links_each_decision_and_action_to_its_form(client, people, record, kind):
    name, args, _ = PAGES[kind]
    url = reverse(name, args=args(record))
    client.force_login(people["supervisor"])
    assert (
        url
        in client.get(reverse("supervision:detail", args=[record["session"].pk])).content.decode()
    )
    client.force_login(people["worker"])  # the supervisee sees the record, not the links
    assert (
        url
        not in client.get(
            reverse("supervision:detail", args=[record["session"].pk])
        ).content.decode()
    )
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("kind", sorted(PAGES))
def test_the_page_shows_the_stored_record_and_saves_a_change(client, people, record, kind):
    name, args, field = PAGES[kind]
    url = reverse(name, args=args(record))
    client.force_login(people["supervisor"])
    data = form_data(client.get(url).content.decode())
    obj = _fresh(kind, record)
    assert data[field] == [getattr(obj, field)]
    if kind == "action":
        assert data["owner"] == [str(obj.owner_id)]
        assert (data["due_date-day"], data["due_date-month"]) == (["20"], ["3"])
    data[field] = ["Changed on the page"]
    response = client.post(url, data)
    assert response.status_code == 302
    assert getattr(_fresh(kind, record), field) == "Changed on the page"


@pytest.mark.parametrize("kind", sorted(PAGES))
def test_the_page_tells_the_second_person_and_keeps_what_they_typed(
    client, people, record, kind, frozen
):
    name, args, field = PAGES[kind]
    url = reverse(name, args=args(record))
    client.force_login(people["supervisor"])
    data = form_data(client.get(url).content.decode())
    frozen.shift(datetime.timedelta(minutes=5))
    edit(kind, record, people["manager"], to="The manager got there first")

    data[field] = ["The supervisor's own words"]
    response = client.post(url, data)

    assert response.status_code == 400
    body = response.content.decode()
    assert escape(people["manager"].get_full_name()) in body
    assert "after you opened this form" in body
    assert "The supervisor&#x27;s own words" in body
    assert getattr(_fresh(kind, record), field) == "The manager got there first"
    again = form_data(body)
    assert again["version"] == [_version(kind, record)]
    assert client.post(url, again).status_code == 302
    assert getattr(_fresh(kind, record), field) == "The supervisor's own words"


@pytest.mark.parametrize("kind", sorted(PAGES))
def test_the_page_asks_why_a_signed_off_record_changes(client, people, record, kind):
    name, args, field = PAGES[kind]
    _sign_off(people, record)
    url = reverse(name, args=args(record))
    client.force_login(people["supervisor"])
    data = form_data(client.get(url).content.decode())
    assert client.post(url, data).status_code == 302  # unchanged: no reason needed
    data[field] = ["Second thoughts"]
    refused = client.post(url, data)
    assert refused.status_code == 400
    assert "This record is signed off" in refused.content.decode()
    data["reason"] = ["The school rang back"]
    assert client.post(url, data).status_code == 302
    assert Amendment.objects.get().reason == "The school rang back"


# --- API -------------------------------------------------------------------------------


def _auth(user):
    token = api_token_for(user)
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def _patch(client, url, user, body):
    return client.patch(url, data=json.dumps(body), content_type="application/json", **_auth(user))


API = {
    "decision": ("/api/v1/supervision/decisions/{}/", "reasons"),
    "action": ("/api/v1/supervision/actions/{}/", "description"),
    "session": ("/api/v1/supervision/sessions/{}/", "wellbeing_support"),
}


@pytest.mark.parametrize("kind", sorted(API))
def test_the_api_changes_only_what_is_sent_and_refuses_a_stale_version(
    client, people, record, kind, frozen
):
    path, field = API[kind]
    url = path.format(record[kind].pk)
    read = json.loads(client.get(url, **_auth(people["supervisor"])).content)
    assert read["version"] == _version(kind, record)

    before = history_rows()
    same = _patch(client, url, people["supervisor"], {field: read[field]})
    assert same.status_code == 200 and history_rows() == before

    frozen.shift(datetime.timedelta(minutes=5))
    changed = _patch(client, url, people["manager"], {field: "Changed by API"})
    assert changed.status_code == 200, changed.content
    assert json.loads(changed.content)[field] == "Changed by API"
    assert _fresh(kind, record).history.first().history_user == people["manager"]

    stale = _patch(
        client, url, people["supervisor"], {field: "Too late", "version": read["version"]}
    )
    assert stale.status_code == 409
    assert people["manager"].get_full_name() in stale.content.decode()
    assert getattr(_fresh(kind, record), field) == "Changed by API"


def test_the_api_keeps_the_sign_off_rule_and_the_policy(client, people, record):
    _sign_off(people, record)
    url = f"/api/v1/supervision/decisions/{record['decision'].pk}/"
    # A colleague sees the decision (it is part of the case record) but may not change it.
    assert client.get(url, **_auth(people["colleague"])).status_code == 200
    assert _patch(client, url, people["colleague"], {"reasons": "x"}).status_code == 403
    assert _patch(client, url, people["outsider"], {"reasons": "x"}).status_code == 404
    unchanged = _patch(
        client,
        f"/api/v1/supervision/sessions/{record['session'].pk}/",
        people["supervisor"],
        {"wellbeing_support": "Joint visits only"},
    )
    assert unchanged.status_code == 200 and not Amendment.objects.exists()
    needs_reason = _patch(client, url, people["supervisor"], {"reasons": "Second thoughts"})
    assert needs_reason.status_code == 400 and "reason" in json.loads(needs_reason.content)
    action_url = f"/api/v1/supervision/actions/{record['action'].pk}/"
    owner = _patch(
        client,
        action_url,
        people["supervisor"],
        {"owner": people["outsider"].pk, "reason": "Moved to another team"},
    )
    assert owner.status_code == 400 and "owner" in json.loads(owner.content)
    assert not Amendment.objects.exists()
    done = _patch(
        client, url, people["supervisor"], {"reasons": "Second thoughts", "reason": "Rang"}
    )
    assert done.status_code == 200
    assert Amendment.objects.get().what.startswith("Changed a decision")
