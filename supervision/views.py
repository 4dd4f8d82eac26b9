"""Supervision pages. Views collect input and call services and queries.

Sessions, and the worker's wellbeing in them, are shown only through
`queries.get_session` (the supervisee, the supervisor and their managers; 404 for
anyone else). The case page shows decisions only.
"""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Window
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts import access, policy
from cases.queries import cases_for
from cases.views import case_context, case_for_page
from common.errors import apply_service_errors
from common.pages import form_page, render_form_page

from . import forms, queries, services
from .models import Action


def _session(request, session_pk, *, write=False):
    session = queries.get_session(request.user, session_pk)
    if write and not policy.can_record_session(request.user, session):
        raise PermissionDenied("Only the supervisor or a manager can change this record")
    return session


def _page_context(session, *, title, submit, intro="", cancel_url=None) -> dict:
    if cancel_url is None:
        cancel_url = (
            reverse("supervision:detail", args=[session.pk])
            if session
            else reverse("supervision:home")
        )
    return {
        "session": session,
        "title": title,
        "submit": submit,
        "intro": intro,
        "cancel_url": cancel_url,
    }


def _form_page(request, session, form, *, title, submit, intro="", cancel_url=None):
    context = _page_context(session, title=title, submit=submit, intro=intro, cancel_url=cancel_url)
    return render_form_page(request, "supervision/form_page.html", {**context, "form": form}, form)


def _submit(request, session, form, save, *, success, title, submit, intro="", goes_to=None):
    """Every supervision form (`common.pages.form_page`): on success go to the session,
    or to the one `goes_to` picks from what the service returned."""
    return form_page(
        request,
        form,
        save,
        success=success,
        next_url=lambda result: reverse(
            "supervision:detail", args=[(goes_to(result) if goes_to else session).pk]
        ),
        template="supervision/form_page.html",
        context=_page_context(session, title=title, submit=submit, intro=intro),
    )


@login_required
def home(request):
    user, today = request.user, timezone.localdate()
    sessions = queries.sessions_for(user).select_related("supervisee", "supervisor")
    context = {
        "today": today,
        "upcoming": sessions.filter(status="planned").order_by("date")[:20],
        "recent": sessions.exclude(status="planned").order_by("-date", "-id")[:20],
        "watcher": policy.watches_supervision(user),
        "action_count": queries.my_actions(user).count(),
    }
    if context["watcher"]:
        context.update(
            overdue=queries.overdue_supervisions(user, today=today),
            undiscussed=queries.undiscussed_cp_cases(user, today=today),
            cancellations=[
                c
                for c in queries.cancellation_counts(
                    user, since=today - datetime.timedelta(days=365)
                )
                if c["cancelled"]
            ],
        )
    return render(request, "supervision/home.html", context)


