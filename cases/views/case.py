"""The case page, its history, and changing, closing, reopening, allocating and
restricting a case."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts import access, policy

from .. import forms, history, panels, queries, services
from .base import _case, _case_context, _submit, _top_of_page


@login_required
def case_detail(request, pk):
    case = _case(request, pk, "viewed case page")
    today = timezone.localdate()
    # The case's people, plans, hazards and escalations are read once and every section
    # (and the panels, through children_plan_status) is cut from them.
    record = queries.case_record(case, today=today)
    context = _top_of_page(
        case,
        today,
        children=record.children_status,
        hazards=record.active_hazards,
        escalations=record.active_escalations,
    )
    # Everyone the page names: the household now, elsewhere and before (the children
    # are among them).
    access.record(
        request,
        case=case,
        what="viewed case page",
        people=[m.person_id for group in record.household.values() for m in group],
    )
    addresses = list(case.addresses.filter(in_error=False))
    context.update(
        household=record.household,
        addresses=addresses,
        current_address=next((a for a in addresses if a.end_date is None), None),
        plans=record.plans,
        hazards=record.hazards,
        person_hazards=record.person_hazards,
        workers=case.allocated_workers.all(),
        can_close=case.is_open and policy.can_close_case(request.user, case),
        can_reopen=not case.is_open and policy.can_reopen_case(request.user, case),
        can_restrict=policy.can_manage_restriction(request.user, case),
        can_allocate=case.is_open and policy.can_allocate_case(request.user, case),
        recent_changes=history.case_changes(case, limit=8, people=record.people),
        panels=panels.render_context(case, request.user, today),
        # Meetings recorded in error stay listed, struck through, as other records do.
        meetings=case.meetings.order_by("-held_on", "-id")[:10],
        can_edit=case.is_open and policy.can_edit_case(request.user, case),
        past_escalations=record.past_escalations,
    )
    context.update(_agreements(case, today))
    return render(request, "cases/case_detail.html", context)


REVIEW_DUE_SOON_DAYS = 7


def _agreements(case, today) -> dict:
    """The written agreement in force (with its breaches, and whether its review is due
    or overdue) and the ones before it: ended, or recorded in error, struck through."""
    agreements = list(
        case.agreements.prefetch_related("agreed_by", "breaches__visit").order_by(
            "-agreed_on", "-id"
        )
    )
    in_force = next((a for a in agreements if a.in_force), None)
    review = None
    if in_force is not None:
        days = (in_force.review_due - today).days
        if days < 0:
            review = {"state": "overdue", "days": -days}
        elif days <= REVIEW_DUE_SOON_DAYS:
            review = {"state": "due", "days": days}
    return {
        "agreement": in_force,
        "agreement_review": review,
        "past_agreements": [a for a in agreements if a is not in_force],
    }


@login_required
def case_history(request, pk):
    case = _case(request, pk, "viewed history of changes")
    context = _case_context(case, timezone.localdate())
    page = Paginator(history.case_changes(case), 50).get_page(request.GET.get("page"))
    context.update(page=page)
    return render(request, "cases/case_history.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def case_edit(request, pk):
    case = _case(request, pk, "opened edit case details")
    form = forms.CaseEditForm(
        request.POST or None,
        initial={
            "family_name": case.family_name,
            "summary": case.summary,
            "version": services.case_version(case),
        },
    )
    return _submit(
        request,
        case,
        form,
        lambda data: services.case_update(actor=request.user, case=case, **data),
        success="Case details saved",
        title="Change case details",
        submit="Save details",
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_close(request, pk):
    case = _case(request, pk, "opened close case")
    if not policy.can_close_case(request.user, case):
        raise PermissionDenied
    form = forms.CaseCloseForm(request.POST or None, initial={"closed_on": timezone.localdate()})
    return _submit(
        request,
        case,
        form,
        lambda data: services.case_close(actor=request.user, case=case, **data),
        success=f"Case {case.reference} closed",
        title="Close this case",
        submit="Close case",
        intro="A closed case can be reopened by a manager.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_reopen(request, pk):
    case = _case(request, pk, "opened reopen case")
    if not policy.can_reopen_case(request.user, case):
        raise PermissionDenied
    form = forms.ReasonForm(
        request.POST or None,
        label="Why is the case being reopened?",
        required="Enter why the case is being reopened",
    )
    return _submit(
        request,
        case,
        form,
        lambda data: services.case_reopen(actor=request.user, case=case, **data),
        success=f"Case {case.reference} reopened",
        title="Reopen this case",
        submit="Reopen case",
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_allocate(request, pk):
    case = _case(request, pk, "opened allocation")
    if not policy.can_allocate_case(request.user, case):
        raise PermissionDenied
    form = forms.AllocationForm(
        request.POST if request.method == "POST" else None,
        case=case,
        initial={"workers": case.allocated_workers.all()},
    )
    return _submit(
        request,
        case,
        form,
        lambda data: services.case_allocate(actor=request.user, case=case, **data),
        success="Allocation saved",
        title="Allocate workers",
        submit="Save allocation",
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_restrict(request, pk):
    case = _case(request, pk, "opened restriction")
    if not policy.can_manage_restriction(request.user, case):
        raise PermissionDenied
    form = forms.RestrictionForm(
        request.POST or None,
        initial={"restricted": case.restricted, "named_users": case.restricted_to.all()},
    )
    return _submit(
        request,
        case,
        form,
        lambda data: services.case_set_restriction(actor=request.user, case=case, **data),
        success="Access to this case saved",
        title="Who may see this case",
        submit="Save",
    )
