"""The written agreement on the case page, and its pages."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from cases import services
from cases.models import AgreementBreach, WrittenAgreement
from chronologies.models import ChronologyEntry
from tests.factories import (
    MembershipFactory,
    RecordedVisitFactory,
    TeamFactory,
    UserFactory,
    WrittenAgreementFactory,
)

D = datetime.date
TODAY = timezone.make_aware(datetime.datetime(2026, 3, 20, 12, 0))


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(TODAY, tick=False):
        yield


def date_data(name, day):
    return {f"{name}-day": day.day, f"{name}-month": day.month, f"{name}-year": day.year}


def test_it_records_an_agreement_from_its_page(signed_in, worker, case, settings):
    settings.WRITTEN_AGREEMENT_REVIEW_WORKING_DAYS = 20
    mother = MembershipFactory(case=case, relationship="parent", start_date=D(2026, 1, 5)).person

    response = signed_in.post(
        reverse("cases:agreement_add", args=[case.pk]),
        {
            "unacceptable_behaviour": "Shouting at staff",
            "family_agrees": "Speak calmly; show the bedrooms",
            "consequences": ["office_only", "other"],
            "consequence_other": "Letter before proceedings",
            "agreed_by": [str(mother.pk)],
            **date_data("agreed_on", D(2026, 3, 2)),
        },
    )

    assert response.status_code == 302
    agreement = WrittenAgreement.objects.get(case=case)
    assert agreement.consequences == ["office_only", "other"]
    assert list(agreement.agreed_by.all()) == [mother]
    assert agreement.review_due == D(2026, 3, 30)  # 20 working days, no holiday between
    assert agreement.history.first().history_user == worker


def test_it_shows_the_agreement_in_force_with_its_review_overdue(signed_in, case):
    agreement = WrittenAgreementFactory(case=case, review_due=D(2026, 3, 16))
    AgreementBreach.objects.create(
        agreement=agreement,
        occurred_on=D(2026, 3, 3),
        what_happened="Refused entry",
        created_at=TODAY,
        created_by=agreement.created_by,
    )

    html = signed_in.get(reverse("cases:detail", args=[case.pk])).content.decode()

    assert "Written agreement in force" in html
    assert "bedrooms at every visit" in html
    assert "Visits only by two workers together" in html
    assert "Review overdue by 4 days" in html
    assert "Refused entry" in html
    assert reverse("cases:agreement_breach", args=[case.pk, agreement.pk]) in html


def test_it_shows_a_review_due_soon(signed_in, case):
    WrittenAgreementFactory(case=case, review_due=D(2026, 3, 23))

    html = signed_in.get(reverse("cases:detail", args=[case.pk])).content.decode()

    assert "Review due in 3 days" in html


def test_it_shows_no_agreement_once_ended(signed_in, case):
    WrittenAgreementFactory(case=case, ended_on=D(2026, 3, 1), end_reason="Kept for a month")

    html = signed_in.get(reverse("cases:detail", args=[case.pk])).content.decode()

    assert "No written agreement is in force." in html
    assert "Earlier agreements (1)" in html


def test_it_escapes_what_was_typed_on_the_case_page(signed_in, case):
    agreement = WrittenAgreementFactory(
        case=case,
        unacceptable_behaviour="<script>alert(1)</script>",
        family_agrees='<b onmouseover="x">calm</b>',
    )
    AgreementBreach.objects.create(
        agreement=agreement,
        occurred_on=D(2026, 3, 3),
        what_happened="<img src=x onerror=alert(2)>",
        created_at=TODAY,
        created_by=agreement.created_by,
    )

    html = signed_in.get(reverse("cases:detail", args=[case.pk])).content.decode()

    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "<b onmouseover" not in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html


def test_it_records_a_breach_from_a_visit_on_its_page(signed_in, worker, case):
    agreement = WrittenAgreementFactory(case=case)
    visit = RecordedVisitFactory(case=case, outcome="completed", lead_worker=worker)

    response = signed_in.post(
        reverse("cases:agreement_breach", args=[case.pk, agreement.pk]),
        {
            "what_happened": "Bedrooms not shown",
            "visit": str(visit.pk),
            **date_data("occurred_on", D(2026, 3, 18)),
        },
    )

    assert response.status_code == 302
    breach = AgreementBreach.objects.get()
    assert breach.visit == visit and breach.created_by == worker
    entry = ChronologyEntry.objects.get(source_type="agreement_breach", source_id=str(breach.pk))
    assert entry.title == "Written agreement not kept (seen on a visit)"


def test_it_ends_an_agreement_from_its_page(signed_in, case):
    agreement = WrittenAgreementFactory(case=case)

    response = signed_in.post(
        reverse("cases:agreement_end", args=[case.pk, agreement.pk]),
        {"reason": "Reviewed: no longer needed", **date_data("ended_on", D(2026, 3, 19))},
    )

    assert response.status_code == 302
    agreement.refresh_from_db()
    assert agreement.ended_on == D(2026, 3, 19)


def test_it_marks_a_breach_in_error_from_its_page(signed_in, case):
    agreement = WrittenAgreementFactory(case=case)
    breach = AgreementBreach.objects.create(
        agreement=agreement,
        occurred_on=D(2026, 3, 3),
        what_happened="x",
        created_at=TODAY,
        created_by=agreement.created_by,
    )

    response = signed_in.post(
        reverse("cases:mark_in_error", args=[case.pk, "breach", breach.pk]),
        {"reason": "Other family"},
    )

    assert response.status_code == 302
    breach.refresh_from_db()
    assert breach.in_error and breach.in_error_reason == "Other family"


def test_it_refuses_someone_outside_the_team_with_404(client, case):
    agreement = WrittenAgreementFactory(case=case)
    outsider = UserFactory(team=TeamFactory(), role=roles.SOCIAL_WORKER)
    client.force_login(outsider)
    rows = agreement.history.count()

    for url in (
        reverse("cases:agreement_add", args=[case.pk]),
        reverse("cases:agreement_edit", args=[case.pk, agreement.pk]),
        reverse("cases:agreement_end", args=[case.pk, agreement.pk]),
        reverse("cases:agreement_breach", args=[case.pk, agreement.pk]),
        reverse("cases:mark_in_error", args=[case.pk, "agreement", agreement.pk]),
    ):
        assert client.get(url).status_code == 404
        assert client.post(url, {"reason": "x", "what_happened": "x"}).status_code == 404
    assert not AgreementBreach.objects.exists()
    assert agreement.history.count() == rows


def test_it_lists_agreement_changes_in_the_case_history(signed_in, worker, case):
    agreement = services.agreement_create(
        actor=worker,
        case=case,
        unacceptable_behaviour="Threats",
        family_agrees="Calm <voices>",
        consequences=["office_only"],
        agreed_on=D(2026, 3, 2),
    )
    services.agreement_breach_record(
        actor=worker, agreement=agreement, occurred_on=D(2026, 3, 3), what_happened="Shouted"
    )

    html = signed_in.get(reverse("cases:history", args=[case.pk])).content.decode()

    assert "Written agreement" in html
    assert "Breach of the written agreement" in html
    assert "Calm <voices>" not in html


def test_it_shows_the_error_beside_the_other_consequence_and_keeps_what_was_typed(signed_in, case):
    response = signed_in.post(
        reverse("cases:agreement_add", args=[case.pk]),
        {
            "unacceptable_behaviour": "Threats <to> staff",
            "family_agrees": "Calm",
            "consequences": ["other"],
            **date_data("agreed_on", D(2026, 3, 2)),
        },
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter the other consequence" in html
    assert 'href="#id_consequence_other"' in html
    assert "Threats &lt;to&gt; staff" in html
    assert not WrittenAgreement.objects.exists()


def test_it_reads_agreements_through_the_api_for_those_who_may_see_the_case(client, case):
    from tests.factories import api_token_for

    agreement = WrittenAgreementFactory(case=case, family_agrees="Calm <voices>")
    AgreementBreach.objects.create(
        agreement=agreement,
        occurred_on=D(2026, 3, 3),
        what_happened="Shouted",
        created_at=TODAY,
        created_by=agreement.created_by,
    )
    url = reverse("writtenagreement-detail", args=[agreement.pk])
    worker = case.allocated_workers.get()
    outsider = UserFactory(team=TeamFactory(), role=roles.SOCIAL_WORKER)

    mine = client.get(url, HTTP_AUTHORIZATION=f"Token {api_token_for(worker)}")
    theirs = client.get(url, HTTP_AUTHORIZATION=f"Token {api_token_for(outsider)}")
    post = client.post(
        reverse("writtenagreement-list"),
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {api_token_for(worker)}",
    )

    assert mine.status_code == 200
    assert mine.json()["family_agrees"] == "Calm <voices>"
    assert [b["what_happened"] for b in mine.json()["breaches"]] == ["Shouted"]
    assert theirs.status_code == 404
    assert post.status_code == 405
