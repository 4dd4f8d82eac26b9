"""Rendering a chronology to PDF (WeasyPrint) and CSV. No database writes here.

The PDF's URL fetcher reaches only the project's own static files. Text users typed
is escaped by the template engine. The redacted version replaces informants' names
and addresses with their role, in every text field of every entry.
"""

import csv
import io
import re
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
        path = url[len("/static/"):]
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


def _redactor(entries):
    """Informants' names and addresses, each replaced by their role."""
    pairs = []
    for e in entries:
        if not e.informant_type:
            continue
        role = e.get_informant_type_display().lower()
        if e.informant_name.strip():
            pairs.append((e.informant_name.strip(), f"[{role}]"))
        if e.informant_address.strip():
            pairs.append((e.informant_address.strip(), f"[{role}'s address]"))
    pairs.sort(key=lambda p: -len(p[0]))
    if not pairs:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(p[0]) for p in pairs), re.IGNORECASE)
    table = {p[0].lower(): p[1] for p in pairs}
    return lambda text: pattern.sub(lambda m: table[m.group(0).lower()], text)


def rows_for(entries, *, redacted: bool) -> list[Row]:
    entries = list(entries)
    clean = _redactor(entries) if redacted else (lambda text: text)
    out = []
    for e in entries:
        source = e.source_label
        if not redacted and e.informant_name:
            source = f"{source}: {e.informant_name}"
            if e.informant_address:
                source += f", {e.informant_address}"
        out.append(Row(
            date=e.date_label, category=e.get_category_display(), source=clean(source),
            significance=e.get_significance_display(), significance_code=e.significance,
            title=clean(e.title), details=clean(e.details), analysis=clean(e.analysis),
            action_taken=clean(e.action_taken),
            children=clean(", ".join(c.full_name or "Unborn baby" for c in e.children.all())),
            in_error=e.is_struck,
            in_error_reason=clean(e.in_error_reason or ("Source recorded in error"
                                                        if e.source_in_error else "")),
        ))
    return out


def neutralise(value: str) -> str:
    """A cell a spreadsheet would run as a formula starts with a quote instead."""
    value = str(value)
    if value.startswith(FORMULA_START):
        return "'" + value
    return value


CSV_HEADER = ["Date", "Category", "Source", "Significance", "Summary", "What happened",
              "Analysis", "Action taken", "Children", "Recorded in error"]


def csv_bytes(rows: list[Row]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow([neutralise(v) for v in (
            r.date, r.category, r.source, r.significance, r.title, r.details, r.analysis,
            r.action_taken, r.children, r.in_error_reason if r.in_error else "")])
    return buf.getvalue().encode("utf-8-sig")


def pdf_bytes(*, case, rows: list[Row], cover: dict, progress=None) -> tuple[bytes, int]:
    """The PDF and its page count."""
    from weasyprint import HTML

    html = render_to_string("chronologies/pdf/chronology.html", {
        "case": case, "rows": rows, "cover": cover, "generated_at": timezone.localtime(),
    })
    if progress:
        progress(30)
    document = HTML(string=html, url_fetcher=static_only_fetcher, base_url="/").render()
    if progress:
        progress(85)
    return document.write_pdf(), len(document.pages)
