"""Meetings, and raising and cancelling escalations."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts import policy
from common.errors import apply_service_errors

from .. import forms, services
from ..models import Escalation, Meeting
from .base import _case, _form_page, _require_open, _submit


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
def meeting_edit(request, pk, meeting_pk):
    """Correct what a meeting recorded."""
    case = _case(request, pk, "opened correct meeting")
    meeting = get_object_or_404(
        Meeting.objects.select_related("case__team"), pk=meeting_pk, case=case, in_error=False
    )
    form = forms.MeetingEditForm(
        request.POST or None,
        meeting=meeting,
        initial={
            "kind": meeting.kind,
            "held_on": meeting.held_on,
            "chair": meeting.chair,
            "staff_attendees": list(meeting.staff_attendees.all()),
            "agencies": list(meeting.agencies.all()),
            "other_attendees": meeting.other_attendees,
            "decisions": meeting.decisions,
            "actions": meeting.actions,
            "version": services.meeting_version(meeting),
        },
    )
    return _submit(
        request,
        case,
        form,
        lambda data: services.meeting_update(actor=request.user, meeting=meeting, **data),
        success=f"{meeting.get_kind_display()} saved",
        title=f"Correct the {meeting.get_kind_display().lower()} of {meeting.held_on:%d %B %Y}",
        submit="Save meeting",
    )


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
    if not policy.can_cancel_escalation(request.user, escalation):
        raise PermissionDenied
    form = forms.ReasonForm(
        request.POST or None,
        label="Why is this escalation being cancelled?",
        required="Enter why the escalation is being cancelled",
    )
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
@require_http_methods(["GET", "POST"])
def escalation_keep(request, pk, escalation_pk):
    """A manager keeps an escalation whose trigger was withdrawn, with the reason."""
    case = _case(request, pk, "opened keep an escalation")
    escalation = get_object_or_404(Escalation, pk=escalation_pk, case=case)
    if not policy.can_decide_withdrawn_trigger(request.user, escalation):
        raise PermissionDenied
    form = forms.ReasonForm(
        request.POST or None,
        label="Why is this escalation being kept?",
        required="Enter why the escalation is being kept",
    )
    return _submit(
        request,
        case,
        form,
        lambda data: services.escalation_keep(
            actor=request.user, escalation=escalation, reason=data["reason"]
        ),
        success="Escalation kept",
        title="Keep an escalation whose trigger was withdrawn",
        submit="Keep it",
        intro=f"{escalation}. Its trigger was withdrawn on "
        f"{escalation.trigger_withdrawn_at:%-d %B %Y}: {escalation.trigger_withdrawn_count} "
        "defaulted visits now count. Kept, it goes on until its meeting is held; "
        "otherwise cancel it.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def escalation_edit(request, pk, escalation_pk):
    """Correct the concern written on a non-compliance escalation."""
    case = _case(request, pk, "opened correct an escalation")
    escalation = get_object_or_404(Escalation, pk=escalation_pk, case=case)
    if not policy.can_edit_escalation(request.user, escalation):
        raise PermissionDenied
    form = forms.EscalationEditForm(
        request.POST or None,
        initial={
            "reason": escalation.reason,
            "version": services.escalation_version(escalation),
        },
    )
    return _submit(
        request,
        case,
        form,
        lambda data: services.escalation_update(actor=request.user, escalation=escalation, **data),
        success="Escalation saved",
        title="Correct the non-compliance concern",
        submit="Save",
        intro=f"{escalation.get_required_meeting_display()} due by "
        f"{escalation.due_date:%A %d %B %Y}, raised on {escalation.trigger_date:%d %B %Y}. "
        "The deadline follows from that date and does not change.",
    )
