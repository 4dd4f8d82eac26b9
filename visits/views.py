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
from common.concurrency import EditConflict
from common.errors import apply_service_errors
from common.pages import keep_newer_version

from . import forms, queries, rules, services
from .models import Visit


def _page(request, case, template, status=200, **extra):
    context = case_context(request, case)
    context.update(extra)
    return render(request, template, context, status=status)


def _children_forms(request, case, day, bound, stored=None):
    """A form for each child in the household on the day who was born by then, filled
    from their stored row of the visit if there is one; and the unborn babies, whom a
    visit does not see (they are named on the form, with no questions)."""
    stored = stored or {}
    forms_, unborn = [], []
    for child in services.children_in_household(case, day):
        if rules.person_unborn_on(child, day):
            unborn.append(child)
            continue
        row = stored.get(child.pk)
        forms_.append(
            forms.ChildSeenForm(
                request.POST if bound else None,
                child=child,
                prefix=f"child-{child.pk}",
                initial=forms.ChildSeenForm.initial_from(row) if row is not None else None,
            )
        )
    return forms_, unborn


def _observation_forms(request, observations, bound):
    """A form for each observation on the visit. One whose fields were not sent (added
    by someone else after the form was opened) is shown as stored and not changed."""
    result = []
    for number, observation in enumerate(observations, start=1):
        prefix = f"obs-{observation.pk}"
        sent = bound and f"{prefix}-what_was_seen" in request.POST
        result.append(
            forms.ObservationForm(
                request.POST if sent else None,
                observation=observation,
                number=number,
                prefix=prefix,
            )
        )
    return result


def _outcome_from_forms(outcome_form, child_forms, observation_forms=(), stored_at=None):
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
    observations = [
        services.ObservationInput(
            observation_id=form.observation.pk,
            what_was_seen=form.cleaned_data["what_was_seen"],
            analysis=form.cleaned_data["analysis"],
        )
        for form in observation_forms
        if form.is_bound
    ]
    if data.get("observed"):
        observations.append(
            services.ObservationInput(
                what_was_seen=data["observed"], analysis=data.get("observed_analysis", "")
            )
        )
    return services.Outcome(
        outcome=data["outcome"],
        occurred_at=outcome_form.occurred_at(stored_at),
        default_reason=data.get("default_reason") or "",
        children=children,
        observations=observations,
        present_members=list(data["present_members"]),
        others_present=data["others_present"],
        parent_report=data["parent_report"],
        notes=data["notes"],
    )


def _people_present(case, day, stored=()):
    """Who may be ticked as there: the household on the day (an unborn baby is not
    among them), and anyone already recorded as there."""
    people = {
        m.person.pk: m.person
        for m in services.household_on(case, day)
        if not rules.person_unborn_on(m.person, day)
    }
    people.update({p.pk: p for p in stored})
    return list(people.values())


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
        people=_people_present(case, today),
        prefix="o",
        initial={"date": today, "time": now.strftime("%H:%M")},
    )
    child_forms, unborn = _children_forms(request, case, today, bound)
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
        unborn=unborn,
        has_errors=bool(errors),
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
    """Record the outcome of a planned visit, also after the fact; and change what was
    recorded. The form starts from everything stored, so what is not changed is kept."""
    case = case_for_page(request, pk, "opened record a visit outcome")
    visit = get_object_or_404(
        Visit.objects.prefetch_related(
            "present_members", "children", "observations__adult", "observations__child"
        ),
        pk=visit_pk,
        case=case,
        in_error=False,
    )
    planned = timezone.localtime(visit.planned_for)
    recorded = visit.outcome != Visit.Outcome.PLANNED
    stored_at = visit.occurred_at if recorded else None
    when = timezone.localtime(stored_at) if recorded else planned
    day = min(when.date(), timezone.localdate())
    bound = request.method == "POST"
    present = list(visit.present_members.all())
    initial = {
        "date": when.date(),
        "time": when.strftime("%H:%M"),
        "version": services.visit_version(visit),
    }
    if recorded:
        initial.update(
            outcome=visit.outcome,
            default_reason=visit.default_reason,
            others_present=visit.others_present,
            parent_report=visit.parent_report,
            notes=visit.notes,
            present_members=[p.pk for p in present],
        )
    outcome = forms.VisitOutcomeForm(
        request.POST if bound else None,
        people=_people_present(case, day, present),
        prefix="o",
        initial=initial,
    )
    stored_children = {row.child_id: row for row in visit.children.all()}
    child_forms, unborn = _children_forms(request, case, day, bound, stored_children)
    observation_forms = _observation_forms(
        request, sorted(visit.observations.all(), key=lambda o: o.pk), bound
    )
    everything = [outcome, *child_forms, *(f for f in observation_forms if f.is_bound)]
    if bound and all(f.is_valid() for f in everything):
        data = _outcome_from_forms(outcome, child_forms, observation_forms, stored_at)
        if data is not None:
            try:
                visit = services.visit_record(
                    actor=request.user,
                    visit=visit,
                    data=data,
                    version=outcome.cleaned_data.get("version") or None,
                )
            except EditConflict as exc:
                apply_service_errors([outcome], exc)
                keep_newer_version([outcome], exc.current_version)
            except ValidationError as exc:
                apply_service_errors([outcome], exc)
            else:
                messages.success(request, _saved_message(visit))
                return redirect("cases:detail", case.pk)
    errors = any(f.errors for f in everything)
    return _page(
        request,
        case,
        "visits/visit_form.html",
        status=400 if errors else 200,
        details=None,
        outcome=outcome,
        child_forms=child_forms,
        unborn=unborn,
        observation_forms=observation_forms,
        has_errors=errors,
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
    day = timezone.localdate(visit.occurred_at or visit.planned_for)
    children = list(visit.children.select_related("child"))
    for row in children:
        # A row for a baby not yet born that day (recorded before the form stopped
        # asking) says nothing about seeing them, and counts for nothing.
        row.unborn = rules.person_unborn_on(row.child, day)
    return _page(
        request,
        case,
        "visits/visit_detail.html",
        visit=visit,
        children=children,
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
    for visit in page.object_list:
        day = timezone.localdate(visit.occurred_at or visit.planned_for)
        for row in visit.children.all():
            row.unborn = rules.person_unborn_on(row.child, day)
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
