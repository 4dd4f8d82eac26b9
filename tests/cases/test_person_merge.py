"""Two records of one person merged: everything moves, with history, and nothing is lost.

The duplicate is kept, marked merged into the other, and left out of searches and
lists; the merge shows on both records' pages and in the chronology of every case.
"""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from cases import queries, services
from cases.models import ChildProtectionPlan, Hazard, Membership, Person
from cases.services.merge import merge_reason
from chronologies.models import ChronologyEntry
from tests.factories import (
    CaseFactory,
    ChronologyEntryFactory,
    HazardFactory,
    MembershipFactory,
    PersonFactory,
    PlanFactory,
    UserFactory,
    api_token_for,
)
from visits import services as visit_services
from visits.models import ChildLastSeen, ChildSeen, Observation, Visit

D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2026, 3, 2, 12, 0))


def at(day, hour=10):
    return timezone.make_aware(datetime.datetime(day.year, day.month, day.day, hour))


@pytest.fixture
def manager(team):
    return UserFactory(username="grace", team=team, role=roles.TEAM_MANAGER)


@pytest.fixture
def walsh(team, worker):
    """The family Darren Mills was first recorded with."""
    case = CaseFactory(team=team, family_name="Walsh", opened_on=D(2026, 1, 5))
    case.allocated_workers.add(worker)
    return case


@pytest.fixture
def carter(team, worker):
    """The family he was recorded with again, misspelled."""
    case = CaseFactory(team=team, family_name="Carter", opened_on=D(2026, 1, 5))
    case.allocated_workers.add(worker)
    return case


def person(first, last, **fields):
    fields.setdefault("date_of_birth", None)
    return PersonFactory(first_name=first, last_name=last, **fields)


def visit(worker, case, when, children=(), present=(), observations=()):
    return visit_services.visit_log(
        actor=worker,
        case=case,
        now=NOW,
        data=visit_services.Outcome(
            outcome="completed",
            occurred_at=when,
            children=[
                visit_services.ChildSeenInput(child=c, seen=True, seen_alone=alone)
                for c, alone in children
            ],
            present_members=list(present),
            observations=[
                visit_services.ObservationInput(what_was_seen=text, adult=adult, child=child)
                for text, adult, child in observations
            ],
        ),
    )


@pytest.fixture
def records(worker, manager, walsh, carter):
    """Darren Mills and his child Mia, each recorded twice: once on the Walsh case and
    again, with other spellings, on the Carter case, each with their own record."""
    darren = person("Darren", "Mills", date_of_birth=D(1991, 6, 14), aliases="Daz Mills")
    daren = person("Daren", "Mils", nhs_number="9434765919", aliases="Dazza")
    mia = person("Mia", "Mills", date_of_birth=D(2019, 5, 20))
    mia_again = person("Mia", "Carter", date_of_birth=D(2019, 5, 20), upn="H801200001001")
    MembershipFactory(case=walsh, person=darren, relationship="partner")
    MembershipFactory(case=walsh, person=mia, relationship="child")
    MembershipFactory(case=carter, person=daren, relationship="father", start_date=D(2026, 1, 10))
    MembershipFactory(
        case=carter, person=mia_again, relationship="child", start_date=D(2026, 1, 10)
    )
    aggressive = HazardFactory(
        case=None,
        person=darren,
        kind=Hazard.Kind.AGGRESSIVE_ADULT,
        details="Shouted at the worker in January",
        created_by=manager,
    )
    knife = HazardFactory(
        case=None, person=daren, kind=Hazard.Kind.WEAPON, details="Kept a knife", created_by=manager
    )
    plan = PlanFactory(case=carter, child=mia_again, start_date=D(2026, 2, 1))
    visit(worker, walsh, at(D(2026, 2, 2)), children=[(mia, False)], present=[darren])
    later = visit(
        worker,
        carter,
        at(D(2026, 2, 20)),
        children=[(mia_again, True)],
        present=[daren],
        observations=[("He picked her up when she cried", daren, mia_again)],
    )
    manual = ChronologyEntryFactory(case=carter)
    manual.children.add(mia_again)
    return {
        "darren": darren,
        "daren": daren,
        "mia": mia,
        "mia_again": mia_again,
        "aggressive": aggressive,
        "knife": knife,
        "plan": plan,
        "later": later,
        "manual": manual,
    }


def merge(actor, keep, duplicate, reason="Same man: same phone number and mother confirms"):
    return services.person_merge(
        actor=actor, keep=keep, duplicate=duplicate, reason=reason, now=NOW
    )


