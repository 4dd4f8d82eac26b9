"""Pages of the case record. Views collect input and call services and queries."""

import secrets
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts import policy
from accounts.services import access_log_record
from common.errors import apply_service_errors
from common.pages import form_page, render_form_page

from . import forms, history, panels, queries, services
from .models import (
    Address,
    Case,
    ChildProtectionPlan,
    Escalation,
    Hazard,
    Meeting,
    Membership,
    Person,
)

FILTERS_SESSION_KEY = "case_list_filters"


def _case(request, pk, what: str) -> Case:
    """The case if this user may see it (else 404), with the view written to the log."""
    case = queries.get_case(request.user, pk)
    access_log_record(user=request.user, case=case, what=what, request=request)
    return case


def _case_context(case: Case, today) -> dict:
    """What every case page shows at the top: identity, plan status, active hazards."""
    return _top_of_page(
        case,
        today,
        children=queries.children_plan_status(case, today=today),
        hazards=queries.active_hazards(case, today=today),
        escalations=queries.active_escalations(case),
    )


def _top_of_page(case: Case, today, *, children, hazards, escalations) -> dict:
    return {
        "case": case,
        "children_status": children,
        "any_child_on_plan": any(plan for _, plan in children),
        "active_hazards": hazards,
        "active_escalations": escalations,
        "today": today,
    }


def case_for_page(request, pk, what: str) -> Case:
    """For case pages in other apps: the case under the one policy, with the view logged."""
    return _case(request, pk, what)


def case_context(request, case: Case) -> dict:
    """The top-of-page context for a case page in any app (identity bar, hazards,
    escalations)."""
    return _case_context(case, timezone.localdate())


def _page_context(case, *, title, submit, intro="", cancel_url=None, **extra) -> dict:
    context = _case_context(case, timezone.localdate())
    context.update(
        title=title,
        submit=submit,
        intro=intro,
        cancel_url=cancel_url or reverse("cases:detail", args=[case.pk]),
        **extra,
    )
    return context


def _form_page(request, case, form, *, title, submit, intro="", cancel_url=None, **extra):
    context = _page_context(
        case, title=title, submit=submit, intro=intro, cancel_url=cancel_url, **extra
    )
    return render_form_page(request, "cases/form_page.html", {**context, "form": form}, form)


def _submit(request, case, form, save, *, success, title, submit, intro=""):
    """Every small case form (`common.pages.form_page`), back to the case on success."""
    return form_page(
        request,
        form,
        save,
        success=success,
        next_url=reverse("cases:detail", args=[case.pk]),
        template="cases/form_page.html",
        context=_page_context(case, title=title, submit=submit, intro=intro),
    )


def _require_open(case):
    if not case.is_open:
        raise PermissionDenied("This case is closed")


# --- Lists ------------------------------------------------------------------------------


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


# --- The case page ----------------------------------------------------------------------


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
        can_allocate=policy.can_allocate_case(request.user, case),
        recent_changes=history.case_changes(case, limit=8, people=record.people),
        panels=panels.render_context(case, request.user, today),
        # Meetings recorded in error stay listed, struck through, as other records do.
        meetings=case.meetings.order_by("-held_on", "-id")[:10],
        can_edit=policy.can_edit_case(request.user, case),
        past_escalations=record.past_escalations,
    )
    return render(request, "cases/case_detail.html", context)


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
    form = forms.ReasonForm(request.POST or None)
    form.fields["reason"].label = "Why is the case being reopened?"
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
        request.POST or None, case=case, initial={"workers": case.allocated_workers.all()}
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


