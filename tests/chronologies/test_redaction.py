"""Redacted chronology exports: every part of informants' and third parties' names and
addresses removed, candidates reviewed, and nothing released without approval."""

import datetime
import subprocess

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import AccessLog
from chronologies import redaction, services
from chronologies.models import ChronologyExport, RedactionReview
from tests.factories import CaseFactory, MembershipFactory, UserFactory

D = datetime.date
EXAMPLE = (
    "Mrs Whitfield (Janet) from Elm Road called about shouting. She lives at 12 Elm Road, "
    "postcode NR1 3AB (she wrote nr13ab). Whitfield's dog barks at the Elmwood Park gate. "
    "Call her on 07700 900123 or janet.w@example.org. Mr Okonkwo from the shop saw it too."
)


@pytest.fixture
def case(worker):
    case = CaseFactory(team=worker.team, family_name="Walsh", opened_on=D(2025, 6, 1))
    case.allocated_workers.add(worker)
    return case


@pytest.fixture
def child(case):
    return MembershipFactory(
        case=case, person__first_name="Tyler", person__last_name="Walsh", start_date=D(2025, 6, 1)
    ).person


@pytest.fixture
def mother(case):
    return MembershipFactory(
        case=case,
        relationship="mother",
        person__first_name="Kerry",
        person__last_name="Walsh",
        start_date=D(2025, 6, 1),
    ).person


@pytest.fixture
def partner(case):
    return MembershipFactory(
        case=case,
        relationship="partner",
        person__first_name="Darren",
        person__last_name="Fletcher",
        person__aliases="Daz Fletch\nDarren Smith",
        lives_in_household=False,
        start_date=D(2025, 6, 1),
    ).person


def add(worker, case, **kw):
    data = dict(occurred_on=D(2026, 1, 10), title="Report", details="Reported by phone")
    data.update(kw)
    if "agency" not in kw and "informant_type" not in kw:
        data["informant_type"] = "neighbour"
    return services.entry_add_manual(
        actor=worker, case=case, data=services.ManualEntryInput(**data)
    )


@pytest.fixture
def example(worker, case, child, mother, partner):
    return add(
        worker,
        case,
        title="Mrs Whitfield reports shouting at the Walsh home",
        details=EXAMPLE,
        analysis="Janet Whitfield is a reliable witness; Darren was at the house.",
        action_taken="Visit booked; Daz Fletch to be seen. Whitfield's report shared.",
        informant_type="neighbour",
        informant_name="Janet Whitfield",
        informant_address="12 Elm Road, Norwich NR1 3AB",
        children=[child],
    )


def request_redacted(worker, case, fmt="pdf", **kw):
    return services.export_request(
        actor=worker, case=case, format=fmt, redacted=True, in_error="strike", filters={}, **kw
    )


def approve(worker, export, **kw):
    state = services.redaction_review_state(export)
    export = services.redaction_review_approve(
        actor=worker, export=export, version=state.version, confirmed=True, **kw
    )
    return services.export_start(export)


def pdf_text(export) -> str:
    data = (services.export_dir() / export.file_name).read_bytes()
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    return " ".join(text.split())  # lines joined: a phrase may wrap


def test_it_redacts_every_part_of_the_issue_example(worker, case, example):
    export = approve(worker, request_redacted(worker, case))
    assert export.status == "done", export.error
    text = pdf_text(export)
    for secret in ("Whitfield", "Janet", "Elm Road", "12 Elm", "NR1", "nr13ab", "3AB"):
        assert secret not in text, secret
    for secret in ("07700", "janet.w@", "Okonkwo", "Darren", "Fletcher", "Daz", "Fletch"):
        assert secret not in text, secret
    # Word boundaries: Elmwood is not Elm; the possessive goes with the name.
    assert "Elmwood Park" in text
    assert "[neighbour]'s dog" in text and "[neighbour]'s report" in text
    assert "from [neighbour's address] called" in text
    assert "lives at [neighbour's address]" in text and "postcode [neighbour's address]" in text
    # The family stays: the child and his mother.
    assert "Tyler Walsh" in text and "Walsh home" in text


def test_it_uses_the_same_label_for_one_person_everywhere(worker, case, example, partner):
    other = add(
        worker,
        case,
        occurred_on=D(2026, 2, 1),
        title="Second neighbour",
        details="Bob Harris next door says Janet Whitfield exaggerates. Darren Fletcher denies it.",
        informant_type="neighbour",
        informant_name="Bob Harris",
        informant_address="14 Elm Road",
    )
    export = request_redacted(worker, case)
    state = services.redaction_review_state(export)
    plan = state.review.plan
    assert plan.apply("Janet Whitfield, Whitfield and Mrs J Whitfield") == (
        "[neighbour 1], [neighbour 1] and [neighbour 1]"
    )
    assert plan.apply(other.details) == (
        "[neighbour 2] next door says [neighbour 1] exaggerates. [partner of a parent] denies it."
    )
    assert plan.apply("Daz Fletch, Darren Smith") == "[partner of a parent], [partner of a parent]"
    assert plan.apply("14 Elm Road and 12 Elm Road") == (
        "[neighbour 2's address] and [neighbour 1's address]"
    )


