"""Chronology pages, the analysis view, exports (PDF text, redaction, CSV, escaping,
permissions, access log) and the API."""

import csv
import datetime
import io
import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AccessLog
from chronologies import export as render
from chronologies import services
from chronologies.models import ChronologyEntry, ChronologyExport
from tests.factories import (
    AgencyFactory,
    CaseFactory,
    ChronologyExportFactory,
    MembershipFactory,
    TeamFactory,
    UserFactory,
)

D = datetime.date
PAYLOAD = '<script>alert("x")</script><b>bold</b>'


@pytest.fixture
def case(worker):
    case = CaseFactory(team=worker.team, opened_on=D(2025, 6, 1), reference="CH-2026-0001")
    case.allocated_workers.add(worker)
    return case


@pytest.fixture
def child(case):
    return MembershipFactory(case=case, start_date=D(2025, 6, 1)).person


@pytest.fixture
def entries(case, worker, child):
    school = AgencyFactory(name="Oak Primary School", kind="school")
    made = [
        services.entry_add_manual(
            actor=worker,
            case=case,
            data=services.ManualEntryInput(
                occurred_on=D(2026, 1, 10),
                title="Neighbour heard shouting",
                details="Mrs Hilda Prendergast of 14 Acacia Avenue heard shouting late at night",
                informant_type="neighbour",
                informant_name="Hilda Prendergast",
                informant_address="14 Acacia Avenue",
                significance="significant",
                children=[child],
            ),
        ),
        services.entry_add_manual(
            actor=worker,
            case=case,
            data=services.ManualEntryInput(
                occurred_on=D(2026, 2, 3),
                title=PAYLOAD,
                details='=HYPERLINK("http://x")',
                agency=school,
                analysis="+1 then -2 and @SUM(A1)",
            ),
        ),
        services.entry_add_manual(
            actor=worker,
            case=case,
            data=services.ManualEntryInput(
                occurred_on=D(2025, 12, 1),
                title="Wrong family entry",
                details="Not ours",
                agency=school,
            ),
        ),
    ]
    services.entry_mark_in_error(actor=worker, entry=made[2], reason="Wrong family")
    return made


def pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def make_export(worker, case, **kw):
    args = dict(format="pdf", redacted=False, in_error="leave_out", filters={})
    args.update(kw)
    export = services.export_request(actor=worker, case=case, **args)
    if export.redacted:  # released once its review is approved
        state = services.redaction_review_state(export)
        services.redaction_review_approve(
            actor=worker, export=export, version=state.version, confirmed=True
        )
    return services.export_render(export.pk)


def read(export) -> bytes:
    return (services.export_dir() / export.file_name).read_bytes()


# --- Pages -------------------------------------------------------------------------------