def test_it_moves_everything_about_an_adult_and_keeps_the_duplicate(manager, records, carter):
    darren, daren = records["darren"], records["daren"]
    kept = merge(manager, darren, daren)

    assert kept == darren
    assert Membership.objects.get(case=carter, relationship="father").person == darren
    assert set(Hazard.objects.filter(person=darren)) == {records["aggressive"], records["knife"]}
    assert list(records["later"].present_members.all()) == [darren]
    assert Observation.objects.get(visit=records["later"]).adult == darren

    daren.refresh_from_db()
    assert daren.merged_into == darren and daren.merged_by == manager
    assert daren.merged_at == NOW and daren.merged_reason.startswith("Same man")
    assert Person.objects.filter(pk=daren.pk).exists()  # kept, never deleted
    darren.refresh_from_db()
    # Nothing typed is lost: the duplicate's names are other names, its NHS number moved.
    assert darren.aliases.splitlines() == ["Daz Mills", "Daren Mils", "Dazza"]
    assert darren.nhs_number == "9434765919" and daren.nhs_number == ""
    assert darren.date_of_birth == D(1991, 6, 14)


def test_it_moves_everything_about_a_child_and_works_out_when_she_was_last_seen(
    manager, records, walsh, carter
):
    mia, mia_again = records["mia"], records["mia_again"]
    merge(manager, mia, mia_again)

    assert records["plan"].__class__.objects.get(pk=records["plan"].pk).child == mia
    assert ChildSeen.objects.filter(child=mia_again).count() == 0
    assert ChildSeen.objects.filter(child=mia).count() == 2
    assert Observation.objects.get(visit=records["later"]).child == mia
    assert set(records["manual"].children.all()) == {mia}
    assert not ChronologyEntry.objects.filter(children=mia_again).exists()
    # Her last-seen rows: the Carter visit now counts for her, the duplicate has none.
    on_carter = ChildLastSeen.objects.get(case=carter, child=mia)
    assert on_carter.last_seen_at == at(D(2026, 2, 20)) and on_carter.alone_in_last_three
    on_walsh = ChildLastSeen.objects.get(case=walsh, child=mia)
    assert on_walsh.last_seen_at == at(D(2026, 2, 2)) and not on_walsh.alone_in_last_three
    left = ChildLastSeen.objects.get(case=carter, child=mia_again)
    assert (left.last_seen_at, left.last_alone_at, left.alone_in_last_three) == (None, None, None)
    # The same as working every row out again from the visits.
    from visits import last_seen

    before = set(
        ChildLastSeen.objects.values_list("case", "child", "last_seen_at", "last_alone_at")
    )
    last_seen.rebuild()
    after = set(ChildLastSeen.objects.values_list("case", "child", "last_seen_at", "last_alone_at"))
    assert before == after
    mia.refresh_from_db()
    assert mia.upn == "H801200001001" and mia.aliases == "Mia Carter"


def test_it_leaves_nothing_pointing_at_the_duplicate(manager, records):
    for keep, duplicate in (("darren", "daren"), ("mia", "mia_again")):
        merge(manager, records[keep], records[duplicate])
        duplicate = records[duplicate]
        for relation in Person._meta.related_objects:
            model = relation.related_model
            if model._meta.label.endswith(".HistoricalPerson") or relation.name == "merged_records":
                continue
            if not hasattr(model, "_meta") or model.__name__.startswith("Historical"):
                continue
            rows = model.objects.filter(**{relation.field.name: duplicate})
            if model is ChildLastSeen:
                # Derived rows: blank, as working them out from no visit leaves them.
                assert set(rows.values_list("last_seen_at", flat=True)) <= {None}
                continue
            assert not rows.exists(), f"{model.__name__}.{relation.field.name} still names it"


def test_it_keeps_history_of_every_moved_row_by_the_manager(manager, records, carter):
    darren, daren = records["darren"], records["daren"]
    mia, mia_again = records["mia"], records["mia_again"]
    merge(manager, darren, daren)
    merge(manager, mia, mia_again)
    moved = [
        Membership.objects.get(case=carter, relationship="father"),
        Membership.objects.get(case=carter, relationship="child"),
        records["knife"],
        records["plan"],
        ChildSeen.objects.get(visit=records["later"]),
        Observation.objects.get(visit=records["later"]),
    ]
    for row in moved:
        latest = row.history.latest()
        assert latest.history_user == manager, row
        assert latest.history_change_reason.startswith("Merged record"), row
        assert latest.prev_record is not None, row
    reason = merge_reason(darren, daren)
    assert daren.history.filter(history_change_reason=reason, history_user=manager).exists()
    assert Visit.history.filter(
        id=records["later"].pk, history_user=manager, history_change_reason=reason
    ).exists()
    assert records["manual"].history.filter(history_user=manager).exists()


