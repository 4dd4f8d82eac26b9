"""How a person is named on pages, exports and charts, an unborn child not yet named
included."""

import datetime

import pytest
from django.urls import reverse

from cases.models import Person
from tests.factories import CaseFactory, MembershipFactory, PersonFactory

D = datetime.date


def person(first="", middle="", last="", born=None, due=None):
    return Person(
        first_name=first,
        middle_names=middle,
        last_name=last,
        date_of_birth=born,
        expected_date_of_birth=due,
    )


def test_a_named_person_goes_by_their_names():
    p = person("Amy", "Jo", "Carter", born=D(2019, 3, 27))
    assert p.display_name == "Amy Jo Carter"
    assert p.short_name == p.short_name_in_text == "Amy"


def test_a_named_unborn_child_goes_by_their_names():
    p = person("Rosa", last="Carter", due=D(2026, 6, 1))
    assert p.display_name == "Rosa Carter"
    assert p.short_name == p.short_name_in_text == "Rosa"


def test_an_unborn_child_not_yet_named_is_the_unborn_baby():
    p = person(due=D(2026, 6, 1))
    assert p.display_name == "Unborn baby"
    assert p.short_name == "Unborn baby"
    assert p.short_name_in_text == "unborn baby"


def test_an_unborn_child_with_only_the_family_name_is_shown_by_it_and_first_name_unborn_baby():
    p = person(last="Carter", due=D(2026, 6, 1))
    assert p.display_name == "Carter"
    assert p.short_name == "Unborn baby"
    assert p.short_name_in_text == "unborn baby"


def test_a_born_child_with_no_first_name_goes_by_the_family_name_not_unborn_baby():
    p = person(last="Carter", born=D(2026, 1, 2))
    assert p.display_name == "Carter"
    assert p.short_name == p.short_name_in_text == "Carter"


def test_a_child_with_no_dates_and_no_first_name_is_called_as_before():
    p = person(last="Carter")
    assert p.display_name == "Carter"
    assert p.short_name == "Unborn baby"


@pytest.mark.django_db
def test_the_case_pages_name_an_unborn_baby_and_escape_names(client, worker):
    case = CaseFactory(team=worker.team, opened_on=D(2026, 1, 5))
    case.allocated_workers.add(worker)
    unborn = PersonFactory(
        first_name="",
        last_name="<b>Carter</b>",
        date_of_birth=None,
        expected_date_of_birth=D(2026, 6, 1),
    )
    MembershipFactory(case=case, person=unborn, start_date=D(2026, 1, 5))
    client.force_login(worker)
    listing = client.get(reverse("cases:list")).content.decode()
    assert "Unborn baby" in listing
    page = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "&lt;b&gt;Carter&lt;/b&gt;" in page
    assert "<b>Carter</b>" not in page
