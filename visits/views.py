"""Visit pages: plan, record (from the doorstep), see and correct."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from cases.views import case_context, case_for_page
from common.errors import apply_service_errors

from . import forms, queries, services
from .models import Visit


def _page(request, case, template, status=200, **extra):
    context = case_context(request, case)
    context.update(extra)
    return render(request, template, context, status=status)


def _child_forms(request, case, day, bound):
    children = services.children_in_household(case, day)
    return [
        forms.ChildSeenForm(
            request.POST if bound else None, child=child, prefix=f"child-{child.pk}"
        )
        for child in children
    ]


def _outcome_from_forms(outcome_form, child_forms):
    """The service's input, or None with errors added to the forms."""
    completed = outcome_form.cleaned_data["outcome"] == Visit.Outcome.COMPLETED
    children = []
    for form in child_forms:
        values = form.values(completed=completed)
        if values is None:
            continue
        if values.get("missing"):
            form.add_error("seen", f"Say whether {form.child.first_name or 'the child'} was seen")
            continue
        children.append(services.ChildSeenInput(child=form.child, **values))
    if any(f.errors for f in child_forms):
        return None
    data = outcome_form.cleaned_data
    observations = []
    if data.get("observed"):
        observations.append(
            services.ObservationInput(
                what_was_seen=data["observed"], analysis=data.get("observed_analysis", "")
            )
        )
    return services.Outcome(
        outcome=data["outcome"],
        occurred_at=outcome_form.occurred_at(),
        default_reason=data.get("default_reason") or "",
        children=children,
        observations=observations,
        present_members=list(data["present_members"]),
        others_present=data["others_present"],
        parent_report=data["parent_report"],
        notes=data["notes"],
    )


def _members(case, day):
    return list(services.household_on(case, day))


@login_required
@require_http_methods(["GET", "POST"])
def visit_log(request, pk):
    """Record a visit that has just happened (or was defeated), in one submission."""
    case = case_for_page(request, pk, "opened record a visit")
    if not case.is_open:
        raise PermissionDenied("This case is closed")
    today = timezone.localdate()
    now = timezone.localtime()
    bound = request.method == "POST"
    details = forms.VisitDetailsForm(
        request.POST if bound else None,
        case=case,
        user=request.user,
        prefix="v",
        initial={"kind": "home", "announced": "yes"},
    )
    outcome = forms.VisitOutcomeForm(
        request.POST if bound else None,
        members=_members(case, today),
        prefix="o",
        initial={"date": today, "time": now.strftime("%H:%M")},
    )
    child_forms = _child_forms(request, case, today, bound)
    if (
        bound
        and details.is_valid()
        and outcome.is_valid()
        and all(f.is_valid() for f in child_forms)
    ):
        data = _outcome_from_forms(outcome, child_forms)
        if data is not None:
            d = details.cleaned_data
            try:
                visit = services.visit_log(
                    actor=request.user,
                    case=case,
                    data=data,
                    kind=d["kind"],
                    announced=d["announced"],
                    joint_worker=d["joint_worker"],
                    joint_agency=d["joint_agency"],
                    purpose=d["purpose"],
                )
            except ValidationError as exc:
                apply_service_errors([outcome, details], exc)
            else:
                messages.success(request, _saved_message(visit))
                return redirect("cases:detail", case.pk)
    errors = details.errors or outcome.errors or any(f.errors for f in child_forms)
    return _page(
        request,
        case,
        "visits/visit_form.html",
        status=400 if errors else 200,
        details=details,
        outcome=outcome,
        child_forms=child_forms,
        title="Record a visit",
        submit="Save visit",
    )


def _saved_message(visit: Visit) -> str:
    if visit.outcome == Visit.Outcome.DEFAULTED:
        return (
            "Defaulted visit recorded. Defaulted visits are counted: the team manager "
            "is alerted when the family defeats a fourth."
        )
    return "Visit recorded"