def test_it_tells_the_chronology_of_every_case_he_is_on(manager, records, walsh, carter):
    merge(manager, records["darren"], records["daren"])
    for case in (walsh, carter):
        entry = ChronologyEntry.objects.get(case=case, source_type="person_merged")
        assert "Daren Mils (record" in entry.title and "into Darren Mills" in entry.title
        assert "Same man" in entry.details and "Merged by" in entry.details


def test_the_chronology_backfill_writes_the_merge_entry_again_unchanged(manager, records, carter):
    from chronologies.management.commands.chronology_backfill import backfill_case

    merge(manager, records["darren"], records["daren"])
    before = ChronologyEntry.objects.get(case=carter, source_type="person_merged")
    backfill_case(carter)
    after = ChronologyEntry.objects.get(case=carter, source_type="person_merged")
    assert (after.pk, after.title, after.details, after.occurred_on) == (
        before.pk,
        before.title,
        before.details,
        before.occurred_on,
    )
    assert after.history.count() == before.history.count()


def test_it_shows_his_hazards_on_every_case_he_is_on_after_the_merge(manager, records, carter):
    merge(manager, records["darren"], records["daren"])
    kinds = {h.kind for h in queries.active_hazards(carter, today=D(2026, 3, 2))}
    assert Hazard.Kind.AGGRESSIVE_ADULT in kinds


@pytest.mark.parametrize(
    "role, allowed",
    [
        (roles.SOCIAL_WORKER, False),
        (roles.PRACTICE_SUPERVISOR, False),
        (roles.TEAM_MANAGER, True),
        (roles.BUSINESS_SUPPORT, True),
        (roles.SERVICE_MANAGER, True),
    ],
)
def test_it_lets_only_managers_and_business_support_merge(team, records, role, allowed):
    user = UserFactory(team=team, role=role)
    if allowed:
        merge(user, records["darren"], records["daren"])
        assert Person.objects.get(pk=records["daren"].pk).merged_into == records["darren"]
    else:
        with pytest.raises(PermissionDenied):
            merge(user, records["darren"], records["daren"])
        assert Person.objects.get(pk=records["daren"].pk).merged_into is None


def test_it_refuses_a_record_on_a_restricted_case_the_user_cannot_see(manager, records, team):
    hidden = CaseFactory(team=team, restricted=True)
    MembershipFactory(case=hidden, person=records["daren"], relationship="father")
    with pytest.raises(PermissionDenied):
        merge(manager, records["darren"], records["daren"])
    hidden.restricted_to.add(manager)
    merge(manager, records["darren"], records["daren"])


def refused(actor, keep, duplicate, reason="Same person"):
    with pytest.raises(ValidationError) as error:
        merge(actor, keep, duplicate, reason)
    return " ".join(error.value.messages)


def test_it_refuses_bad_pairs(manager, records, walsh):
    darren, daren, mia = records["darren"], records["daren"], records["mia"]
    assert "cannot be merged with itself" in refused(manager, darren, darren)
    assert "Say why" in refused(manager, darren, daren, reason="  ")
    assert "dates of birth" in refused(manager, darren, mia)
    other_nhs = person("Darren", "Mills", nhs_number="4010232137")
    assert "NHS numbers" in refused(manager, daren, other_nhs)
    upn = person("Mia", "Mills", upn="A123456789012")
    assert "unique pupil numbers" in refused(manager, records["mia_again"], upn)

    merge(manager, darren, daren)
    assert "already merged" in refused(manager, darren, daren)
    assert "merge into that record instead" in refused(manager, daren, person("D", "Mills"))
    # Nothing was half done by the refusals.
    assert Person.objects.get(pk=mia.pk).merged_into is None


def test_it_refuses_two_records_on_one_case_at_the_same_time(manager, walsh, records):
    again = person("Darren", "Mills")
    MembershipFactory(case=walsh, person=again, relationship="father", start_date=D(2026, 2, 1))
    message = refused(manager, records["darren"], again)
    assert f"Both records are on case {walsh.reference} at the same time" in message
    assert Membership.objects.get(person=again).person == again


