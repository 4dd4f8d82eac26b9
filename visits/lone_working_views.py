"""Lone-working pages (R10): check in from My work, extend, check out, and acknowledge an
alert. Every decision is the policy's and every write a service in visits.lone_working."""

import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts import policy
from cases.models import Address
from cases.views import case_context, case_for_page
from common.errors import apply_service_errors

from . import forms, lone_working
from .models import LoneWorkingCheckIn, Visit


def _current_address(case) -> str:
    address = Address.objects.filter(case=case, end_date__isnull=True, in_error=False).first()
    if address is None:
        return ""
    return ", ".join(
        p for p in (address.line_1, address.line_2, address.town, address.postcode) if p
    )


def _suggested_end(now: datetime.datetime) -> datetime.time:
    end = timezone.localtime(now) + datetime.timedelta(
        minutes=settings.LONE_WORKING_DEFAULT_MINUTES
    )
    end += datetime.timedelta(minutes=-end.minute % 5)
    return end.time().replace(second=0, microsecond=0)


@login_required
@require_http_methods(["GET", "POST"])
def check_in(request, pk):
    case = case_for_page(request, pk, "opened lone working check-in")
    if not policy.can_check_in(request.user, case):
        raise PermissionDenied("You cannot check in on this case")
    mine = lone_working.open_check_in_of(request.user)
    if mine is not None:
        messages.info(request, "You are already checked in: check out before checking in again")
        return redirect("visits:lone_working", mine.pk)
    visit = None
    visit_id = request.GET.get("visit") or request.POST.get("visit")
    if visit_id:
        try:
            visit = Visit.objects.get(pk=int(visit_id), case=case, in_error=False)
        except (Visit.DoesNotExist, ValueError, OverflowError) as exc:
            raise Http404("No visit found") from exc
    now = timezone.now()
    form = forms.LoneWorkingCheckInForm(
        request.POST or None,
        initial={
            "address": _current_address(case),
            "expected_end": _suggested_end(now).strftime("%H:%M"),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            lone_working.lone_working_check_in(
                actor=request.user,
                case=case,
                visit=visit,
                address=form.cleaned_data["address"],
                expected_end=form.end_at(now),
                now=now,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "You are checked in")
            return redirect(f"{reverse('dashboards:mine')}#lone-working")
    context = case_context(request, case)
    context.update(
        form=form,
        visit=visit,
        title="Check in: I'm going in",
        grace=settings.LONE_WORKING_GRACE_MINUTES,
        submit="Check in",
        cancel_url=reverse("cases:detail", args=[case.pk]),
    )
    return render(
        request, "visits/lone_working_check_in.html", context, status=400 if form.errors else 200
    )


def _visible(request, check_in_pk) -> LoneWorkingCheckIn:
    return get_object_or_404(
        lone_working.visible_check_ins(request.user).select_related(
            "worker", "buddy", "case", "acknowledged_by"
        ),
        pk=check_in_pk,
    )


@login_required
@require_http_methods(["GET"])
def detail(request, check_in_pk):
    item = _visible(request, check_in_pk)
    return render(
        request,
        "visits/lone_working_detail.html",
        {
            "item": item,
            "events": item.events.select_related("actor"),
            "can_change": item.is_open and policy.can_change_lone_working(request.user, item),
            "can_acknowledge": item.state in ("alerted", "escalated")
            and policy.can_acknowledge_lone_working(request.user, item),
            "form": forms.LoneWorkingAcknowledgeForm(),
        },
    )


@login_required
@require_POST
def extend(request, check_in_pk):
    item = _visible(request, check_in_pk)
    try:
        minutes = int(request.POST.get("minutes", ""))
    except ValueError:
        minutes = 0
    try:
        item = lone_working.lone_working_extend(
            actor=request.user, check_in=item, minutes=minutes, now=timezone.now()
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        until = timezone.localtime(item.expected_end_at)
        messages.success(request, f"Extended: you are checked in until {until:%H:%M}")
    return redirect(_back(request, item))


@login_required
@require_POST
def check_out(request, check_in_pk):
    item = _visible(request, check_in_pk)
    try:
        lone_working.lone_working_check_out(actor=request.user, check_in=item, now=timezone.now())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "You are checked out. Thank you")
    return redirect(_back(request, item))


@login_required
@require_http_methods(["GET", "POST"])
def acknowledge(request, check_in_pk):
    item = _visible(request, check_in_pk)
    if not policy.can_acknowledge_lone_working(request.user, item):
        raise PermissionDenied("You cannot acknowledge this alert")
    form = forms.LoneWorkingAcknowledgeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lone_working.lone_working_acknowledge(
                actor=request.user,
                check_in=item,
                action=form.cleaned_data["action"],
                now=timezone.now(),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Alert acknowledged")
            return redirect("visits:lone_working", item.pk)
    return render(
        request,
        "visits/lone_working_acknowledge.html",
        {"item": item, "form": form},
        status=400 if form.errors else 200,
    )


def _back(request, item) -> str:
    if request.POST.get("next") == "my-work":
        return f"{reverse('dashboards:mine')}#lone-working"
    return reverse("visits:lone_working", args=[item.pk])


def my_work_panel(user) -> dict:
    """For the top of My work, in one query: the user's own open check-in, and the
    overdue ones whose alert they may acknowledge."""
    rows = (
        lone_working.visible_check_ins(user)
        .filter(checked_out_at__isnull=True)
        .filter(Q(worker=user) | Q(state__in=["alerted", "escalated"]))
        .select_related("worker", "case")
        .order_by("due_at")
    )
    mine = None
    alerts = []
    for item in rows:
        if item.worker_id == user.pk:
            mine = item
        elif policy.can_acknowledge_lone_working(user, item):
            alerts.append(item)
    return {"mine": mine, "alerts": alerts}
