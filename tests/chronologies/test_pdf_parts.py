"""A long chronology PDF is laid out in parts in parallel processes, joined and stamped:
one cover, the marking on every page, "Page X of Y" counted across the whole document,
every entry once and in order, redaction and escaping holding in every part. Small
parts (CHRONOLOGY_PDF_CHUNK_ENTRIES) force many parts from few entries."""

import datetime
import io
import json
import re
import subprocess

import pytest
from django.core.management import call_command
from django.utils import timezone
from pypdf import PdfReader

from chronologies import export as render
from chronologies import services
from chronologies.benchmark import run_benchmark
from chronologies.models import ChronologyEntry
from tests.factories import AgencyFactory, CaseFactory

D = datetime.date
PAYLOAD = '<script>alert("x")</script><b>bold</b>'
ENTRIES = 47


@pytest.fixture
def case(worker):
    case = CaseFactory(team=worker.team, opened_on=D(2024, 1, 1), reference="CH-2026-0042")
    case.allocated_workers.add(worker)
    return case


@pytest.fixture
def entries(case, worker):
    """ENTRIES entries on consecutive days (entry i on 1 Jan 2024 + i days); entry 5 is from
    a named neighbour, entry 20 carries markup, entry 30 is recorded in error."""
    now = timezone.now()
    school = AgencyFactory(name="Oak Primary School", kind="school")
    rows = []
    for i in range(ENTRIES):
        fields = dict(agency=school)
        if i == 5:
            fields = dict(
                informant_type="neighbour",
                informant_name="Hilda Prendergast",
                informant_address="14 Acacia Avenue",
            )
        rows.append(
            ChronologyEntry(
                case=case,
                source_type="manual",
                source_id=f"t{i}",
                category="multi_agency",
                occurred_on=D(2024, 1, 1) + datetime.timedelta(days=i),
                title=PAYLOAD if i == 20 else f"Concern number {i:03d} reported",
                details=(
                    "Hilda Prendergast of 14 Acacia Avenue heard shouting"
                    if i == 5
                    else "Child arrived late and hungry.\nTeacher spoke to mother."
                ),
                analysis="Pattern of neglect continues.",
                action_taken="Visit planned.",
                significance=("routine", "significant", "critical")[i % 3],
                created_at=now,
                updated_at=now,
                **fields,
            )
        )
    ChronologyEntry.objects.bulk_create(rows)
    services.entry_mark_in_error(
        actor=worker,
        entry=ChronologyEntry.objects.get(case=case, source_id="t30"),
        reason="Wrong family",
    )


@pytest.fixture
def small_parts(settings):
    settings.CHRONOLOGY_PDF_CHUNK_ENTRIES = 6
    settings.CHRONOLOGY_PDF_PROCESSES = 2
    return settings


def export_pdf(worker, case, **kw):
    args = dict(format="pdf", redacted=False, in_error="strike", filters={})
    args.update(kw)
    export = services.export_request(actor=worker, case=case, **args)
    if export.redacted:  # released once its review is approved
        state = services.redaction_review_state(export)
        services.redaction_review_approve(
            actor=worker, export=export, version=state.version, confirmed=True
        )
    export = services.export_render(export.pk)
    assert export.status == "done", export.error
    return export, (services.export_dir() / export.file_name).read_bytes()


def pages_text(data: bytes) -> list[str]:
    """The text of each page (pdftotext separates pages with a form feed)."""
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    return text.split("\f")[:-1]


def test_parts_are_a_multiple_of_the_processes_and_keep_every_row_in_order():
    rows = list(range(47))
    parts = render.split_rows(rows, chunk_entries=6, processes=2)
    assert len(parts) == 8 and [r for p in parts for r in p] == rows
    assert render.split_rows(rows, chunk_entries=100, processes=2) == [rows]
    assert render.split_rows([], chunk_entries=6, processes=2) == [[]]
    parts = render.split_rows(rows, chunk_entries=6, processes=3)
    assert len(parts) == 9 and {len(p) for p in parts} == {5, 6}
    assert [r for p in parts for r in p] == rows
    assert render.split_rows(rows[:3], chunk_entries=1, processes=2) == [[0], [1], [2]]