def test_it_merges_two_stays_on_one_case_that_do_not_overlap(manager, walsh, records):
    Membership.objects.filter(person=records["darren"]).update(end_date=D(2026, 1, 20))
    again = person("Darren", "Mills")
    MembershipFactory(case=walsh, person=again, relationship="partner", start_date=D(2026, 2, 1))
    merge(manager, records["darren"], again)
    stays = Membership.objects.filter(case=walsh, person=records["darren"]).order_by("start_date")
    assert [(m.start_date, m.end_date) for m in stays] == [
        (D(2026, 1, 5), D(2026, 1, 20)),
        (D(2026, 2, 1), None),
    ]


def test_it_refuses_two_plans_for_the_child_at_the_same_time(manager, records, walsh):
    PlanFactory(case=walsh, child=records["mia"], start_date=D(2026, 1, 20))
    message = refused(manager, records["mia"], records["mia_again"])
    assert "Both records have a child protection plan at the same time" in message
    assert ChildProtectionPlan.objects.get(pk=records["plan"].pk).child == records["mia_again"]


def test_it_takes_the_date_of_birth_of_a_baby_born_since(manager, walsh):
    unborn = person("", "Mills", expected_date_of_birth=D(2026, 2, 10))
    born = person("Ava", "Mills", date_of_birth=D(2026, 2, 12))
    MembershipFactory(case=walsh, person=unborn, relationship="child")
    merge(manager, unborn, born)
    unborn.refresh_from_db()
    assert (unborn.first_name, unborn.date_of_birth, unborn.expected_date_of_birth) == (
        "Ava",
        D(2026, 2, 12),
        None,
    )


def test_it_leaves_merged_records_out_of_searches_and_lists(manager, worker, records, carter):
    darren, daren = records["darren"], records["daren"]
    merge(manager, darren, daren)
    found = [m.person for m in queries.person_matches(worker, first_name="Daren", last_name="Mils")]
    assert found == [darren]
    assert daren not in queries.people_for(worker)
    assert daren not in queries.findable_people(worker).filter(merged_into__isnull=True)
    # Nor can it be added to a case again.
    with pytest.raises(ValidationError):
        services.membership_add(
            actor=worker,
            case=carter,
            person=daren,
            relationship="other_adult",
            start_date=D(2026, 3, 1),
        )
    with pytest.raises(ValidationError):
        services.person_update(actor=daren.created_by, person=daren, first_name="Darren")


# --- Pages ------------------------------------------------------------------------------