def test_the_chronology_page_escapes_and_strikes(client, worker, case, entries):
    client.force_login(worker)
    response = client.get(reverse("chronologies:list", args=[case.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert PAYLOAD not in body and "&lt;script&gt;alert" in body
    assert "<del>Wrong family entry</del>" in body
    assert "moj-timeline__item" in body
    assert AccessLog.objects.filter(user=worker, case_id=case.pk, what="viewed chronology").exists()


def test_filters_use_ids_and_codes(client, worker, case, entries, child):
    client.force_login(worker)
    url = reverse("chronologies:list", args=[case.pk])
    body = client.get(url, {"source": "informant-neighbour"}).content.decode()
    assert "Neighbour heard shouting" in body and "Oak Primary" not in body.split("moj-timeline")[1]
    body = client.get(url, {"significant_only": "on"}).content.decode()
    assert "Neighbour heard shouting" in body and "&lt;script" not in body
    body = client.get(url, {"child": child.pk}).content.decode()
    assert "1 entry match" in body
    body = client.get(
        url, {"date_from-day": "1", "date_from-month": "2", "date_from-year": "2026"}
    ).content.decode()
    assert "1 entry match" in body
    response = client.get(url, {"category": "nonsense"})
    assert response.status_code == 400


def test_add_a_manual_entry_from_the_page(client, worker, case, child):
    client.force_login(worker)
    url = reverse("chronologies:add", args=[case.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "date_known": "approximate",
            "occurred_on-day": "1",
            "occurred_on-month": "11",
            "occurred_on-year": "2025",
            "source_kind": "informant",
            "informant_type": "grandparent",
            "title": "Gran worried",
            "details": "Says mum drinking",
            "significance": "significant",
            "children": [child.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    entry = ChronologyEntry.objects.get(case=case, title="Gran worried")
    assert entry.date_is_approximate and entry.occurred_on == D(2025, 11, 1)
    response = client.post(
        url,
        {
            "date_known": "exact",
            "source_kind": "agency",
            "title": "x",
            "details": "y",
            "significance": "routine",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Select the agency" in body and "Enter the date" in body


def test_change_significance_and_mark_in_error(client, worker, case, entries):
    client.force_login(worker)
    entry = entries[0]
    assert (
        client.post(
            reverse("chronologies:entry", args=[case.pk, entry.pk]), {"significance": "critical"}
        ).status_code
        == 302
    )
    assert (
        client.post(
            reverse("chronologies:in_error", args=[case.pk, entry.pk]), {"reason": "Duplicate"}
        ).status_code
        == 302
    )
    entry.refresh_from_db()
    assert entry.significance == "critical" and entry.in_error


def test_the_case_page_has_a_chronology_panel(client, worker, case, entries):
    client.force_login(worker)
    body = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert reverse("chronologies:list", args=[case.pk]) in body


def test_the_analysis_view_has_charts_and_tables(client, worker, case, entries):
    client.force_login(worker)
    body = client.get(reverse("chronologies:analysis", args=[case.pk])).content.decode()
    assert (
        body.count("<svg") >= 3 and "<script" not in body.split("</header>")[1].split("<footer")[0]
    )
    assert "Oak Primary School" in body and "as a table" in body


# --- Exports -----------------------------------------------------------------------------


def test_pdf_has_cover_header_pages_and_escaped_text(worker, case, entries):
    export = make_export(worker, case, in_error="strike")
    text = pdf_text(read(export))
    assert text.count("OFFICIAL-SENSITIVE") >= 2 * export.pages
    assert f"Page 1 of {export.pages}" in text and f"Page {export.pages} of" in text
    assert "CH-2026-0001" in text and "Generated by" in text
    assert '<script>alert("x")</script><b>bold</b>' in text  # shown as text, not run
    assert "Wrong family entry" in text and "Recorded in error: Wrong family" in text
    assert "SIGNIFICANT" in text
    export = make_export(worker, case)
    assert "Wrong family entry" not in pdf_text(read(export))


def test_redacted_pdf_has_no_informant_name_or_address(worker, case, entries):
    export = make_export(worker, case, redacted=True)
    text = pdf_text(read(export))
    assert "Neighbour heard shouting" in text
    for secret in ("Prendergast", "Hilda", "Acacia"):
        assert secret not in text
    assert "[neighbour]" in text and "[neighbour's address]" in text
    full = pdf_text(read(make_export(worker, case)))
    assert "Hilda Prendergast" in full


def test_csv_neutralises_formulas(worker, case, entries):
    export = make_export(worker, case, format="csv")
    rows = list(csv.reader(io.StringIO(read(export).decode("utf-8-sig"))))
    cells = [c for row in rows[1:] for c in row]
    assert '\'=HYPERLINK("http://x")' in cells
    assert "'+1 then -2 and @SUM(A1)" in cells
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    for value in ("=1", "+1", "-1", "@x", "\tx", "\rx"):
        assert render.neutralise(value) == "'" + value
    assert render.neutralise("ok") == "ok"


def test_the_url_fetcher_reaches_only_static_files():
    with pytest.raises(render.FetchRefused):
        render.static_only_fetcher("http://example.com/x.png")
    with pytest.raises(render.FetchRefused):
        render.static_only_fetcher("file:///etc/passwd")
    with pytest.raises(render.FetchRefused):
        render.static_only_fetcher("/static/../../etc/passwd")
    assert render.static_only_fetcher("/static/build/app.css")["string"]


def test_export_and_download_are_logged_and_checked(client, worker, case, entries):
    client.force_login(worker)
    response = client.post(
        reverse("chronologies:export_request", args=[case.pk]) + "?significant_only=on",
        {"format": "pdf", "redacted": "no", "in_error": "leave_out"},
    )
    export = ChronologyExport.objects.get(case=case)
    assert response.status_code == 302 and export.status == "done"
    assert export.filters == {"significant_only": True}
    status = client.get(reverse("chronologies:export", args=[case.pk, export.pk]))
    assert b"Your export is ready" in status.content
    download = client.get(reverse("chronologies:download", args=[case.pk, export.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    whats = set(AccessLog.objects.filter(user=worker).values_list("what", flat=True))
    assert "exported chronology (pdf)" in whats
    assert f"downloaded chronology export {export.pk} (pdf)" in whats
    outsider = UserFactory(username="outsider", team=TeamFactory(name="Other", code="o"))
    client.force_login(outsider)
    assert (
        client.get(reverse("chronologies:download", args=[case.pk, export.pk])).status_code == 404
    )
    assert (
        client.post(
            reverse("chronologies:export_request", args=[case.pk]), {"format": "pdf"}
        ).status_code
        == 404
    )
    # Nothing shown; both attempts logged as refused, with the case asked for.
    assert not AccessLog.objects.filter(user=outsider, outcome="shown").exists()
    refused = AccessLog.objects.filter(user=outsider, outcome="refused")
    assert set(refused.values_list("case_id", flat=True)) == {case.pk}
    assert refused.count() == 2


def test_large_exports_are_queued_and_poll(client, worker, case, entries, settings, monkeypatch):
    settings.CHRONOLOGY_EXPORT_SYNC_MAX_ENTRIES = 0
    sent = []
    monkeypatch.setattr("chronologies.tasks.chronology_export_render.delay", sent.append)
    client.force_login(worker)
    with pytest.MonkeyPatch.context():
        client.post(
            reverse("chronologies:export_request", args=[case.pk]),
            {"format": "csv", "redacted": "no", "in_error": "leave_out"},
        )
    export = ChronologyExport.objects.get(case=case)
    assert export.status == "queued"
    fragment = client.get(
        reverse("chronologies:export", args=[case.pk, export.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'hx-trigger="every 2s"' in fragment and "0% done" in fragment


@pytest.mark.django_db(transaction=True)
def test_a_large_export_asked_for_while_the_broker_is_down_fails_saying_to_ask_again(
    client, worker, case, entries, settings, broker_down
):
    settings.CHRONOLOGY_EXPORT_SYNC_MAX_ENTRIES = 0
    client.force_login(worker)

    response = client.post(
        reverse("chronologies:export_request", args=[case.pk]),
        {"format": "csv", "redacted": "no", "in_error": "leave_out"},
    )

    assert response.status_code == 302
    export = ChronologyExport.objects.get(case=case)
    assert export.status == "failed" and export.error == services.UNSENT_EXPORT
    page = client.get(response["Location"]).content.decode()
    assert "The export failed" in page and "Try again" in page

    api = APIClient()
    api.force_authenticate(worker)
    answer = api.post(f"/api/v1/cases/{case.pk}/chronology-exports/", {"format": "pdf"})
    assert answer.status_code == 202, answer.content
    assert answer.json()["status"] == "failed"


def test_expired_files_are_removed(worker, case):
    export = ChronologyExportFactory(case=case, requested_by=worker)
    path = services.export_dir() / export.file_name
    assert path.exists()
    assert services.exports_remove_expired(now=timezone.now()) == 0
    assert services.exports_remove_expired(now=timezone.now() + datetime.timedelta(hours=2)) == 1
    export.refresh_from_db()
    assert not path.exists() and export.status == "expired"
    assert ChronologyExport.objects.filter(pk=export.pk).exists()


# --- API -----------------------------------------------------------------------------------


def api_for(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_api_lists_with_filters_adds_and_marks_in_error(worker, case, entries, child):
    api = api_for(worker)
    url = f"/api/v1/cases/{case.pk}/chronology/"
    rows = api.get(url).json()["results"]
    assert len(rows) == 3
    rows = api.get(url, {"source": "informant-neighbour"}).json()["results"]
    assert [r["title"] for r in rows] == ["Neighbour heard shouting"]
    assert api.get(url, {"date_from": "nope"}).status_code == 400
    response = api.post(
        url,
        {"occurred_on": "2026-01-20", "title": "GP letter", "details": "Missed appointments"},
        format="json",
    )
    assert response.status_code == 400 and "source" in response.json()
    agency = AgencyFactory(name="Health visiting", kind="health_visiting")
    response = api.post(
        url,
        {
            "occurred_on": "2026-01-20",
            "title": "HV visit",
            "details": "Baby thriving",
            "agency": agency.pk,
            "children": [child.pk],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    entry_id = response.json()["id"]
    response = api.post(f"{url}{entry_id}/in-error/", {"reason": "Wrong"}, format="json")
    assert response.status_code == 200 and response.json()["recorded_in_error"]


def test_api_export_request_status_download(worker, case, entries):
    api = api_for(worker)
    url = f"/api/v1/cases/{case.pk}/chronology-exports/"
    response = api.post(url, {"format": "csv"}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "done"
    status = api.get(f"{url}{body['id']}/").json()
    assert status["download_url"]
    download = api.get(status["download_url"])
    assert download.status_code == 200
    other = UserFactory(username="other", team=TeamFactory(name="B", code="b"))
    assert api_for(other).get(status["download_url"]).status_code == 404
    assert api_for(other).post(url, {"format": "csv"}, format="json").status_code == 404


def test_export_render_is_idempotent(worker, case, entries):
    export = make_export(worker, case, format="csv")
    again = services.export_render(export.pk)
    assert again.file_name == export.file_name


def test_the_analysis_counts_no_unborn_baby_as_not_seen(worker, case):
    """Rows kept from before a baby was born say nothing about seeing a child."""
    from chronologies.analysis import case_analysis
    from tests.factories import PersonFactory, RecordedVisitFactory
    from visits.models import ChildSeen

    baby = MembershipFactory(
        case=case,
        start_date=D(2025, 6, 1),
        person=PersonFactory(
            first_name="", date_of_birth=None, expected_date_of_birth=D(2026, 9, 1)
        ),
    ).person
    born = MembershipFactory(case=case, start_date=D(2025, 6, 1)).person
    at = timezone.make_aware(datetime.datetime(2026, 2, 3, 10, 0))
    visit = RecordedVisitFactory(
        case=case, outcome="completed", default_reason="", planned_for=at, occurred_at=at
    )
    ChildSeen.objects.create(visit=visit, child=baby, seen=False, reason_not_seen="Not born")
    ChildSeen.objects.create(visit=visit, child=born, seen=False, reason_not_seen="At school")

    chart = next(c for c in case_analysis(case, today=D(2026, 3, 1)) if "seen alone" in c.title)
    assert "not seen 1 times" in chart.summary