def test_a_pdf_in_parts_numbers_pages_across_the_whole_document(worker, case, entries, small_parts):
    export, data = export_pdf(worker, case)
    reader = PdfReader(io.BytesIO(data))
    total = len(reader.pages)
    pages = pages_text(data)
    # 8 parts of at most 6 entries, each starting on a new page, after the cover.
    assert export.pages == total == len(pages) and total >= 9
    for number, text in enumerate(pages, 1):
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        assert lines[0].startswith("OFFICIAL-SENSITIVE"), number  # the header
        assert lines[0].endswith("CH-2026-0042"), number
        assert re.findall(r"Page (\d+) of (\d+)", text) == [(str(number), str(total))]
        assert text.count("OFFICIAL-SENSITIVE") >= 2
    assert f"Page 1 of {total}" in pages[0]
    assert f"Page {total // 2} of {total}" in pages[total // 2 - 1]
    assert f"Page {total} of {total}" in pages[-1]
    # One cover, on the first page; every entry once, newest first.
    everything = "\n".join(pages)
    assert everything.count("Generated by") == 1 and "Generated by" in pages[0]
    assert everything.count("Entries, newest first") == 1
    assert re.search(rf"^\s*Entries\s*\n\s*{ENTRIES}\s*$", pages[0], re.MULTILINE)
    numbers = [int(n) for n in re.findall(r"Concern number (\d{3}) reported", everything)]
    expected = [i for i in reversed(range(ENTRIES)) if i != 20]
    assert numbers == expected
    # Significance shown, the entry recorded in error struck through with its reason.
    assert "CRITICAL – Concern number 044" in everything
    assert "ROUTINE – Concern number 045" in everything
    assert "SIGNIFICANT – Concern number 046" in everything
    assert "Recorded in error: Wrong family" in everything
    # Text users typed comes out as text.
    assert PAYLOAD in everything


def test_leaving_out_entries_in_error_in_parts(worker, case, entries, small_parts):
    _, data = export_pdf(worker, case, in_error="leave_out")
    everything = "\n".join(pages_text(data))
    assert "Concern number 030" not in everything and "Wrong family" not in everything
    assert "Concern number 029" in everything and "Concern number 031" in everything


def test_redaction_holds_in_every_part(worker, case, entries, small_parts):
    _, data = export_pdf(worker, case, redacted=True)
    pages = pages_text(data)
    everything = "\n".join(pages)
    for secret in ("Prendergast", "Hilda", "Acacia"):
        assert secret not in everything
    assert "[neighbour]" in everything and "[neighbour's address]" in everything
    assert "REDACTED FOR SHARING" in pages[0]
    _, full = export_pdf(worker, case)
    assert "Hilda Prendergast" in "\n".join(pages_text(full))


def test_parts_render_in_spawned_processes_too(worker, case, entries, settings):
    """A spawned child sets Django up itself (a forked one inherits it)."""
    settings.CHRONOLOGY_PDF_START_METHOD = "spawn"
    settings.CHRONOLOGY_PDF_CHUNK_ENTRIES = 30
    export, data = export_pdf(worker, case)
    pages = pages_text(data)
    assert export.pages == len(pages) and f"Page {len(pages)} of {len(pages)}" in pages[-1]
    assert "Concern number 046" in pages[1] and "Concern number 000" in pages[-1]


def test_the_benchmark_reports_pages_seconds_and_memory(db, tmp_path, small_parts):
    result = run_benchmark(20, save_pdf=tmp_path / "bench.pdf")
    assert result["entries"] == 20 and result["parts"] == 4 and result["processes"] == 2
    assert result["pages"] == len(PdfReader(tmp_path / "bench.pdf").pages) > 4
    assert result["seconds"] > 0 and result["peak_rss_mb"] > 0
    assert result["peak_rss_mb_child"] > 0
    assert not ChronologyEntry.objects.filter(source_type="bench").exists()  # rolled back
    out = tmp_path / "bench.json"
    call_command("chronology_benchmark", entries=8, json=str(out), stdout=io.StringIO())
    saved = json.loads(out.read_text())
    assert saved["entries"] == 8 and saved["pages"] >= 2


def test_stamped_text_is_escaped_for_pdf_strings():
    parts = [
        render.render_part("<p>First part</p>"),
        render.render_part('<p>Second part</p><p style="break-before: page">More</p>'),
    ]
    data, total = render.join_and_number(parts, reference="REF (1) \\ Zoë", footer="Foot)er (")
    pages = pages_text(data)
    assert total == len(pages) == 3
    assert "First part" in pages[0] and "More" in pages[2]
    for number, text in enumerate(pages, 1):
        assert "REF (1) \\ Zoë" in text and "Foot)er (" in text
        assert f"Page {number} of 3" in text