def test_it_walks_a_manager_through_a_merge_by_posted_forms(client, manager, records, carter):
    darren, daren = records["darren"], records["daren"]
    client.force_login(manager)
    url = reverse("cases:person_merge", args=[carter.pk, daren.pk])

    page = client.get(url).content.decode()
    # Records like this one are listed at once: Darren Mills, by name.
    assert "Darren Mills (record" in page and "similar name" in page

    page = client.post(url, {"action": "pick", "c-other": str(darren.pk)}).content.decode()
    assert "Check these are the same person" in page
    assert "Differs" not in page  # nothing on the two records disagrees
    assert "Aggressive adult" in page and "Weapon" in page

    response = client.post(url, {"action": "merge", "other": darren.pk, "keep": str(darren.pk)})
    assert response.status_code == 400
    assert "Say why these two records are one person" in response.content.decode()
    assert Person.objects.get(pk=daren.pk).merged_into is None

    response = client.post(
        url,
        {"action": "merge", "other": darren.pk, "keep": str(darren.pk), "reason": "Same man"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:person_edit", args=[carter.pk, darren.pk])
    page = client.get(response["Location"]).content.decode()
    assert "Merged from 1 other record" in page and "Daren Mils (record" in page

    # The duplicate's page says where it went, with who and when.
    page = client.get(reverse("cases:person_edit", args=[carter.pk, daren.pk])).content.decode()
    assert "This record was merged into" in page and "Darren Mills" in page
    assert manager.get_full_name() in page


def test_it_searches_for_the_other_record_by_a_posted_search(client, manager, records, carter):
    client.force_login(manager)
    url = reverse("cases:person_merge", args=[carter.pk, records["mia_again"].pk])
    response = client.post(url, {"action": "search", "s-first_name": "Mills", "s-last_name": "Mia"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Mia Mills (record" in page and "swapped" in page
    # Picking nothing says so, and keeps the same list.
    response = client.post(url, {"action": "pick", "s-first_name": "Mills", "s-last_name": "Mia"})
    assert response.status_code == 400
    assert "Select the record that is the same person" in response.content.decode()
    assert "Mia Mills (record" in response.content.decode()


def test_it_shows_the_service_refusal_on_the_confirmation_page(client, manager, records, walsh):
    client.force_login(manager)
    url = reverse("cases:person_merge", args=[walsh.pk, records["darren"].pk])
    data = {"action": "pick", "c-other": str(records["mia"].pk)}
    page = client.post(url, data).content.decode()
    assert 'Date of birth <strong class="govuk-tag govuk-tag--yellow">Differs' in page
    response = client.post(
        url,
        {
            "action": "merge",
            "other": records["mia"].pk,
            "keep": str(records["darren"].pk),
            "reason": "x",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "These records have different dates of birth" in page
    assert "Check these are the same person" in page  # still side by side, nothing lost
    assert Person.objects.get(pk=records["mia"].pk).merged_into is None


def test_it_offers_the_merge_only_to_those_who_may(client, worker, manager, records, carter):
    url = reverse("cases:person_merge", args=[carter.pk, records["daren"].pk])
    edit = reverse("cases:person_edit", args=[carter.pk, records["daren"].pk])
    client.force_login(worker)
    assert client.get(url).status_code == 403
    assert "Merge with another record" not in client.get(edit).content.decode()
    client.force_login(manager)
    assert "Merge with another record" in client.get(edit).content.decode()


def test_it_hides_records_the_manager_may_not_merge(client, manager, records, carter):
    """A record known only on a restricted case they cannot see is a 404, as if unknown."""
    hidden = person("Daren", "Mills")
    MembershipFactory(case=CaseFactory(restricted=True), person=hidden, relationship="father")
    client.force_login(manager)
    url = reverse("cases:person_merge", args=[carter.pk, records["daren"].pk])
    assert f"record {hidden.pk}" not in client.get(url).content.decode()
    response = client.post(url, {"action": "pick", "c-other": str(hidden.pk)})
    assert response.status_code == 404


# --- API --------------------------------------------------------------------------------


def api_merge(client, user, keep, body):
    token = api_token_for(user)
    return client.post(
        reverse("person-merge", args=[keep.pk]),
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )


def test_the_api_merges_as_the_page_does(client, manager, records):
    darren, daren = records["darren"], records["daren"]
    response = api_merge(client, manager, darren, {"duplicate": daren.pk, "reason": "Same man"})
    assert response.status_code == 200, response.content
    assert response.json()["merged_from"] == [daren.pk]
    assert Person.objects.get(pk=daren.pk).merged_into == darren


def test_the_api_refuses_as_the_page_does(client, worker, manager, records):
    darren, daren, mia = records["darren"], records["daren"], records["mia"]
    body = {"duplicate": daren.pk, "reason": "Same man"}
    assert api_merge(client, worker, darren, body).status_code == 403
    response = api_merge(client, manager, darren, {"duplicate": mia.pk, "reason": "Same"})
    assert response.status_code == 400
    assert "dates of birth" in str(response.json()["duplicate"])
    response = api_merge(client, manager, darren, {"duplicate": darren.pk, "reason": "Same"})
    assert response.status_code == 400
    outsider = UserFactory(role=roles.TEAM_MANAGER)  # another team: cannot see his case
    assert api_merge(client, outsider, darren, body).status_code == 404
    assert Person.objects.get(pk=daren.pk).merged_into is None


def test_a_mother_is_neither_offered_nor_merged_with_her_unborn_baby(client, db):
    from cases.services.merge import why_not_one_person

    manager = UserFactory(role=roles.TEAM_MANAGER)
    case = CaseFactory(team=manager.team)
    mother = MembershipFactory(
        case=case,
        relationship="mother",
        person=PersonFactory(first_name="Sana", last_name="Ahmed", date_of_birth=D(2002, 11, 23)),
    ).person
    baby = MembershipFactory(
        case=case,
        relationship="child",
        person=PersonFactory(
            first_name="",
            last_name="Ahmed",
            date_of_birth=None,
            expected_date_of_birth=D(2027, 2, 5),
        ),
    ).person
    assert "cannot be one person" in why_not_one_person(mother, baby)
    with pytest.raises(ValidationError, match="cannot be one person"):
        services.person_merge(actor=manager, keep=mother, duplicate=baby, reason="Same")
    client.force_login(manager)
    page = client.get(reverse("cases:person_merge", args=[case.pk, mother.pk])).content.decode()
    assert f"record {baby.pk})" not in page
    # Born near the due date, the baby's record could be theirs: not refused for that.
    born = PersonFactory(first_name="Zara", last_name="Ahmed", date_of_birth=D(2027, 1, 20))
    assert why_not_one_person(born, baby) is None