def test_it_redacts_every_field(worker, case, child, partner):
    entry = add(
        worker,
        case,
        title="Darren at the door",
        details="Darren shouted",
        analysis="Fletcher is a risk",
        action_taken="Tell Darren Fletcher's probation officer",
        children=[child],
    )
    services.entry_mark_in_error(actor=worker, entry=entry, reason="Darren was not there")
    export = approve(worker, request_redacted(worker, case, fmt="csv"))
    data = (services.export_dir() / export.file_name).read_text("utf-8-sig")
    assert "Darren" not in data and "Fletcher" not in data
    assert data.count("[partner of a parent]") == 5


def test_it_lists_candidates_and_records_a_leave_decision(worker, case, example):
    export = request_redacted(worker, case)
    state = services.redaction_review_state(export)
    found = {c.text: c for c in state.review.candidates}
    assert found["07700 900123"].kind == "phone number" and found["07700 900123"].redacted
    assert found["janet.w@example.org"].kind == "email address"
    assert found["Okonkwo"].kind == "name" and found["Okonkwo"].redacted
    assert found["Tyler"].kind == "family name" and not found["Tyler"].redacted
    assert "Whitfield" not in found and "Elm Road" not in found  # already redacted

    services.redaction_review_update(
        actor=worker,
        export=export,
        shown=[c.key for c in state.review.candidates],
        redact=[c.key for c in state.review.candidates if c.text != "Okonkwo"],
        added_terms="the shop\n  the shop \nElmwood Park",
    )
    export = approve(worker, export)
    text = pdf_text(export)
    assert "Mr Okonkwo" in text  # left in, as decided
    assert "from [redacted] saw" in text and "[redacted] gate" in text
    assert "Elmwood" not in text and "07700" not in text and "[phone number]" in text
    review = RedactionReview.objects.get(export=export)
    assert review.decisions[redaction.normal_key("Okonkwo")] == redaction.LEAVE
    assert review.added_terms == ["the shop", "Elmwood Park"]
    assert review.terms_added == 2 and review.candidates_left >= 1
    assert review.approved_by == worker and review.automatic_redactions >= 10
    assert review.history.filter(history_change_reason="Approved for release").exists()


def test_it_releases_no_file_without_approval(worker, case, example, client):
    export = request_redacted(worker, case)
    assert export.status == "review" and not export.file_name
    # The render leaves an export waiting for review alone; forced, it refuses.
    assert services.export_render(export.pk).status == "review"
    ChronologyExport.objects.filter(pk=export.pk).update(status="queued")
    with pytest.raises(ValidationError):
        services.export_render(export.pk)
    export.refresh_from_db()
    assert export.status == "failed" and not export.file_name
    assert export.error == services.NOT_APPROVED
    export = request_redacted(worker, case)
    state = services.redaction_review_state(export)
    with pytest.raises(ValidationError) as error:
        services.redaction_review_approve(
            actor=worker, export=export, version=state.version, confirmed=False
        )
    assert "confirm" in error.value.message_dict
    other = UserFactory(team=worker.team)
    with pytest.raises(PermissionDenied):
        services.redaction_review_approve(
            actor=other, export=export, version=state.version, confirmed=True
        )
    # Approving what is no longer what the preview showed is refused.
    add(worker, case, details="A new entry naming Mrs Patel")
    with pytest.raises(ValidationError):
        services.redaction_review_approve(
            actor=worker, export=export, version=state.version, confirmed=True
        )
    export.refresh_from_db()
    assert export.status == "review"

    client.force_login(worker)
    response = client.post(
        reverse("chronologies:approve", args=[case.pk, export.pk]),
        {"version": services.redaction_review_state(export).version},
    )
    assert response.status_code == 400
    assert "Confirm that you have reviewed" in response.content.decode()
    download = client.get(reverse("chronologies:download", args=[case.pk, export.pk]))
    assert download.status_code == 404


def test_it_refuses_a_render_when_entries_changed_after_approval(worker, case, example):
    export = request_redacted(worker, case)
    state = services.redaction_review_state(export)
    export = services.redaction_review_approve(
        actor=worker, export=export, version=state.version, confirmed=True
    )
    example.details += " Also Mrs Patel."
    example.save()
    with pytest.raises(ValidationError):
        services.export_render(export.pk)
    export.refresh_from_db()
    assert export.status == "failed" and "changed after" in export.error


def test_the_api_leaves_a_redacted_export_for_review_on_the_page(worker, case, example):
    api = APIClient()
    api.force_authenticate(worker)
    response = api.post(
        f"/api/v1/cases/{case.pk}/chronology-exports/",
        {"format": "pdf", "redacted": True},
        format="json",
    )
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "review" and body["download_url"] is None
    assert body["review_url"] == reverse("chronologies:review", args=[case.pk, body["id"]])
    export = ChronologyExport.objects.get(pk=body["id"])
    assert not export.file_name
    download = api.get(f"/api/v1/cases/{case.pk}/chronology-exports/{export.pk}/download/")
    assert download.status_code == 404
    approve(worker, export)
    ready = api.get(f"/api/v1/cases/{case.pk}/chronology-exports/{export.pk}/").json()
    assert ready["status"] == "done" and ready["review_url"] is None
    data = b"".join(api.get(ready["download_url"]).streaming_content)
    assert data.startswith(b"%PDF")