# --- People and membership -----------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def person_add(request, pk):
    """Search before create: matches are shown before a new person can be made.

    Step 1 posts the search. Step 2 shows the matches and, in one form, lets the
    worker pick one of them or, having seen them, describe a new person; the search
    is carried along in hidden fields so the matches stay on screen if the second
    step has errors. Everything is posted: names and dates of birth never go into
    a URL.
    """
    case = _case(request, pk, "opened add a person")
    _require_open(case)
    action = request.POST.get("action", "")
    search = forms.PersonSearchForm(
        request.POST if action in ("search", "add") else None, prefix="s"
    )
    context = _case_context(case, timezone.localdate())
    context.update(search=search, step=1)
    if action in ("search", "add") and search.is_valid():
        s = search.cleaned_data
        matches = queries.person_matches(
            request.user,
            first_name=s["first_name"],
            last_name=s["last_name"],
            date_of_birth=s["date_of_birth"],
            nhs_number=s["nhs_number"],
        )
        choice = forms.PersonChoiceForm(request.POST if action == "add" else None, matches=matches)
        membership = forms.MembershipFields(
            request.POST if action == "add" else None,
            prefix="m",
            initial={"start_date": timezone.localdate(), "lives_in_household": "yes"},
        )
        person_form = forms.PersonForm(
            request.POST if action == "add" and request.POST.get("person") == "new" else None,
            prefix="p",
            initial={
                "first_name": s["first_name"],
                "last_name": s["last_name"],
                "date_of_birth": s["date_of_birth"],
                "nhs_number": s["nhs_number"],
            },
        )
        context.update(
            step=2,
            matches=matches,
            choice=choice,
            membership_form=membership,
            person_form=person_form,
            search_hidden=[(k, v) for k, v in request.POST.items() if k.startswith("s-")],
        )
        if action == "add" and choice.is_valid() and membership.is_valid():
            picked = choice.cleaned_data["person"]
            try:
                if picked == "new":
                    if person_form.is_valid():
                        person = _add_new_person(request.user, case, person_form, membership)
                    else:
                        person = None
                else:
                    person = _matchable_person(request.user, picked)
                    services.membership_add(
                        actor=request.user, case=case, person=person, **membership.cleaned_data
                    )
            except ValidationError as exc:
                apply_service_errors([membership, person_form, choice], exc)
            else:
                if person is not None:
                    messages.success(request, f"{person.display_name} added to the case")
                    return redirect("cases:detail", case.pk)
    has_errors = any(
        f.errors
        for f in (
            search,
            context.get("choice"),
            context.get("membership_form"),
            context.get("person_form"),
        )
        if f is not None and f.is_bound
    )
    return render(request, "cases/person_add.html", context, status=400 if has_errors else 200)


def _add_new_person(actor, case, person_form, membership) -> Person:
    with transaction.atomic():
        person = services.person_create(actor=actor, **person_form.cleaned_data)
        services.membership_add(actor=actor, case=case, person=person, **membership.cleaned_data)
    return person


def _matchable_person(user, person_id) -> Person:
    try:
        person_id = int(person_id)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    person = get_object_or_404(Person, pk=person_id)
    visible = queries.cases_for(user).values_list("pk", flat=True)
    cases = person.memberships.values_list("case__restricted", "case_id")
    if cases and all(restricted and cid not in set(visible) for restricted, cid in cases):
        raise Http404
    return person


@login_required
@require_http_methods(["GET", "POST"])
def person_edit(request, pk, person_pk):
    case = _case(request, pk, "opened edit person")
    person = get_object_or_404(Person, pk=person_pk, memberships__case=case)
    form = forms.PersonForm(request.POST or None, instance=person)
    return _submit(
        request,
        case,
        form,
        lambda data: services.person_update(
            actor=request.user,
            person=person,
            **{f: form.cleaned_data[f] for f in forms.PersonForm.Meta.fields},
        ),
        success=f"Details of {person.full_name} saved",
        title=f"Change details of {person.full_name}",
        submit="Save details",
    )


def _membership(case, membership_pk) -> Membership:
    return get_object_or_404(Membership, pk=membership_pk, case=case, in_error=False)


@login_required
@require_http_methods(["GET", "POST"])
def membership_end(request, pk, membership_pk):
    case = _case(request, pk, "opened end membership")
    membership = _membership(case, membership_pk)
    form = forms.MembershipEndForm(request.POST or None, initial={"end_date": timezone.localdate()})
    return _submit(
        request,
        case,
        form,
        lambda data: services.membership_end(actor=request.user, membership=membership, **data),
        success=f"{membership.person.full_name} recorded as having left",
        submit="Record that they left",
        title=f"{membership.person.full_name} has left the household or case",
    )


@login_required
@require_http_methods(["GET", "POST"])
def membership_change(request, pk, membership_pk):
    case = _case(request, pk, "opened change membership")
    membership = _membership(case, membership_pk)
    form = forms.MembershipChangeForm(
        request.POST or None,
        initial={"lives_in_household": "yes" if membership.lives_in_household else "no"},
    )
    if request.method == "POST" and form.is_valid():
        services.membership_set_household(
            actor=request.user,
            membership=membership,
            lives_in_household=form.cleaned_data["lives_in_household"],
        )
        messages.success(request, "Saved")
        return redirect("cases:detail", case.pk)
    return _form_page(
        request, case, form, submit="Save", title=f"Where does {membership.person.full_name} live?"
    )