@login_required
@require_http_methods(["GET", "POST"])
def visit_plan(request, pk):
    case = case_for_page(request, pk, "opened plan a visit")
    if not case.is_open:
        raise PermissionDenied("This case is closed")
    form = forms.VisitPlanForm(
        request.POST or None,
        case=case,
        user=request.user,
        initial={"kind": "home", "announced": "yes"},
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.visit_plan(
                actor=request.user,
                case=case,
                planned_for=form.planned_for(),
                kind=d["kind"],
                announced=d["announced"],
                joint_worker=d["joint_worker"],
                joint_agency=d["joint_agency"],
                purpose=d["purpose"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Visit planned")
            return redirect("cases:detail", case.pk)
    return _page(
        request,
        case,
        "visits/plan_form.html",
        status=400 if form.errors else 200,
        form=form,
        title="Plan a visit",
        submit="Plan visit",
    )


@login_required
@require_http_methods(["GET", "POST"])
def visit_record(request, pk, visit_pk):
    """Record the outcome of a planned visit, also after the fact."""
    case = case_for_page(request, pk, "opened record a visit outcome")
    visit = get_object_or_404(Visit, pk=visit_pk, case=case, in_error=False)
    planned = timezone.localtime(visit.planned_for)
    day = min(planned.date(), timezone.localdate())
    bound = request.method == "POST"
    initial = {"date": planned.date(), "time": planned.strftime("%H:%M")}
    if visit.outcome != Visit.Outcome.PLANNED:
        occurred = timezone.localtime(visit.occurred_at)
        initial.update(
            outcome=visit.outcome,
            default_reason=visit.default_reason,
            date=occurred.date(),
            time=occurred.strftime("%H:%M"),
            others_present=visit.others_present,
            parent_report=visit.parent_report,
            notes=visit.notes,
            present_members=visit.present_members.all(),
        )
    outcome = forms.VisitOutcomeForm(
        request.POST if bound else None, members=_members(case, day), prefix="o", initial=initial
    )
    child_forms = _child_forms(request, case, day, bound)
    if bound and outcome.is_valid() and all(f.is_valid() for f in child_forms):
        data = _outcome_from_forms(outcome, child_forms)
        if data is not None:
            try:
                visit = services.visit_record(actor=request.user, visit=visit, data=data)
            except ValidationError as exc:
                apply_service_errors([outcome], exc)
            else:
                messages.success(request, _saved_message(visit))
                return redirect("cases:detail", case.pk)
    errors = outcome.errors or any(f.errors for f in child_forms)
    return _page(
        request,
        case,
        "visits/visit_form.html",
        status=400 if errors else 200,
        details=None,
        outcome=outcome,
        child_forms=child_forms,
        visit=visit,
        title=f"What happened at the visit planned for {planned:%d %B %Y, %H:%M}?",
        submit="Save visit",
    )


@login_required
def visit_detail(request, pk, visit_pk):
    case = case_for_page(request, pk, "viewed a visit")
    visit = get_object_or_404(
        Visit.objects.select_related(
            "lead_worker", "joint_worker", "joint_agency", "outcome_recorded_by"
        ),
        pk=visit_pk,
        case=case,
    )
    return _page(
        request,
        case,
        "visits/visit_detail.html",
        visit=visit,
        children=visit.children.select_related("child"),
        observations=visit.observations.select_related("adult", "child"),
    )


@login_required
def visit_list(request, pk):
    case = case_for_page(request, pk, "viewed visits")
    visits = (
        Visit.objects.filter(case=case)
        .select_related("lead_worker")
        .prefetch_related("children__child")
        .order_by("-planned_for")
    )
    page = Paginator(visits, 25).get_page(request.GET.get("page"))
    return _page(request, case, "visits/visit_list.html", page=page)


@login_required
@require_http_methods(["GET", "POST"])
def visit_in_error(request, pk, visit_pk):
    case = case_for_page(request, pk, "opened mark visit in error")
    visit = get_object_or_404(Visit, pk=visit_pk, case=case, in_error=False)
    form = forms.InErrorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.visit_mark_in_error(
                actor=request.user, visit=visit, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Visit marked as recorded in error")
            return redirect("cases:detail", case.pk)
    return _page(
        request,
        case,
        "cases/form_page.html",
        status=400 if form.errors else 200,
        form=form,
        title=f"Recorded in error: {visit}",
        submit="Mark in error",
        intro="",
        cancel_url=reverse("cases:detail", args=[case.pk]),
    )


def case_panel(case, user, today) -> dict:
    """The visits section of the case page: each child's last seen and next due."""
    return {
        "case": case,
        "children": queries.children_seen_status(case, today=today),
        # The latest five that have happened (or were cancelled): planned ones are listed
        # apart, and would otherwise take the places of past visits.
        "recent": Visit.objects.filter(case=case)
        .exclude(outcome=Visit.Outcome.PLANNED)
        .order_by("-occurred_at", "-id")[:5],
        "planned": Visit.objects.filter(
            case=case, outcome=Visit.Outcome.PLANNED, in_error=False
        ).order_by("planned_for")[:5],
    }