def test_the_pages_review_decide_approve_and_log(client, worker, case, example):
    client.force_login(worker)
    response = client.post(
        reverse("chronologies:export_request", args=[case.pk]),
        {"format": "pdf", "redacted": "yes", "in_error": "leave_out"},
    )
    export = ChronologyExport.objects.get(case=case)
    review_url = reverse("chronologies:review", args=[case.pk, export.pk])
    assert response.status_code == 302 and response.url == review_url
    body = client.get(review_url).content.decode()
    assert "Remaining candidates" in body and "Okonkwo" in body
    assert "I have reviewed this redacted chronology and approve its release" in body
    state = services.redaction_review_state(export)
    keys = [c.key for c in state.review.candidates]
    response = client.post(
        review_url,
        {"shown": keys, "redact": [k for k in keys if k != "okonkwo"], "added_terms": "the shop"},
    )
    assert response.status_code == 302
    body = client.get(review_url).content.decode()
    assert "app-redaction--left" in body and "[redacted]" in body
    version = services.redaction_review_state(export).version
    response = client.post(
        reverse("chronologies:approve", args=[case.pk, export.pk]),
        {"version": version, "confirm": "on"},
    )
    assert response.status_code == 302
    export.refresh_from_db()
    assert export.status == "done"
    log = AccessLog.objects.get(user=worker, what__startswith="approved redacted chronology")
    assert f"export {export.pk}" in log.what and "1 added" in log.what
    # Once approved there is nothing left to review: the page shows the export.
    assert client.get(review_url).status_code == 302


def test_the_preview_escapes_what_users_typed(client, worker, case, child):
    add(
        worker,
        case,
        title='<script>alert("t")</script> Mrs Whitfield',
        details="<img src=x onerror=alert(1)> told by <b>Whitfield</b> & Tyler",
        informant_name="Janet Whitfield",
    )
    export = request_redacted(worker, case)
    client.force_login(worker)
    body = client.get(reverse("chronologies:review", args=[case.pk, export.pk])).content.decode()
    assert (
        "<script>alert" not in body and "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in body
    )
    assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body
    assert "&lt;b&gt;<mark" in body and "&amp; <mark" in body


def test_it_keeps_words_that_only_contain_a_name_and_lower_case_words():
    rules = redaction.automatic_rules(
        [redaction.Identity("neighbour", ["Rose Elm"], ["3 Elm Road"])], []
    )
    plan = redaction.Plan(rules)
    assert plan.apply("Elmwood and Roseberry; a rose by the elm") == (
        "Elmwood and Roseberry; a rose by the elm"
    )
    assert plan.apply("ROSE ELM and Rose's sister at 3 elm road") == (
        "[neighbour] and [neighbour]'s sister at [neighbour's address]"
    )


def test_it_finds_candidates_by_pattern():
    text = (
        "Seen at 4 Mill Lane and on Station Road, post code nr13ab or NR1 3AB; "
        "ring 01603 123456 or +44 7700 900123, mail a.b@example.org, NHS 943 476 5919, "
        "car AB12 CDE, @someone online. Dr Chen and Ms Lee Park came. The Family Court sat."
    )
    found = {c.text: c.kind for c in redaction.find_candidates([text], redaction.Plan([]), [])}
    assert found["4 Mill Lane"] == "house number and street"
    assert found["Station Road"] == "street"
    assert found["NR1 3AB"] == "postcode"  # both spellings are one term
    assert found["01603 123456"] == found["+44 7700 900123"] == "phone number"
    assert found["a.b@example.org"] == "email address"
    assert found["943 476 5919"] == "NHS number"
    assert found["AB12 CDE"] == "vehicle registration"
    assert found["@someone"] == "social media handle"
    assert found["Chen"] == found["Lee Park"] == "name"
    assert "Family Court" not in found and "Court" not in found
    candidates = redaction.find_candidates([text], redaction.Plan([]), [])
    redact, left = redaction.candidate_rules(candidates)
    plan = redaction.Plan(redact, left)
    assert plan.apply("nr1 3ab, NR13AB and Dr Chen") == "[postcode], [postcode] and [third party 1]"


def test_only_the_requester_reviews(client, worker, case, example):
    export = request_redacted(worker, case)
    colleague = UserFactory(team=worker.team)
    client.force_login(colleague)
    for name in ("chronologies:review", "chronologies:approve"):
        url = reverse(name, args=[case.pk, export.pk])
        assert client.get(url).status_code == 403
        assert client.post(url, {"confirm": "on"}).status_code == 403
    stranger = UserFactory()
    client.force_login(stranger)
    assert client.get(reverse("chronologies:review", args=[case.pk, export.pk])).status_code == 404
    export.refresh_from_db()
    assert export.status == "review"
