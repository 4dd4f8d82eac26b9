"""Rendering a chronology to PDF (WeasyPrint) and CSV. No database writes here.

The PDF's URL fetcher reaches only the project's own static files. Text users typed
is escaped by the template engine. The redacted version applies the plan its reviewer
approved (chronologies.redaction) to every text field of every entry. A long PDF is laid
out in parts in parallel processes and joined (see "PDF" below); the benchmark is
chronologies.benchmark.run_benchmark (manage.py chronology_benchmark).
"""

import csv
import gc
import hashlib
import io
import json
from dataclasses import dataclass

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class FetchRefused(ValueError):
    pass


def static_only_fetcher(url: str, *args, **kwargs):
    """WeasyPrint's URL fetcher: /static/ files found by Django's finders, nothing else
    (no network, no file: URLs outside static)."""
    path = None
    if url.startswith("/static/"):
        path = url[len("/static/") :]
    elif url.startswith("file://") and "/static/" in url:
        path = url.split("/static/", 1)[1]
    if not path or ".." in path.split("/"):
        raise FetchRefused(f"Refused to fetch {url[:80]}")
    found = finders.find(path)
    if not found:
        raise FetchRefused(f"Not a static file: {path[:80]}")
    with open(found, "rb") as fh:
        return {"string": fh.read(), "filename": found}


@dataclass
class Row:
    date: str
    category: str
    source: str
    significance: str
    significance_code: str
    title: str
    details: str
    analysis: str
    action_taken: str
    children: str
    in_error: bool
    in_error_reason: str


TEXT_FIELDS = (
    "source",
    "title",
    "details",
    "analysis",
    "action_taken",
    "children",
    "in_error_reason",
)


def entry_texts(entry, *, redacted: bool) -> dict[str, str]:
    """The text of an entry's row, before any redaction. A redacted export names the
    source by its kind only (the informant's name and address are not added to it)."""
    source = entry.source_label
    if not redacted and entry.informant_name:
        source = f"{source}: {entry.informant_name}"
        if entry.informant_address:
            source += f", {entry.informant_address}"
    return {
        "source": source,
        "title": entry.title,
        "details": entry.details,
        "analysis": entry.analysis,
        "action_taken": entry.action_taken,
        "children": ", ".join(c.display_name for c in entry.children.all()),
        "in_error_reason": entry.in_error_reason
        or ("Source recorded in error" if entry.source_in_error else ""),
    }


def fingerprint(entries) -> str:
    """What a redaction review was made for: the redacted export's entries and all their
    text, in order. The export is refused if this differs when it is rendered."""
    digest = hashlib.sha256()
    for e in entries:
        digest.update(json.dumps([e.pk, e.date_label, entry_texts(e, redacted=True)]).encode())
    return digest.hexdigest()


def rows_for(entries, *, redacted: bool, plan=None) -> list[Row]:
    """The rows of an export. A redacted one needs the approved plan of its review
    (chronologies.redaction.Plan): it is applied to every text field of every entry."""
    if redacted and plan is None:
        raise ValueError("A redacted export needs its approved redaction plan")
    clean = plan.apply if redacted else (lambda text: text)
    out = []
    for e in entries:
        texts = {k: clean(v) for k, v in entry_texts(e, redacted=redacted).items()}
        out.append(
            Row(
                date=e.date_label,
                category=e.get_category_display(),
                significance=e.get_significance_display(),
                significance_code=e.significance,
                in_error=e.is_struck,
                **texts,
            )
        )
    return out


def neutralise(value: str) -> str:
    """A cell a spreadsheet would run as a formula starts with a quote instead."""
    value = str(value)
    if value.startswith(FORMULA_START):
        return "'" + value
    return value


CSV_HEADER = [
    "Date",
    "Category",
    "Source",
    "Significance",
    "Summary",
    "What happened",
    "Analysis",
    "Action taken",
    "Children",
    "Recorded in error",
]


