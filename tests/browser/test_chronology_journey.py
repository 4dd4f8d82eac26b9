"""A worker filters a chronology, exports it as a PDF and downloads it; every page
passes axe-core."""

import datetime
import subprocess

import pytest

from chronologies import services
from tests.browser.signing_in import sign_in
from tests.factories import AgencyFactory, CaseFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_filters_exports_and_downloads_a_chronology(page, axe, screenshot, password, tmp_path):
    team = TeamFactory(name="North Assessment", code="north")
    worker = UserFactory(username="amira", first_name="Amira", last_name="Hussain", team=team)
    case = CaseFactory(team=team, family_name="Walsh", opened_on=datetime.date(2025, 6, 1))
    case.allocated_workers.add(worker)
    child = MembershipFactory(
        case=case, person__first_name="Tyler", person__last_name="Walsh"
    ).person
    school = AgencyFactory(name="Oak Primary School", kind="school")
    entries = []
    for day, title, agency, informant in (
        (datetime.date(2026, 1, 10), "School reports Tyler hungry", school, ""),
        (datetime.date(2026, 2, 3), "Neighbour heard shouting", None, "neighbour"),
    ):
        entry = services.entry_add_manual(
            actor=worker,
            case=case,
            data=services.ManualEntryInput(
                occurred_on=day,
                title=title,
                details="Reported by phone",
                agency=agency,
                informant_type=informant,
                children=[child],
                significance="significant",
            ),
        )
        entries.append(entry)

    sign_in(page, "amira", password, lands_on="**/dashboards/mine/")
    page.goto(f"/cases/{case.pk}/")
    page.get_by_role("link", name="Open the chronology").click()
    axe.check(page, "chronology")
    page.get_by_label("Source").select_option(label="Oak Primary School")
    page.get_by_role("button", name="Apply filters").click()
    assert "source=agency-" in page.url and "Walsh" not in page.url
    timeline = page.locator(".moj-timeline")
    assert "School reports Tyler hungry" in timeline.inner_text()
    assert "Neighbour heard shouting" not in timeline.inner_text()
    axe.check(page, "chronology filtered")
    page.get_by_role("button", name="Export chronology").click()
    page.get_by_role("link", name="Download the PDF").wait_for()
    axe.check(page, "export ready")
    screenshot(page, "chronology-export")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the PDF").click()
    target = tmp_path / "c.pdf"
    info.value.save_as(target)
    text = subprocess.run(
        ["pdftotext", str(target), "-"], capture_output=True, check=True
    ).stdout.decode()
    assert "School reports Tyler hungry" in text and "Neighbour heard" not in text
    assert "OFFICIAL-SENSITIVE" in text and "Source: Oak Primary School" in text

    # The neighbour's report is corrected from its own page, starting from what is stored.
    neighbour = entries[1]
    page.goto(f"/cases/{case.pk}/chronology/{neighbour.pk}/")
    page.get_by_role("link", name="Change this entry").click()
    axe.check(page, "change a chronology entry")
    assert page.get_by_role("textbox", name="Summary").input_value() == "Neighbour heard shouting"
    page.get_by_label("Action taken").fill("Unannounced visit booked for Friday evening")
    page.get_by_role("button", name="Save entry").click()
    page.wait_for_url(f"**/cases/{case.pk}/chronology/**")
    neighbour.refresh_from_db()
    assert neighbour.action_taken == "Unannounced visit booked for Friday evening"
    assert neighbour.title == "Neighbour heard shouting" and neighbour.informant_type == "neighbour"
    page.goto(f"/cases/{case.pk}/chronology/analysis/")
    axe.check(page, "analysis")
    assert page.console_errors == []
