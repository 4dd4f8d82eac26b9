"""Chronology pages: the timeline with filters, manual entries, significance and
recorded-in-error, the analysis view, and exports (PDF and CSV)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, Window
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts import access, policy
from cases.views import case_context, case_for_page
from common.errors import apply_service_errors
from common.pages import form_page

from . import analysis, forms, presentation, queries, redaction, services
from .models import ChronologyEntry, RedactionReview

PER_PAGE = 40


def _page(request, case, template, status=200, **extra):
    context = case_context(request, case)
    context.update(extra)
    return render(request, template, context, status=status)


def _filter_form(request, case):
    children = queries.case_children(case)
    data = (
        request.GET
        if any(k in request.GET for k in forms.FilterForm.base_fields)
        or any(k.startswith("date_") for k in request.GET)
        else None
    )
    form = forms.FilterForm(data, children=children, sources=queries.case_sources(case))
    return form, children


def _query_without_page(request) -> str:
    q = request.GET.copy()
    q.pop("page", None)
    return q.urlencode()


@login_required
def chronology(request, pk):
    case = case_for_page(request, pk, "viewed chronology")
    form, children = _filter_form(request, case)
    filters = form.filters()
    page = Paginator(queries.case_entries(case, filters), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return _page(
        request,
        case,
        "chronologies/chronology.html",
        status=400 if form.errors else 200,
        form=form,
        page=page,
        query=_query_without_page(request),
        filters=filters,
        filtered=bool(filters.as_dict()),
        export_form=forms.ExportForm(),
        export_query=_query_without_page(request),
    )


def manual_input(form) -> services.ManualEntryInput:
    """What the entry form says. An informant's name and address are kept as typed
    whichever the source (a named contact at an agency is kept too)."""
    d = form.cleaned_data
    is_agency = d["source_kind"] == "agency"
    return services.ManualEntryInput(
        occurred_on=d["occurred_on"],
        date_is_approximate=d["date_known"] == "approximate",
        title=d["title"],
        details=d["details"],
        analysis=d["analysis"],
        action_taken=d["action_taken"],
        agency=d["agency"] if is_agency else None,
        informant_type="" if is_agency else d["informant_type"],
        informant_name=d["informant_name"],
        informant_address=d["informant_address"],
        children=list(d["children"]),
        significance=d["significance"],
    )


def _source_errors(exc: ValidationError) -> ValidationError:
    """The service's "source" error belongs beside the form's source question."""
    if hasattr(exc, "error_dict") and "source" in exc.error_dict:
        exc.error_dict["source_kind"] = exc.error_dict.pop("source")
    return exc


@login_required
@require_http_methods(["GET", "POST"])
def entry_add(request, pk):
    case = case_for_page(request, pk, "opened add a chronology entry")
    if not case.is_open:
        raise PermissionDenied("This case is closed")
    form = forms.ManualEntryForm(
        request.POST or None,
        children=queries.case_children(case),
        initial={"occurred_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.entry_add_manual(actor=request.user, case=case, data=manual_input(form))
        except ValidationError as exc:
            apply_service_errors(form, _source_errors(exc))
        else:
            messages.success(request, "Entry added to the chronology")
            return redirect("chronologies:list", case.pk)
    return _page(
        request,
        case,
        "cases/form_page.html",
        status=400 if form.errors else 200,
        form=form,
        title="Add multi-agency information",
        submit="Add entry",
        intro="Information from another agency or from a person who knows the family.",
        cancel_url=reverse("chronologies:list", args=[case.pk]),
    )


def _entry_url(case, entry) -> str:
    return reverse("chronologies:list", args=[case.pk]) + f"#entry-{entry.pk}"


@login_required
@require_http_methods(["GET", "POST"])
def entry_detail(request, pk, entry_pk):
    case = case_for_page(request, pk, "viewed chronology entry")
    entry = queries.case_entry(request.user, case, entry_pk)
    form = forms.SignificanceForm(
        request.POST or None,
        initial={"significance": entry.significance, "version": services.entry_version(entry)},
    )
    return form_page(
        request,
        form,
        lambda d: services.entry_set_significance(
            actor=request.user,
            entry=entry,
            significance=d["significance"],
            version=d["version"],
        ),
        success="Significance saved",
        next_url=_entry_url(case, entry),
        template="chronologies/entry_detail.html",
        context={**case_context(request, case), "entry": entry},
    )


@login_required
@require_http_methods(["GET", "POST"])
def entry_edit(request, pk, entry_pk):
    """Change a multi-agency entry typed in by hand (entries recorded from events follow
    the record they came from)."""
    case = case_for_page(request, pk, "opened change a chronology entry")
    entry = queries.case_entry(request.user, case, entry_pk)
    if not policy.can_edit_chronology_entry(request.user, entry):
        raise PermissionDenied(
            "This entry was recorded from an event: change the record it came from"
        )
    stored = services.entry_manual_input(entry)
    form = forms.ManualEntryForm(
        request.POST or None,
        children=queries.case_children(case),
        entry=entry,
        initial={
            "version": services.entry_version(entry),
            "date_known": "approximate" if stored.date_is_approximate else "exact",
            "occurred_on": stored.occurred_on,
            "source_kind": "agency" if stored.agency else "informant",
            "agency": stored.agency,
            "informant_type": stored.informant_type,
            "informant_name": stored.informant_name,
            "informant_address": stored.informant_address,
            "title": stored.title,
            "details": stored.details,
            "analysis": stored.analysis,
            "action_taken": stored.action_taken,
            "children": stored.children,
            "significance": stored.significance,
        },
    )

    def save(d):
        try:
            return services.entry_update(
                actor=request.user, entry=entry, data=manual_input(form), version=d["version"]
            )
        except ValidationError as exc:
            raise _source_errors(exc) from None

    return form_page(
        request,
        form,
        save,
        success="Entry saved",
        next_url=_entry_url(case, entry),
        template="cases/form_page.html",
        context={
            **case_context(request, case),
            "title": "Change multi-agency information",
            "submit": "Save entry",
            "intro": "Information from another agency or from a person who knows the family.",
            "cancel_url": reverse("chronologies:entry", args=[case.pk, entry.pk]),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def entry_in_error(request, pk, entry_pk):
    case = case_for_page(request, pk, "opened mark chronology entry in error")
    entry = queries.case_entry(request.user, case, entry_pk)
    form = forms.InErrorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.entry_mark_in_error(
                actor=request.user, entry=entry, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                "Entry marked as recorded in error. It stays in the chronology, struck through.",
            )
            return redirect("chronologies:list", case.pk)
    return _page(
        request,
        case,
        "cases/form_page.html",
        status=400 if form.errors else 200,
        entry=entry,
        form=form,
        title="Mark this entry as recorded in error",
        submit="Mark as in error",
        intro=f"{entry.date_label}: {entry.title}. It stays in the chronology, "
        "struck through, with your reason.",
        cancel_url=reverse("chronologies:list", args=[case.pk]),
    )


@login_required
def analysis_view(request, pk):
    case = case_for_page(request, pk, "viewed chronology analysis")
    return _page(
        request,
        case,
        "chronologies/analysis.html",
        charts=analysis.case_analysis(case, today=timezone.localdate()),
    )


# --- Export ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def export_request(request, pk):
    """The export options; the filters come from the query string, as on the chronology."""
    case = case_for_page(request, pk, "opened export chronology")
    form = forms.ExportForm(request.POST or None)
    filter_form, _ = _filter_form(request, case)
    if request.method != "POST" or not form.is_valid() or filter_form.errors:
        labels = presentation.filter_labels(case, filter_form.filters())
        return _page(
            request,
            case,
            "cases/form_page.html",
            status=400 if form.errors or filter_form.errors else 200,
            form=form,
            title="Export the chronology",
            submit="Export chronology",
            intro="Filters: "
            + ("; ".join(labels) if labels else "none, the whole chronology")
            + ".",
            cancel_url=reverse("chronologies:list", args=[case.pk]),
        )
    d = form.cleaned_data
    filters = filter_form.filters()
    export = services.export_request(
        actor=request.user,
        case=case,
        format=d["format"],
        redacted=d["redacted"],
        in_error=d["in_error"],
        filters=filters.as_dict(),
        request=request,
    )
    if export.awaits_review:
        return redirect("chronologies:review", case.pk, export.pk)
    count = queries.case_entries(case, filters).count()
    if count <= settings.CHRONOLOGY_EXPORT_SYNC_MAX_ENTRIES:
        services.export_render(export.pk)
    else:
        services.export_send_to_worker(export.pk)
    return redirect("chronologies:export", case.pk, export.pk)


def _review_export(request, pk, export_pk, what):
    case = case_for_page(request, pk, what)
    export = queries.case_export(request.user, case, export_pk)
    if not export.redacted or not policy.can_review_redaction(request.user, export):
        raise PermissionDenied("Only the person who asked for this redacted export reviews it")
    return case, export


def _review_page(request, case, export, *, decisions_form=None, approval_form=None, status=200):
    state = services.redaction_review_state(export)
    stored = RedactionReview.objects.get(export=export)
    candidates = state.review.candidates
    if decisions_form is None:
        decisions_form = forms.RedactionDecisionsForm(
            candidates=candidates,
            initial={
                "shown": [c.key for c in candidates],
                "redact": [c.key for c in candidates if c.redacted],
                "added_terms": "\n".join(stored.added_terms),
            },
        )
    if approval_form is None:
        approval_form = forms.RedactionApprovalForm(initial={"version": state.version})
    automatic: dict = {}
    for _entry, fields in state.entries:
        for segments in fields.values():
            for s in segments:
                if s.rule is not None and s.rule.origin == "automatic":
                    item = automatic.setdefault(
                        (s.rule.label, s.text), {"label": s.rule.label, "text": s.text, "count": 0}
                    )
                    item["count"] += 1
    return _page(
        request,
        case,
        "chronologies/review.html",
        status=status,
        export=export,
        state=state,
        candidates=candidates,
        automatic=sorted(automatic.values(), key=lambda i: (i["label"], i["text"])),
        entries=[
            (e, {k: redaction.highlighted(v) for k, v in f.items()}) for e, f in state.entries
        ],
        cover=[redaction.highlighted(segments) for segments in state.cover],
        decisions_form=decisions_form,
        approval_form=approval_form,
        redact_checked=set(decisions_form["redact"].value() or []),
    )


@login_required
@require_http_methods(["GET", "POST"])
def export_review(request, pk, export_pk):
    """The redacted text before release: automatic redactions, candidates to decide on,
    the reviewer's own terms; then the approval (export_approve)."""
    case, export = _review_export(request, pk, export_pk, "reviewed redacted chronology")
    if not export.awaits_review:
        return redirect("chronologies:export", case.pk, export.pk)
    if request.method == "POST":
        candidates = services.redaction_review_state(export).review.candidates
        form = forms.RedactionDecisionsForm(request.POST, candidates=candidates)
        if form.is_valid():
            try:
                services.redaction_review_update(
                    actor=request.user,
                    export=export,
                    shown=form.cleaned_data["shown"],
                    redact=form.cleaned_data["redact"],
                    added_terms=form.cleaned_data["added_terms"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "Preview updated with your decisions")
                return redirect(reverse("chronologies:review", args=[case.pk, export.pk]))
        return _review_page(request, case, export, decisions_form=form, status=400)
    return _review_page(request, case, export)


@login_required
@require_http_methods(["GET", "POST"])
def export_approve(request, pk, export_pk):
    case, export = _review_export(request, pk, export_pk, "sent approval of redacted chronology")
    if request.method != "POST":
        return redirect("chronologies:review", case.pk, export.pk)
    form = forms.RedactionApprovalForm(request.POST)
    if form.is_valid():
        try:
            export = services.redaction_review_approve(
                actor=request.user,
                export=export,
                version=form.cleaned_data["version"],
                confirmed=form.cleaned_data["confirm"],
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            services.export_start(export)
            return redirect("chronologies:export", case.pk, export.pk)
    export.refresh_from_db()
    if not export.awaits_review:
        return redirect("chronologies:export", case.pk, export.pk)
    fresh = forms.RedactionApprovalForm(
        initial={"version": services.redaction_review_state(export).version}
    )
    fresh._errors = form.errors  # the errors, with the version of what is shown now
    return _review_page(request, case, export, approval_form=fresh, status=400)


@login_required
def export_status(request, pk, export_pk):
    case = case_for_page(request, pk, "viewed chronology export status")
    export = queries.case_export(request.user, case, export_pk)
    if request.headers.get("HX-Request"):
        return render(request, "chronologies/_export_status.html", {"export": export, "case": case})
    return _page(request, case, "chronologies/export.html", export=export)


@login_required
def export_download(request, pk, export_pk):
    case = case_for_page(request, pk, "opened chronology download")
    export = queries.case_export(request.user, case, export_pk)
    if not export.is_ready:
        raise Http404("This export is not ready or has been removed")
    path = services.export_dir() / export.file_name
    if not path.exists():
        raise Http404("This export has been removed")
    access.record(
        request,
        case=case,
        what=f"downloaded chronology export {export.pk} ({export.format})",
        via=access.Via.EXPORT,
        people=[child.pk for child in queries.case_children(case)],
    )
    content_type = "application/pdf" if export.format == "pdf" else "text/csv; charset=utf-8"
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=export.download_name,
        content_type=content_type,
    )
    return response


def case_panel(case, user, today) -> dict:
    """The chronology section of the case page: how many entries, how many significant
    ones, and the latest three of those (the section shows their date and title only).

    One query: the significant entries sort first, newest first as the chronology does,
    and each row carries both counts, which are taken over all the case's entries.
    """
    significant = queries.significant_q()
    rows = list(
        ChronologyEntry.objects.filter(case=case)
        .annotate(
            is_significant=ExpressionWrapper(significant, output_field=BooleanField()),
            total=Window(Count("pk")),
            significant_total=Window(Count("pk", filter=significant & Q(in_error=False))),
        )
        .order_by(F("is_significant").desc(), *ChronologyEntry._meta.ordering)[:3]
    )
    return {
        "case": case,
        "count": rows[0].total if rows else 0,
        "significant": rows[0].significant_total if rows else 0,
        "latest": [e for e in rows if e.is_significant],
    }
