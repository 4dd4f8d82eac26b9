"""Addresses, child protection plans, hazards, and records marked recorded in error."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts import policy
from common.errors import apply_service_errors

from .. import forms, services
from ..models import (
    Address,
    AgreementBreach,
    ChildProtectionPlan,
    Hazard,
    Meeting,
    Membership,
    Person,
    WrittenAgreement,
)
from .base import _case, _form_page, _require_open, _submit


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
def address_edit(request, pk, address_pk):
    """Correct an address as it was recorded (a move is a new address)."""
    case = _case(request, pk, "opened correct address")
    address = get_object_or_404(Address, pk=address_pk, case=case, in_error=False)
    form = forms.AddressEditForm(
        request.POST or None,
        initial={
            "line_1": address.line_1,
            "line_2": address.line_2,
            "town": address.town,
            "postcode": address.postcode,
            "start_date": address.start_date,
            "version": services.address_version(address),
        },
    )
    return _submit(
        request,
        case,
        form,
        lambda data: services.address_update(actor=request.user, address=address, **data),
        success="Address saved",
        title="Correct this address",
        submit="Save address",
        intro="For an address recorded wrongly. If the family has moved, record the move "
        "instead. A new date they moved in also moves the end of the address before.",
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
def plan_edit(request, pk, plan_pk):
    case = _case(request, pk, "opened correct plan")
    plan = get_object_or_404(
        ChildProtectionPlan.objects.select_related("child"), pk=plan_pk, case=case, in_error=False
    )
    form = forms.PlanEditForm(
        request.POST or None,
        initial={
            "category": plan.category,
            "start_date": plan.start_date,
            "version": services.plan_version(plan),
        },
    )
    return _submit(
        request,
        case,
        form,
        lambda data: services.plan_update(actor=request.user, plan=plan, **data),
        success="Child protection plan saved",
        title=f"Correct the plan for {plan.child.display_name}",
        submit="Save plan",
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


@login_required
@require_http_methods(["GET", "POST"])
def hazard_edit(request, pk, hazard_pk):
    case = _case(request, pk, "opened correct hazard")
    hazard = _case_hazard(case, hazard_pk)
    if not policy.can_edit_hazard(request.user, hazard):
        raise PermissionDenied
    form = forms.HazardEditForm(
        request.POST or None,
        initial={
            "kind": hazard.kind,
            "details": hazard.details,
            "start_date": hazard.start_date,
            "end_date": hazard.end_date,
            "version": services.hazard_version(hazard),
        },
    )
    about = f" about {hazard.person.display_name}" if hazard.person_id else ""
    return _submit(
        request,
        case,
        form,
        lambda data: services.hazard_update(actor=request.user, hazard=hazard, **data),
        success="Hazard saved",
        title=f"Correct the hazard{about}",
        submit="Save hazard",
    )


IN_ERROR_KINDS = {
    "membership": Membership,
    "address": Address,
    "plan": ChildProtectionPlan,
    "hazard": Hazard,
    "meeting": Meeting,
    "agreement": WrittenAgreement,
    "breach": AgreementBreach,
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
    elif model is AgreementBreach:
        record = get_object_or_404(
            AgreementBreach, pk=record_pk, agreement__case=case, in_error=False
        )
    else:
        record = get_object_or_404(model, pk=record_pk, case=case, in_error=False)
    intro = ""
    if model is Meeting and record.escalations_met.exists():
        intro = (
            "This meeting met an escalation. Marked as recorded in error, it meets "
            "nothing: the escalation is met by another meeting of its kind if one was "
            "held, and is open or overdue again otherwise."
        )
    form = forms.ReasonForm(
        request.POST or None,
        label="Why was this recorded in error?",
        required="Enter why this was recorded in error",
    )
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