@login_required
def my_actions(request):
    today = timezone.localdate()
    actions = list(queries.my_actions(request.user))
    return render(
        request,
        "supervision/my_actions.html",
        {
            "actions": actions,
            "today": today,
            "overdue": sum(1 for a in actions if a.is_overdue(today)),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def session_create(request):
    if not policy.watches_supervision(request.user):
        raise PermissionDenied("Only supervisors and managers arrange supervision")
    form = forms.SessionCreateForm(
        request.POST or None, user=request.user, initial={"kind": "formal"}
    )
    return _submit(
        request,
        None,
        form,
        lambda d: services.session_create(
            actor=request.user, supervisee=d["supervisee"], date=d["date"], kind=d["kind"]
        ),
        success="Supervision arranged",
        goes_to=lambda session: session,
        title="Arrange supervision",
        submit="Arrange",
    )


@login_required
def session_detail(request, session_pk):
    session = _session(request, session_pk)
    # A manager who sees the session may still not see a restricted case discussed in it.
    discussions = list(
        queries.discussions_for(request.user)
        .filter(session=session)
        .select_related("case")
        .prefetch_related("decisions", "actions__owner")
    )
    for discussion in discussions:
        access.record(request, case=discussion.case, what="viewed a supervision discussion")
    worried = [session.most_worried_case_id, session.least_worried_case_id]
    visible_case_ids = set(
        cases_for(request.user)
        .filter(pk__in=[pk for pk in worried if pk])
        .values_list("pk", flat=True)
    )
    return render(
        request,
        "supervision/session_detail.html",
        {
            "session": session,
            "discussions": discussions,
            "today": timezone.localdate(),
            "visible_case_ids": visible_case_ids,
            "can_record": policy.can_record_session(request.user, session),
            "can_sign_off": policy.can_sign_off_session(request.user, session),
            "amendments": session.amendments.select_related("by"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def session_hold(request, session_pk):
    session = _session(request, session_pk, write=True)
    form = forms.HoldForm(
        request.POST or None, initial={"date": min(session.date, timezone.localdate())}
    )
    return _submit(
        request,
        session,
        form,
        lambda d: services.session_hold(actor=request.user, session=session, date=d["date"]),
        success="Supervision recorded as held",
        title="Record that the supervision took place",
        submit="Save",
    )


@login_required
@require_http_methods(["GET", "POST"])
def session_cancel(request, session_pk):
    session = _session(request, session_pk, write=True)
    form = forms.CancelForm(request.POST or None)
    return _submit(
        request,
        session,
        form,
        lambda d: services.session_cancel(
            actor=request.user, session=session, reason=d["reason"], new_date=d["new_date"]
        ),
        success=lambda cancelled: (
            f"Supervision cancelled and rearranged for {cancelled.rearranged_as.date:%d %B %Y}"
        ),
        goes_to=lambda cancelled: cancelled.rearranged_as,
        title="Cancel the supervision",
        submit="Cancel it",
        intro="Guidance says case supervision should not be cancelled. If it must be, give "
        "the reason and the new date.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def session_record(request, session_pk):
    session = _session(request, session_pk, write=True)
    initial = {name: getattr(session, name) for name in services.SESSION_FIELDS}
    initial["version"] = services.session_version(session)
    form = forms.SessionRecordForm(
        request.POST or None, session=session, user=request.user, initial=initial
    )

    def save(d):
        data = dict(d)
        reason = data.pop("reason", "")
        version = data.pop("version", None)
        return services.session_update(
            actor=request.user, session=session, reason=reason, version=version, **data
        )

    return _submit(
        request,
        session,
        form,
        save,
        success="Supervision record saved",
        title="Worries and wellbeing",
        submit="Save",
    )


@login_required
@require_http_methods(["GET", "POST"])
def discussion_add(request, session_pk):
    session = _session(request, session_pk, write=True)
    form = forms.DiscussionForm(request.POST or None, session=session)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                discussion = services.discussion_create(
                    actor=request.user,
                    session=session,
                    case=d["case"],
                    data=form.answers(),
                    reason=d.get("reason", ""),
                )
                if d.get("decision"):
                    services.decision_record(
                        actor=request.user,
                        discussion=discussion,
                        decision=d["decision"],
                        reasons=d["reasons"],
                        reason=d.get("reason", ""),
                    )
                if d.get("action"):
                    services.action_create(
                        actor=request.user,
                        discussion=discussion,
                        description=d["action"],
                        owner=d["owner"],
                        due_date=d["due_date"],
                        reason=d.get("reason", ""),
                    )
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and "description" in exc.error_dict:
                exc = ValidationError(
                    {"action": exc.error_dict.pop("description"), **exc.error_dict}
                )
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Discussion of {discussion.case.family_name} saved")
            return redirect("supervision:detail", session.pk)
    return _form_page(
        request,
        session,
        form,
        title="Discuss a case",
        submit="Save discussion",
        intro="Answer each question, or mark it not discussed.",
    )


def _discussion(request, session, discussion_pk):
    discussion = get_object_or_404(
        queries.discussions_for(request.user).select_related("case"),
        pk=discussion_pk,
        session=session,
    )
    access.record(request, case=discussion.case, what="opened a supervision discussion")
    return discussion


@login_required
@require_http_methods(["GET", "POST"])
def discussion_edit(request, session_pk, discussion_pk):
    session = _session(request, session_pk, write=True)
    discussion = _discussion(request, session, discussion_pk)
    if not policy.can_edit_discussion(request.user, discussion):
        raise PermissionDenied("Only the supervisor or a manager can change this record")
    initial = {
        "lived_experience": discussion.lived_experience,
        "version": services.discussion_version(discussion),
    }
    for name in services.QUESTION_FIELDS:
        initial[name] = getattr(discussion, name)
        initial[f"{name}_not_discussed"] = getattr(discussion, f"{name}_not_discussed")
    form = forms.DiscussionForm(
        request.POST or None,
        session=session,
        discussion=discussion,
        with_first_items=False,
        initial=initial,
    )
    return _submit(
        request,
        session,
        form,
        lambda d: services.discussion_update(
            actor=request.user,
            discussion=discussion,
            data=form.answers(),
            reason=d.get("reason", ""),
            version=d.get("version"),
        ),
        success="Discussion saved",
        submit="Save discussion",
        title=f"Discussion of {discussion.case.family_name}",
    )


@login_required
@require_http_methods(["GET", "POST"])
def decision_add(request, session_pk, discussion_pk):
    session = _session(request, session_pk, write=True)
    discussion = _discussion(request, session, discussion_pk)
    form = forms.DecisionForm(request.POST or None, session=session)
    return _submit(
        request,
        session,
        form,
        lambda d: services.decision_record(
            actor=request.user,
            discussion=discussion,
            decision=d["decision"],
            reasons=d["reasons"],
            reason=d.get("reason", ""),
        ),
        success="Decision recorded",
        submit="Save decision",
        title=f"Decision on {discussion.case.family_name}",
    )


@login_required
@require_http_methods(["GET", "POST"])
def action_add(request, session_pk, discussion_pk):
    session = _session(request, session_pk, write=True)
    discussion = _discussion(request, session, discussion_pk)
    form = forms.ActionForm(request.POST or None, session=session)
    return _submit(
        request,
        session,
        form,
        lambda d: services.action_create(
            actor=request.user,
            discussion=discussion,
            description=d["description"],
            owner=d["owner"],
            due_date=d["due_date"],
            reason=d.get("reason", ""),
        ),
        success="Action recorded",
        submit="Save action",
        title=f"Action on {discussion.case.family_name}",
    )


@login_required
@require_http_methods(["GET", "POST"])
def decision_edit(request, session_pk, discussion_pk, decision_pk):
    session = _session(request, session_pk, write=True)
    discussion = _discussion(request, session, discussion_pk)
    decision = get_object_or_404(discussion.decisions.all(), pk=decision_pk)
    if not policy.can_edit_decision(request.user, decision):
        raise PermissionDenied("Only the supervisor or a manager can change this record")
    form = forms.DecisionForm(
        request.POST or None,
        session=session,
        decision=decision,
        initial={
            "decision": decision.decision,
            "reasons": decision.reasons,
            "version": services.decision_version(decision),
        },
    )
    return _submit(
        request,
        session,
        form,
        lambda d: services.decision_update(
            actor=request.user,
            decision=decision,
            text=d["decision"],
            reasons=d["reasons"],
            reason=d.get("reason", ""),
            version=d.get("version"),
        ),
        success="Decision saved",
        submit="Save decision",
        title=f"Change the decision on {discussion.case.family_name}",
    )


@login_required
@require_http_methods(["GET", "POST"])
def action_edit(request, session_pk, discussion_pk, action_pk):
    session = _session(request, session_pk, write=True)
    discussion = _discussion(request, session, discussion_pk)
    action = get_object_or_404(discussion.actions.select_related("owner"), pk=action_pk)
    if not policy.can_edit_action(request.user, action):
        raise PermissionDenied("Only the supervisor or a manager can change this record")
    form = forms.ActionForm(
        request.POST or None,
        session=session,
        action=action,
        initial={
            "description": action.description,
            "owner": action.owner,
            "due_date": action.due_date,
            "version": services.action_version(action),
        },
    )
    return _submit(
        request,
        session,
        form,
        lambda d: services.action_update(
            actor=request.user,
            action=action,
            description=d["description"],
            owner=d["owner"],
            due_date=d["due_date"],
            reason=d.get("reason", ""),
            version=d.get("version"),
        ),
        success="Action saved",
        submit="Save action",
        title=f"Change the action on {discussion.case.family_name}",
    )


@login_required
@require_http_methods(["GET", "POST"])
def session_sign_off(request, session_pk):
    session = _session(request, session_pk)
    if not policy.can_sign_off_session(request.user, session):
        raise PermissionDenied("Only the supervisor signs the record off")
    form = forms.GovukForm(request.POST or None)
    return _submit(
        request,
        session,
        form,
        lambda d: services.session_sign_off(actor=request.user, session=session),
        success="Supervision record signed off",
        title="Sign off the record",
        submit="Sign off",
        intro="Once signed off, any change needs a reason, and the change and the reason are kept.",
    )


@login_required
@require_POST
def action_status(request, action_pk):
    action = get_object_or_404(queries.actions_for(request.user), pk=action_pk)
    form = forms.ActionStatusForm(request.POST)
    if form.is_valid():
        try:
            services.action_set_status(
                actor=request.user, action=action, status=form.cleaned_data["status"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if form.cleaned_data["status"] == Action.Status.COMPLETED:
                messages.success(request, "Action completed")
            else:
                messages.success(request, "Action updated")
    nxt = request.POST.get("next", "")
    if nxt not in ("actions", "session"):
        nxt = "actions"
    if nxt == "session" and policy.can_view_session(request.user, action.discussion.session):
        return redirect("supervision:detail", action.discussion.session_id)
    return redirect("supervision:my_actions")


# --- On the case ------------------------------------------------------------------------


@login_required
def case_decisions(request, pk):
    """Every supervision decision on a case: shown to everyone who may see the case."""
    case = case_for_page(request, pk, "viewed supervision decisions")
    context = case_context(request, case)
    context["decisions"] = queries.case_decisions(case)
    return render(request, "supervision/case_decisions.html", context)


def case_panel(case, user, today) -> dict:
    """The supervision section of the case page: decisions only, never the session.
    The five latest, each carrying how many there are in all (one query)."""
    decisions = list(
        queries.case_decisions(case).select_related(None).annotate(total=Window(Count("pk")))[:5]
    )
    return {"case": case, "decisions": decisions, "count": decisions[0].total if decisions else 0}
