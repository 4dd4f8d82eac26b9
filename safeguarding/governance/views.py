"""The access log for managers and information governance: who was shown (or refused)
which child, and what a user was shown.

Two views, each filtered by dates, route and outcome, newest first, 50 to a page and
downloadable as CSV (the spreadsheet-formula guard of the chronology export on every
cell). Who may read which rows is the policy's (accounts.policy, "The access log").
Reading the log is itself logged: the child's log as a row for that child, a user's log
as a row naming the user read.
"""

import csv
import datetime
import io

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts import access, policy
from accounts.models import AccessLog
from cases.models import Case, Membership, Person
from chronologies.export import neutralise

from . import forms

PER_PAGE = 50
CSV_MAX_ROWS = 100_000  # a larger export is narrowed by dates first

CSV_HEADER = [
    "When",
    "User",
    "Username",
    "Person id",
    "Person",
    "Case id",
    "Case reference",
    "Through",
    "Page or endpoint",
    "What",
    "From address",
    "Outcome",
]


def _reader(request):
    if not policy.can_read_access_log(request.user):
        raise PermissionDenied("Your role does not give access to the access log")
    return request.user


def _visible_logs(user):
    return policy.visible_access_log(
        user,
        AccessLog.objects.all(),
        cases=Case.objects.all(),
        memberships=Membership.objects.all(),
    )


def _query_without_page(request) -> str:
    q = request.GET.copy()
    q.pop("page", None)
    q.pop("format", None)
    return q.urlencode()


def _filtered(logs, form):
    if not form.is_valid():
        return logs.none()
    data = form.cleaned_data
    tz = timezone.get_current_timezone()
    if data.get("date_from"):
        start = datetime.datetime.combine(data["date_from"], datetime.time.min, tzinfo=tz)
        logs = logs.filter(at__gte=start)
    if data.get("date_to"):
        end = datetime.datetime.combine(
            data["date_to"] + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz
        )
        logs = logs.filter(at__lt=end)
    if data.get("via"):
        logs = logs.filter(via=data["via"])
    if data.get("outcome"):
        logs = logs.filter(outcome=data["outcome"])
    return logs.select_related("user").order_by("-at", "-id")


def _people_names(rows) -> dict[int, str]:
    ids = {r.person_id for r in rows if r.person_id}
    return {
        pk: person.display_name
        for pk, person in Person.objects.only(
            "first_name", "middle_names", "last_name", "date_of_birth", "expected_date_of_birth"
        )
        .in_bulk(ids)
        .items()
    }


def _csv(rows, filename: str) -> HttpResponse:
    rows = list(rows[:CSV_MAX_ROWS])
    names = _people_names(rows)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow(
            [
                neutralise(v)
                for v in (
                    timezone.localtime(r.at).isoformat(timespec="seconds"),
                    r.user.get_full_name(),
                    r.user.username,
                    r.person_id or "",
                    names.get(r.person_id, "") if r.person_id else "",
                    r.case_id or "",
                    r.case_reference,
                    r.get_via_display(),
                    r.route,
                    r.what,
                    r.ip_address or "",
                    r.get_outcome_display(),
                )
            ]
        )
    response = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _log_page(request, logs, *, template_context, filename: str, what: str, people):
    """The filtered, paginated table (or its CSV), the reading noted in the log."""
    form = forms.LogFilterForm(request.GET)
    rows = _filtered(logs, form)
    as_csv = request.GET.get("format") == "csv" and form.is_valid()
    access.record(
        request,
        what=f"{what}{' (CSV)' if as_csv else ''}",
        via=access.Via.ACCESS_LOG,
        people=people,
    )
    if as_csv:
        return _csv(rows, filename)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    names = _people_names(page.object_list)
    entries = [(r, names.get(r.person_id, "") if r.person_id else "") for r in page]
    query = _query_without_page(request)
    return render(
        request,
        "governance/access_log.html",
        {
            **template_context,
            "form": form,
            "page": page,
            "entries": entries,
            "query": query,
            "csv_query": f"{query}&format=csv" if query else "format=csv",
            "filtered": any(request.GET.get(k) for k in form.fields if k != "person"),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_GET
def access_start(request):
    _reader(request)
    return render(
        request,
        "governance/access_start.html",
        {
            "person_form": forms.PersonPickForm(),
            "user_form": forms.UserPickForm(),
            "reads_all": policy.reads_whole_access_log(request.user),
        },
    )


def _picked(request, form_class, **render_context):
    """The person or user asked for in the query string, or the start page with the
    error beside its field."""
    form = form_class(request.GET)
    if form.is_valid():
        return form, None
    context = {
        "person_form": forms.PersonPickForm(),
        "user_form": forms.UserPickForm(),
        "reads_all": policy.reads_whole_access_log(request.user),
        **render_context,
    }
    key = "person_form" if form_class is forms.PersonPickForm else "user_form"
    context[key] = form
    return form, render(request, "governance/access_start.html", context, status=400)


@login_required
@require_GET
def access_child(request):
    """Who was shown (or refused) this child or person, and through what."""
    user = _reader(request)
    form, error_page = _picked(request, forms.PersonPickForm)
    if error_page is not None:
        return error_page
    person = Person.objects.filter(pk=form.cleaned_data["person"]).first()
    if person is None or not policy.can_read_access_log_of_person(
        user, person, cases=Case.objects.all()
    ):
        raise Http404("No record you may see the access log of")
    return _log_page(
        request,
        _visible_logs(user).filter(person_id=person.pk),
        template_context={"person": person, "subject": "child"},
        filename=f"access-log-record-{person.pk}.csv",
        what=f"read who looked at record {person.pk}",
        people=[person.pk],
    )


@login_required
@require_GET
def access_user(request):
    """What this user was shown (or refused): for a team manager, of their team's
    children only."""
    user = _reader(request)
    form, error_page = _picked(request, forms.UserPickForm)
    if error_page is not None:
        return error_page
    target = form.cleaned_data["user"]
    return _log_page(
        request,
        _visible_logs(user).filter(user=target),
        template_context={"target": target, "subject": "user"},
        filename=f"access-log-user-{target.pk}.csv",
        what=f"read what user {target.pk} looked at",
        people=[],
    )
