"""Lists of cases and escalations, and opening a case."""

import secrets
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts import access
from common.pages import form_page

from .. import forms, queries, services

FILTERS_SESSION_KEY = "case_list_filters"


@login_required
@require_http_methods(["GET", "POST"])
def case_list(request):
    """My cases for a worker; the team's cases for everyone else, with search and filters.

    Searches can hold names and dates of birth, which must not go into URLs, so the
    filter form is posted and kept in the session under a random key.
    """
    user = request.user
    scope = request.GET.get("scope", "")
    if scope not in ("mine", "team"):
        scope = "team" if user.is_manager else "mine"
    stored = request.session.get(FILTERS_SESSION_KEY, {})
    if request.method == "POST":
        form = forms.CaseFilterForm(request.POST, user=user)
        if form.is_valid():
            key = secrets.token_urlsafe(8)
            data = {k: v for k, v in request.POST.items() if k in form.fields}
            stored = {key: data, **dict(list(stored.items())[:4])}
            request.session[FILTERS_SESSION_KEY] = stored
            # The scope the search was made in is kept: "Team cases" stays team cases.
            return redirect(f"{reverse('cases:list')}?{urlencode({'scope': scope, 's': key})}")
    else:
        data = stored.get(request.GET.get("s", ""), None)
        form = forms.CaseFilterForm(
            data if data is not None else None, user=user, initial={"status": "open"}
        )
    filters = {"status": "open"}
    if form.is_bound and form.is_valid():
        filters = form.cleaned_data
    cases = queries.case_list(
        user,
        search=filters.get("q", ""),
        status=filters.get("status", ""),
        on_plan=filters.get("on_plan", ""),
        worker_id=filters["worker"].pk if filters.get("worker") else None,
        mine=scope == "mine",
    )
    page = Paginator(cases, 25).get_page(request.GET.get("page"))
    via = access.Via.SEARCH if filters.get("q") else access.Via.LIST
    for case in page:  # the page's cases are read here, once, for the template too
        access.record(
            request,
            case=case,
            people=[m.person_id for m in case.current_children],
            what="case list",
            via=via,
        )
    return render(
        request,
        "cases/case_list.html",
        {
            "form": form,
            "page": page,
            "scope": scope,
            "search_key": request.GET.get("s", ""),
            "page_query": urlencode(
                {"scope": scope, **({"s": request.GET["s"]} if request.GET.get("s") else {})}
            ),
            "status_code": 400 if form.errors else 200,
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_create(request):
    user = request.user
    form = forms.CaseCreateForm(
        request.POST or None, user=user, initial={"opened_on": timezone.localdate()}
    )
    return form_page(
        request,
        form,
        lambda data: services.case_create(actor=user, **data),
        success=lambda case: (
            f"Case {case.reference} opened for the {case.family_name} family. Add the "
            "people in the household next."
        ),
        next_url=lambda case: reverse("cases:detail", args=[case.pk]),
        template="cases/case_create.html",
        context={},
    )


@login_required
def escalation_list(request):
    """Open and overdue escalations by due date: mine, my team's, or all I can see."""
    scope = request.GET.get("scope") or ("team" if request.user.is_manager else "mine")
    escalations = queries.escalations_for(request.user, scope=scope)
    page = Paginator(escalations, 50).get_page(request.GET.get("page"))
    for escalation in page:
        access.record(request, case=escalation.case, what="escalations list", via=access.Via.LIST)
    return render(
        request,
        "cases/escalation_list.html",
        {"page": page, "scope": scope, "today": timezone.localdate()},
    )