# --- Addresses, plans, hazards -------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def address_add(request, pk):
    case = _case(request, pk, "opened add address")
    form = forms.AddressForm(request.POST or None)
    return _submit(
        request,
        case,
        form,
        lambda data: services.address_add(actor=request.user, case=case, **data),
        success="New address saved; the previous one has been ended",
        title="The family has moved",
        submit="Save address",
        intro="The current address ends the day before the move.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def address_end(request, pk, address_pk):
    case = _case(request, pk, "opened end address")
    address = get_object_or_404(Address, pk=address_pk, case=case, in_error=False)
    form = forms.AddressEndForm(request.POST or None)
    return _submit(
        request,
        case,
        form,
        lambda data: services.address_end(actor=request.user, address=address, **data),
        success="Address ended. Where the family lives now is not known.",
        title=f"The family left {address}",
        submit="Record that they left",
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_start(request, pk):
    case = _case(request, pk, "opened start plan")
    _require_open(case)
    today = timezone.localdate()
    children = Person.objects.filter(
        Membership.active_on_q(today, prefix="memberships"),
        memberships__case=case,
        memberships__relationship=Membership.Relationship.CHILD,
    ).distinct()
    form = forms.PlanStartForm(
        request.POST or None, children=children, initial={"start_date": today}
    )
    return _submit(
        request,
        case,
        form,
        lambda data: services.plan_start(actor=request.user, case=case, **data),
        success="Child protection plan started",
        title="Start a child protection plan",
        submit="Start plan",
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_end(request, pk, plan_pk):
    case = _case(request, pk, "opened end plan")
    plan = get_object_or_404(ChildProtectionPlan, pk=plan_pk, case=case, in_error=False)
    form = forms.PlanEndForm(request.POST or None)
    return _submit(
        request,
        case,
        form,
        lambda data: services.plan_end(actor=request.user, plan=plan, **data),
        success="Child protection plan ended",
        submit="End plan",
        title=f"End the plan for {plan.child.full_name or 'the unborn baby'}",
    )


@login_required
@require_http_methods(["GET", "POST"])
def hazard_add(request, pk):
    case = _case(request, pk, "opened add hazard")
    today = timezone.localdate()
    members = case.memberships.filter(Membership.active_on_q(today)).select_related("person")
    form = forms.HazardForm(
        request.POST or None, members=members, initial={"start_date": today, "about": "case"}
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        about = data.pop("about")
        target = (
            {"case": case}
            if about == "case"
            else {"person": get_object_or_404(Person, pk=about, memberships__case=case)}
        )
        try:
            services.hazard_add(actor=request.user, **target, **data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Hazard saved. It shows at the top of the case.")
            return redirect("cases:detail", case.pk)
    return _form_page(request, case, form, title="Add a hazard for visitors", submit="Save hazard")


def _case_hazard(case, hazard_pk) -> Hazard:
    """A hazard on this case or on someone who is on it."""
    hazards = Hazard.objects.filter(pk=hazard_pk, in_error=False).filter(
        Q(case=case) | Q(person__memberships__case=case)
    )
    return get_object_or_404(hazards.distinct())


@login_required
@require_http_methods(["GET", "POST"])
def hazard_end(request, pk, hazard_pk):
    case = _case(request, pk, "opened end hazard")
    hazard = _case_hazard(case, hazard_pk)
    form = forms.AddressEndForm(request.POST or None, initial={"end_date": timezone.localdate()})
    form.fields["end_date"].label = "Date the hazard ended"
    form.fields["end_date"].help_text = ""
    return _submit(
        request,
        case,
        form,
        lambda data: services.hazard_end(actor=request.user, hazard=hazard, **data),
        success="Hazard ended",
        title=f"End hazard: {hazard.get_kind_display()}",
        submit="End hazard",
    )


IN_ERROR_KINDS = {
    "membership": Membership,
    "address": Address,
    "plan": ChildProtectionPlan,
    "hazard": Hazard,
    "meeting": Meeting,
}


@login_required
@require_http_methods(["GET", "POST"])
def mark_in_error(request, pk, kind, record_pk):
    case = _case(request, pk, f"opened mark {kind} in error")
    if kind not in IN_ERROR_KINDS:
        raise Http404
    model = IN_ERROR_KINDS[kind]
    if model is Hazard:
        record = _case_hazard(case, record_pk)
    else:
        record = get_object_or_404(model, pk=record_pk, case=case, in_error=False)
    intro = ""
    if model is Meeting and record.escalations_met.exists():
        intro = (
            "This meeting met an escalation. Marked as recorded in error, it meets "
            "nothing: the escalation is met by another meeting of its kind if one was "
            "held, and is open or overdue again otherwise."
        )
    form = forms.ReasonForm(request.POST or None)
    form.fields["reason"].label = "Why was this recorded in error?"
    form.fields["reason"].error_messages["required"] = "Enter why this was recorded in error"
    form.fields["reason"].help_text = "The record is kept, struck through, with this reason"
    return _submit(
        request,
        case,
        form,
        lambda data: services.record_mark_in_error(
            actor=request.user, record=record, reason=data["reason"]
        ),
        success="Marked as recorded in error",
        title=f"Recorded in error: {record}",
        submit="Mark as recorded in error",
        intro=intro,
    )


# --- Meetings and escalations -----------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def meeting_add(request, pk):
    case = _case(request, pk, "opened record a meeting")
    initial = {"held_on": timezone.localdate()}
    wanted = request.GET.get("escalation", "")
    escalation = (
        case.escalations.filter(pk=wanted, state__in=Escalation.ACTIVE_STATES).first()
        if wanted.isdigit()
        else None
    )
    if escalation is not None:
        initial.update(kind=escalation.required_meeting, meets=escalation.pk)
    form = forms.MeetingForm(request.POST or None, case=case, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.meeting_record(actor=request.user, case=case, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            met = meeting.escalations_met.all()
            note = (
                "; it meets "
                + ", ".join(
                    f"the escalation due {e.due_date:%d/%m/%Y} ({e.get_state_display().lower()})"
                    for e in met
                )
                if met
                else ""
            )
            messages.success(request, f"{meeting.get_kind_display()} recorded{note}")
            return redirect("cases:detail", case.pk)
    return _form_page(request, case, form, title="Record a meeting", submit="Save meeting")


@login_required
@require_http_methods(["GET", "POST"])
def escalation_raise(request, pk):
    case = _case(request, pk, "opened raise an escalation")
    _require_open(case)
    form = forms.EscalationRaiseForm(
        request.POST or None, initial={"trigger_date": timezone.localdate()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            escalation = services.escalation_open(
                case=case,
                kind=Escalation.Kind.NON_COMPLIANCE,
                actor=request.user,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if escalation is None:
                form.add_error(None, "A non-compliance escalation is already open on this case")
            else:
                messages.success(
                    request,
                    f"Escalation raised: {escalation.get_required_meeting_display()} "
                    f"due by {escalation.due_date:%A %d %B %Y}",
                )
                return redirect("cases:detail", case.pk)
    return _form_page(
        request,
        case,
        form,
        title="Raise an escalation for non-compliance",
        submit="Raise",
        intro="The team manager and allocated workers are told. If a child is on a plan on "
        "the date of the concern, a core group is due within 3 working days; otherwise "
        "a multi-agency meeting within 7.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def escalation_cancel(request, pk, escalation_pk):
    case = _case(request, pk, "opened cancel an escalation")
    escalation = get_object_or_404(Escalation, pk=escalation_pk, case=case)
    if not request.user.is_manager:
        raise PermissionDenied
    form = forms.ReasonForm(request.POST or None)
    form.fields["reason"].label = "Why is this escalation being cancelled?"
    return _submit(
        request,
        case,
        form,
        lambda data: services.escalation_cancel(
            actor=request.user, escalation=escalation, reason=data["reason"]
        ),
        success="Escalation cancelled",
        title="Cancel an escalation",
        submit="Cancel it",
        intro=str(escalation),
    )


@login_required
def escalation_list(request):
    """Open and overdue escalations by due date: mine, my team's, or all I can see."""
    scope = request.GET.get("scope") or ("team" if request.user.is_manager else "mine")
    escalations = queries.escalations_for(request.user, scope=scope)
    page = Paginator(escalations, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "cases/escalation_list.html",
        {"page": page, "scope": scope, "today": timezone.localdate()},
    )
