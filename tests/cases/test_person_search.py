"""Search before create finds a person already known, however their name was typed.

Every test runs twice: scored by the database (PostgreSQL with pg_trgm) and scored in
Python, as SQLite does. With DATABASE_URL unset (SQLite) only the second runs; on
PostgreSQL both do, against the same people, so the fallback is held to the same
answers.
"""

import datetime

import pytest
from django.db import connection

from accounts import roles
from cases import person_search, queries, trigrams
from tests.factories import CaseFactory, MembershipFactory, PersonFactory, UserFactory

D = datetime.date


@pytest.fixture(params=["database", "python"])
def scoring(request, monkeypatch):
    if request.param == "database":
        if connection.vendor != "postgresql":
            pytest.skip("pg_trgm needs PostgreSQL (DATABASE_URL)")
        assert person_search.in_database()
    else:
        monkeypatch.setattr(person_search, "in_database", lambda: False)
    return request.param


@pytest.fixture
def darren(case):
    """Darren Mills, known on another team's family, with the names he also goes by."""
    other = CaseFactory(family_name="Walsh")
    person = PersonFactory(
        first_name="Darren",
        last_name="Mills",
        aliases="Daz Mills\nDarren Miles",
        date_of_birth=D(1991, 6, 14),
        nhs_number="9434765919",
    )
    MembershipFactory(case=other, person=person, relationship="partner")
    return person


@pytest.fixture
def others(db):
    """People who are not him."""
    return [
        PersonFactory(first_name=first, last_name=last, date_of_birth=D(1990, 1, 1))
        for first, last in (
            ("Sarah", "Jones"),
            ("Leanne", "Carter"),
            ("Darren", "Smith"),
            ("Mia", "Walsh"),
            ("Kayden", "Carter"),
        )
    ]


def found(user, **search):
    return queries.person_matches(user, **search)


def names(matches):
    return [m.person.full_name for m in matches]


def test_it_finds_him_by_name_alone(scoring, worker, darren, others):
    matches = found(worker, first_name="Darren", last_name="Mills")
    assert names(matches)[0] == "Darren Mills"
    assert matches[0].reasons == ["same name"]
    assert "Sarah Jones" not in names(matches) and "Darren Smith" not in names(matches)


def test_it_finds_him_spelled_another_way(scoring, worker, darren, others):
    matches = found(worker, first_name="Daren", last_name="Mils")
    assert names(matches) == ["Darren Mills"]
    # Closer still to one of his other names, which the page says too.
    assert matches[0].reasons == ["similar name", "known as Darren Miles"]


def test_it_finds_him_with_first_and_last_names_swapped(scoring, worker, darren, others):
    matches = found(worker, first_name="Mills", last_name="Darren")
    assert names(matches) == ["Darren Mills"]
    assert matches[0].reasons == ["same name, first and last swapped"]


def test_it_finds_him_by_a_name_he_also_goes_by(scoring, worker, darren, others):
    matches = found(worker, first_name="Daz", last_name="Mills")
    assert names(matches) == ["Darren Mills"]
    assert "known as Daz Mills" in matches[0].reasons


def test_it_finds_him_by_last_name_alone(scoring, worker, darren, others):
    matches = found(worker, last_name="Mills")
    assert names(matches) == ["Darren Mills"]
    assert matches[0].reasons[0] == "same last name"


def test_it_puts_the_same_nhs_number_first_whatever_the_name(scoring, worker, darren, others):
    namesake = PersonFactory(first_name="Darren", last_name="Mills", date_of_birth=None)
    matches = found(worker, first_name="D", last_name="Smith", nhs_number="943 476 5919")
    assert matches[0].person == darren
    assert matches[0].reasons[0] == "same NHS number"
    assert namesake not in [m.person for m in matches]


def test_it_ranks_the_closest_first(scoring, worker, darren, others):
    namesake = PersonFactory(first_name="Darren", last_name="Mill", date_of_birth=None)
    matches = found(worker, first_name="Darren", last_name="Mills")
    assert [m.person for m in matches][:2] == [darren, namesake]
    assert matches[0].score > matches[1].score
    matches = found(worker, first_name="Darren", last_name="Mill")
    assert [m.person for m in matches][:2] == [namesake, darren]


