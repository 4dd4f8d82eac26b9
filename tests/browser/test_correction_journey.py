"""A worker corrects an address and a meeting from the case page; a colleague's change
saved meanwhile is shown to them, with what they typed kept."""

import datetime

import pytest

from cases import services
from cases.models import Address, Meeting
from tests.browser.signing_in import sign_in
from tests.factories import (
    AddressFactory,
    AgencyFactory,
    CaseFactory,
    MeetingFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_corrects_records_and_shows_a_colleague_s_change(page, axe, password):
    team = TeamFactory(name="North Assessment", code="north")
    worker = UserFactory(username="amira", first_name="Amira", last_name="Hussain", team=team)
    colleague = UserFactory(username="ravi", first_name="Ravi", last_name="Shah", team=team)
    case = CaseFactory(team=team, family_name="Carter", created_by=worker)
    case.allocated_workers.add(worker)
    address = AddressFactory(
        case=case,
        line_1="12 Mill Lane",
        town="Northtown",
        postcode="LS2 7HY",
        start_date=datetime.date(2026, 1, 5),
    )
    meeting = MeetingFactory(case=case, kind="strategy", chair="Grace Okafor", created_by=worker)
    meeting.agencies.set([AgencyFactory(name="Northtown Primary")])

    sign_in(page, "amira", password)
    page.goto(f"/cases/{case.pk}/")
    page.get_by_role("link", name="Correct 12 Mill Lane").click()
    axe.check(page, "correct an address")
    assert page.get_by_label("Address line 1").input_value() == "12 Mill Lane"
    assert page.get_by_label("Postcode").input_value() == "LS2 7HY"

    # Ravi corrects the same address while Amira has the form open.
    services.address_update(actor=colleague, address=address, line_1="14 Mill Lane")

    page.get_by_label("Town or city").fill("Southtown")
    page.get_by_role("button", name="Save address").click()
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert "Ravi Shah changed this address" in summary.inner_text()
    assert page.get_by_label("Town or city").input_value() == "Southtown"
    axe.check(page, "correct an address: changed meanwhile")
    assert Address.objects.get(pk=address.pk).town == "Northtown"

    page.get_by_label("Address line 1").fill("14 Mill Lane")
    page.get_by_role("button", name="Save address").click()
    page.get_by_text("Address saved").wait_for()
    address.refresh_from_db()
    assert (address.line_1, address.town) == ("14 Mill Lane", "Southtown")

    page.get_by_role("link", name="Correct the strategy discussion").click()
    axe.check(page, "correct a meeting")
    assert page.get_by_role("checkbox", name="Northtown Primary").is_checked()
    page.get_by_label("Chair").fill("Grace Okafor, team manager")
    page.get_by_role("button", name="Save meeting").click()
    page.get_by_text("Strategy discussion saved").wait_for()
    meeting = Meeting.objects.get(pk=meeting.pk)
    assert meeting.chair == "Grace Okafor, team manager"
    assert [a.name for a in meeting.agencies.all()] == ["Northtown Primary"]
    assert page.console_errors == []