def csv_bytes(rows: list[Row]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow(
            [
                neutralise(v)
                for v in (
                    r.date,
                    r.category,
                    r.source,
                    r.significance,
                    r.title,
                    r.details,
                    r.analysis,
                    r.action_taken,
                    r.children,
                    r.in_error_reason if r.in_error else "",
                )
            ]
        )
    return buf.getvalue().encode("utf-8-sig")


# --- PDF ------------------------------------------------------------------------------------
#
# A long chronology is cut into parts of consecutive rows; each part is laid out by WeasyPrint
# on its own (in parallel processes when there is more than one part), the parts are joined
# in order and every page is then stamped with its running header and footer: the protective
# marking, the case reference and "Page X of Y" counted across the whole document. Stamping
# after the join is what lets the parts be laid out at the same time: no part needs to know
# how many pages the others have.

PDF_TEMPLATE = "chronologies/pdf/chronology.html"
MARKING = "OFFICIAL-SENSITIVE"


def pdf_bytes(
    *, case, rows: list[Row], cover: dict, progress=None, chunk_entries=None, processes=None
) -> tuple[bytes, int]:
    """The PDF and its page count. `chunk_entries` (rows per part) and `processes` default to
    the settings CHRONOLOGY_PDF_CHUNK_ENTRIES and CHRONOLOGY_PDF_PROCESSES."""
    from django.conf import settings

    chunk_entries = chunk_entries or getattr(settings, "CHRONOLOGY_PDF_CHUNK_ENTRIES", 250)
    processes = max(1, processes or getattr(settings, "CHRONOLOGY_PDF_PROCESSES", 2))
    generated_at = timezone.localtime()
    chunks = split_rows(rows, chunk_entries=chunk_entries, processes=processes)
    htmls = [
        render_to_string(
            PDF_TEMPLATE,
            {
                "case": case,
                "rows": chunk,
                "cover": cover,
                "generated_at": generated_at,
                "first": i == 0,
                "total_rows": len(rows),
            },
        )
        for i, chunk in enumerate(chunks)
    ]
    if progress:
        progress(30)
    parts = render_parts(htmls, processes=processes, progress=progress)
    if progress:
        progress(90)
    return join_and_number(
        parts,
        reference=case.reference,
        footer=f"Chronology {case.reference}, generated {generated_at:%-d %B %Y %H:%M}",
    )


def split_rows(rows: list[Row], *, chunk_entries: int, processes: int) -> list[list[Row]]:
    """Consecutive parts of at most `chunk_entries` rows, as even as can be; when there is
    more than one, as many as a multiple of the processes, so each gets the same share."""
    n = len(rows)
    count = max(1, -(-n // max(1, chunk_entries)))
    if count > 1 and processes > 1:
        count = min(n, -(-count // processes) * processes)
    size, extra = divmod(n, count)
    parts, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        parts.append(rows[start:end])
        start = end
    return parts


def render_part(html: str) -> bytes:
    """One part laid out and written by WeasyPrint (in this process or a child).

    The cyclic garbage collector is paused meanwhile: WeasyPrint makes a great many small
    objects, and the collector's passes over them cost about a fifth of the time. It is
    turned back on afterwards and collects at its own pace: a full collection after
    each part cost more than it saved."""
    from weasyprint import HTML

    collecting = gc.isenabled()
    gc.disable()
    try:
        return HTML(string=html, url_fetcher=static_only_fetcher, base_url="/").write_pdf()
    finally:
        if collecting:
            gc.enable()


def _child_setup(settings_module: str):
    """Runs first in each child process. A forked child already has Django set up; a
    spawned one (start method "spawn" or "forkserver") sets it up here, for the static
    file finders the URL fetcher uses. A child never touches the database."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    from django.apps import apps

    if not apps.ready:
        import django

        django.setup()


def render_parts(htmls: list[str], *, processes: int, progress=None) -> list[bytes]:
    """Each part's PDF, in order. One part renders in this process; more are shared among
    at most `processes` child processes (start method: CHRONOLOGY_PDF_START_METHOD,
    "fork" by default, so a child starts at once with everything already imported)."""
    if len(htmls) == 1 or processes <= 1:
        return [render_part(h) for h in htmls]
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed

    import weasyprint  # noqa: F401  (imported once here, not in every forked child)
    from django.conf import settings

    method = getattr(settings, "CHRONOLOGY_PDF_START_METHOD", "fork")
    # A Celery (billiard) pool process is marked daemonic, and multiprocessing refuses to
    # start children from a daemonic process, because it could not wait for them. This
    # function does wait for its children (the pool is shut down before it returns), so
    # the mark is lifted while they start and put back afterwards.
    me = multiprocessing.current_process()
    daemonic = me._config.get("daemon", False)
    me._config["daemon"] = False
    # Everything this process holds now is moved out of the garbage collector's sight
    # before forking: a child's collections then never walk (and so never copy) the
    # parent's objects. A third of the wall time on a 2,000-entry chronology.
    gc.collect()
    gc.freeze()
    pool = ProcessPoolExecutor(
        max_workers=min(processes, len(htmls)),
        mp_context=multiprocessing.get_context(method),
        initializer=_child_setup,
        initargs=(os.environ.get("DJANGO_SETTINGS_MODULE", "safeguarding.settings"),),
    )
    try:
        futures = [pool.submit(render_part, h) for h in htmls]
        for done, _ in enumerate(as_completed(futures), 1):
            if progress:
                progress(30 + 60 * done // len(futures))
        parts = [f.result() for f in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()
        me._config["daemon"] = daemonic
    return parts


def _text_width(text: str, font: str, size: float) -> float:
    try:
        from pypdf._codecs.core_font_metrics import CORE_FONT_METRICS

        widths = CORE_FONT_METRICS[font].character_widths
    except (ImportError, KeyError, AttributeError):  # pragma: no cover - pypdf internals
        widths = {}
    default = widths.get("default", 556) or 556
    return sum(widths.get(ch, default) for ch in text) * size / 1000


def _pdf_string(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _stamp(
    width: float, height: float, *, number: int, total: int, reference: str, footer: str
) -> bytes:
    """Content drawn on a page after its own: header and footer, in the PDF core fonts
    Helvetica and Helvetica-Bold (not embedded), positioned in points from the bottom left."""
    side = 42.52  # 15 mm, the side margins of the template's @page
    top, bottom = height - 34.02, 28.35  # 12 mm from the top, 10 mm from the bottom
    page = f"Page {number} of {total}"
    grey = b"0.314 0.353 0.373 rg"
    black = b"0.043 0.047 0.047 rg"
    items = [
        (b"SgB", 10, (width - _text_width(MARKING, "Helvetica-Bold", 10)) / 2, top, black, MARKING),
        (b"SgR", 8, width - side - _text_width(reference, "Helvetica", 8), top, grey, reference),
        (b"SgR", 8, side, bottom, grey, footer),
        (
            b"SgB",
            8,
            (width - _text_width(MARKING, "Helvetica-Bold", 8)) / 2,
            bottom - 10,
            black,
            MARKING,
        ),
        (b"SgR", 9, width - side - _text_width(page, "Helvetica", 9), bottom, black, page),
    ]
    out = [b"Q"]
    for font, size, x, y, colour, text in items:
        out.append(
            b"BT %s /%s %d Tf %.2f %.2f Td %s Tj ET" % (colour, font, size, x, y, _pdf_string(text))
        )
    return b"\n".join(out) + b"\n"


def join_and_number(parts: list[bytes], *, reference: str, footer: str) -> tuple[bytes, int]:
    """The parts joined in order, each page stamped with the marking, the reference and
    "Page X of Y" for the whole document. Returns the PDF and its page count."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        IndirectObject,
        NameObject,
    )

    writer = PdfWriter()
    for part in parts:
        for page in PdfReader(io.BytesIO(part)).pages:
            writer.add_page(page)
    total = len(writer.pages)

    def font(name):
        return writer._add_object(
            DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Font"),
                    NameObject("/Subtype"): NameObject("/Type1"),
                    NameObject("/BaseFont"): NameObject(f"/{name}"),
                    NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
                }
            )
        )

    def stream(data: bytes):
        obj = DecodedStreamObject()
        obj.set_data(data)
        return writer._add_object(obj)

    regular, bold = font("Helvetica"), font("Helvetica-Bold")
    save = stream(b"q\n")
    for number, page in enumerate(writer.pages, 1):
        resources = page.get("/Resources")
        resources = resources.get_object() if resources is not None else None
        if resources is None:
            resources = DictionaryObject()
            page[NameObject("/Resources")] = resources
        fonts = resources.get("/Font")
        fonts = fonts.get_object() if fonts is not None else None
        if fonts is None:
            fonts = DictionaryObject()
            resources[NameObject("/Font")] = fonts
        fonts[NameObject("/SgR")], fonts[NameObject("/SgB")] = regular, bold
        box = page.mediabox
        ref = page.raw_get("/Contents") if "/Contents" in page else None
        if isinstance(ref, IndirectObject) and isinstance(ref.get_object(), ArrayObject):
            existing = list(ref.get_object())
        elif isinstance(ref, ArrayObject):
            existing = list(ref)
        elif ref is not None:
            existing = [ref]
        else:
            existing = []
        page[NameObject("/Contents")] = ArrayObject(
            [
                save,
                *existing,
                stream(
                    _stamp(
                        float(box.width),
                        float(box.height),
                        number=number,
                        total=total,
                        reference=reference,
                        footer=footer,
                    )
                ),
            ]
        )
    writer.add_metadata({"/Title": f"Chronology {reference}", "/Producer": "WeasyPrint, pypdf"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), total