def test_it_finds_the_same_date_of_birth_with_a_name_partly_like_it(scoring, worker, others):
    married = PersonFactory(first_name="Amy", last_name="Mills", date_of_birth=D(2001, 2, 3))
    matches = found(worker, first_name="Amy", last_name="Jones", date_of_birth=D(2001, 2, 3))
    assert names(matches) == ["Amy Mills"]
    assert matches[0].reasons == ["same date of birth", "a name partly like it"]
    # The same date of birth with nothing of the name alike is not a match.
    assert (
        found(worker, first_name="Zoe", last_name="Quirke", date_of_birth=married.date_of_birth)
        == []
    )


def test_it_says_the_date_of_birth_matches_too(scoring, worker, darren):
    matches = found(worker, first_name="Daren", last_name="Mills", date_of_birth=D(1991, 6, 14))
    assert matches[0].reasons == ["similar name", "same date of birth"]


def test_it_leaves_out_people_known_only_on_restricted_cases_the_user_cannot_see(
    scoring, worker, case
):
    hidden = PersonFactory(first_name="Darren", last_name="Mills")
    restricted = CaseFactory(family_name="Hidden", restricted=True, team=worker.team)
    MembershipFactory(case=restricted, person=hidden, relationship="father")
    assert found(worker, first_name="Darren", last_name="Mills") == []

    # Named on the restricted case, the worker finds him and sees the case.
    restricted.restricted_to.add(worker)
    matches = found(worker, first_name="Darren", last_name="Mills")
    assert [m.person for m in matches] == [hidden]
    assert matches[0].visible_cases == [restricted]


def test_it_counts_the_cases_the_user_cannot_see_without_naming_them(scoring, worker, case):
    darren = PersonFactory(first_name="Darren", last_name="Mills")
    MembershipFactory(case=case, person=darren, relationship="father")
    MembershipFactory(case=CaseFactory(restricted=True), person=darren, relationship="father")
    MembershipFactory(case=CaseFactory(family_name="Elsewhere"), person=darren)
    [match] = found(worker, first_name="Darren", last_name="Mills")
    assert match.visible_cases == [case]
    assert match.other_case_count == 2


def test_it_leaves_out_records_merged_into_another(scoring, worker, darren):
    manager = UserFactory(role=roles.TEAM_MANAGER)
    darren.merged_into = PersonFactory(first_name="Darren", last_name="Mills", date_of_birth=None)
    darren.merged_at, darren.merged_by = datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC), manager
    darren.save()
    assert [m.person for m in found(worker, first_name="Darren", last_name="Mills")] == [
        darren.merged_into
    ]


def test_it_searches_for_nothing_when_given_nothing(scoring, worker, darren):
    assert found(worker, last_name="  ") == []


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_python_scores_are_pg_trgms(db):
    pairs = [
        ("Darren Mills", "Darren Mills"),
        ("Daren Mils", "Darren Mills"),
        ("Mills Darren", "Darren Mills"),
        ("Jon", "John"),
        ("Mohammed Khan", "Muhammad Khan"),
        ("O'Neill", "ONeil"),
        ("Zoë", "Zoe"),
        ("Darren Mills", "Daz Mills\nDarren Miles"),
        ("Mils", "Daz Mills\nDarren Miles"),
        ("Daren Mils", "Daz Mills\nDarren Miles"),
        ("Amy Jones", "Amy Smith-Jones\nAmy J"),
        ("Leanne", "Lee-Anne Carter\nLeanne C"),
        ("", "Darren"),
        ("a", "ab abc abcd a"),
    ]
    with connection.cursor() as cursor:
        for a, b in pairs:
            cursor.execute("SELECT similarity(%s, %s), word_similarity(%s, %s)", [a, b, a, b])
            similarity, word_similarity = cursor.fetchone()
            assert trigrams.similarity(a, b) == pytest.approx(similarity, abs=1e-6), (a, b)
            assert trigrams.word_similarity(a, b) == pytest.approx(word_similarity, abs=1e-6), (
                a,
                b,
            )
