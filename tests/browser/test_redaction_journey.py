"""A worker asks for a redacted chronology, reviews the preview, leaves one candidate in,
adds a term, approves and downloads the PDF; every page passes axe-core."""

import datetime
import shutil
import subprocess

import pytest

from accounts.models import AccessLog
from chronologies import services
from chronologies.models import RedactionReview
from tests.browser.conftest import ARTIFACTS
from tests.browser.signing_in import sign_in
from tests.factories import CaseFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_reviews_approves_and_downloads_a_redacted_chronology(
    page, axe, screenshot, password, tmp_path
):
    team = TeamFactory(name="North Assessment", code="north")
    worker = UserFactory(username="amira", first_name="Amira", last_name="Hussain", team=team)
    case = CaseFactory(team=team, family_name="Walsh", opened_on=datetime.date(2025, 6, 1))
    case.allocated_workers.add(worker)
    child = MembershipFactory(
        case=case, person__first_name="Tyler", person__last_name="Walsh"
    ).person
    services.entry_add_manual(
        actor=worker,
        case=case,
        data=services.ManualEntryInput(
            occurred_on=datetime.date(2026, 1, 10),
            title="Mrs Whitfield reports shouting",
            details=(
                "Mrs Whitfield (Janet) from Elm Road called. She lives at 12 Elm Road, "
                "NR1 3AB. Dr Osei at the surgery and Mr Patel at the shop <script>x</script> "
                "heard it too. Whitfield's dog barked by Elmwood Park."
            ),
            informant_type="neighbour",
            informant_name="Janet Whitfield",
            informant_address="12 Elm Road, Norwich NR1 3AB",
            children=[child],
            significance="significant",
        ),
    )

    sign_in(page, "amira", password, lands_on="**/dashboards/mine/")
    page.goto(f"/cases/{case.pk}/chronology/")
    page.get_by_label("Sharing outside the agency").check()
    page.get_by_role("button", name="Export chronology").click()
    page.get_by_role("heading", name="Review the redacted chronology").wait_for()
    axe.check(page, "redaction review")
    preview = page.locator(".app-redaction-preview").inner_text()
    assert "<script>x</script>" in preview  # shown as text
    assert "[neighbour]" in preview and "[neighbour's address]" in preview
    screenshot(page, "redaction-review-1280")
    page.set_viewport_size({"width": 320, "height": 800})
    screenshot(page, "redaction-review-320")
    page.set_viewport_size({"width": 1280, "height": 900})

    # No approval without the confirmation.
    page.get_by_role("button", name="Approve and export").click()
    page.get_by_text("Confirm that you have reviewed").first.wait_for()
    axe.check(page, "approval refused")

    page.get_by_label("Redact “Osei”").uncheck()
    page.get_by_label("Other words or phrases to redact").fill("the surgery")
    page.get_by_role("button", name="Update the preview").click()
    page.get_by_text("Preview updated").wait_for()
    preview = page.locator(".app-redaction-preview").inner_text()
    assert "Dr Osei" in preview and "[redacted]" in preview
    page.get_by_label("I have reviewed this redacted chronology and approve its release").check()
    page.get_by_role("button", name="Approve and export").click()
    page.get_by_role("link", name="Download the PDF").wait_for()
    axe.check(page, "redacted export ready")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the PDF").click()
    target = tmp_path / "redacted.pdf"
    info.value.save_as(target)
    text = " ".join(
        subprocess.run(["pdftotext", str(target), "-"], capture_output=True, check=True)
        .stdout.decode()
        .split()
    )
    for secret in ("Whitfield", "Janet", "Elm Road", "NR1", "Patel", "surgery"):
        assert secret not in text, secret
    assert "Dr Osei at [redacted]" in text and "Elmwood Park" in text
    assert "approved for release by Amira Hussain" in text
    review = RedactionReview.objects.get(export__case=case)
    assert review.approved_by == worker and review.candidates_left >= 1
    assert AccessLog.objects.filter(user=worker, what__startswith="approved redacted").exists()
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", str(target), str(tmp_path / "page")], check=True
    )
    pngs = sorted(tmp_path.glob("page*.png"))
    assert len(pngs) == 2
    for png in pngs:  # kept with the screenshots, to look at
        shutil.copy(png, ARTIFACTS / f"redacted-pdf-{png.name}")
    assert page.console_errors == []
