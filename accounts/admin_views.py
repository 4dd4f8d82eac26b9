"""The administration pages: users, teams, agencies and local closure days, for
business support, system administrators and superusers (accounts.policy,
"Administration"). Every change goes through a service in accounts.services."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from common.errors import apply_service_errors
from common.pages import form_page, render_form_page

from . import admin_forms as forms
from . import policy, services
from .models import Agency, ClosureDay, ExternalIdentity, RoleChange, Team, User

FORM_TEMPLATE = "accounts/admin/form_page.html"


def _allowed(request, check=policy.can_administer) -> None:
    if not check(request.user):
        raise PermissionDenied


def _form(request, form, save, *, title, submit, success, next_url, back, **extra):
    context = {"title": title, "submit": submit, "cancel_url": back, **extra}
    return form_page(
        request,
        form,
        save,
        success=success,
        next_url=next_url,
        template=FORM_TEMPLATE,
        context=context,
    )


@login_required
def home(request):
    _allowed(request)
    context = {
        "user_count": User.objects.filter(is_active=True).count(),
        "team_count": Team.objects.filter(active=True).count(),
        "agency_count": Agency.objects.filter(active=True).count(),
        "closure_count": ClosureDay.objects.in_force()
        .filter(date__gte=timezone.localdate())
        .count(),
        "unlocks_sign_in": policy.can_unlock_sign_in(request.user),
        "manages_notifications": policy.can_manage_notifications(request.user),
    }
    return render(request, "accounts/admin/home.html", context)


# --- Users ---------------------------------------------------------------------------------


USER_FILTERS_SESSION_KEY = "user_list_filters"


@login_required
@require_http_methods(["GET", "POST"])
def user_list(request):
    """Users, searched by name or username and filtered by team, role and status. A
    search holds names, which must not go into URLs: the form is posted and kept in the
    session under a random key, as the case list does."""
    _allowed(request, policy.can_manage_users)
    stored = request.session.get(USER_FILTERS_SESSION_KEY, {})
    if request.method == "POST":
        form = forms.UserSearchForm(request.POST)
        if form.is_valid():
            key = secrets.token_urlsafe(8)
            data = {k: v for k, v in request.POST.items() if k in form.fields}
            stored = {key: data, **dict(list(stored.items())[:4])}
            request.session[USER_FILTERS_SESSION_KEY] = stored
            return redirect(f"{reverse('accounts:users')}?{urlencode({'s': key})}")
    else:
        data = stored.get(request.GET.get("s", ""), None)
        form = forms.UserSearchForm(data, initial={"status": "active"})
    users = User.objects.select_related("team").prefetch_related("groups")
    status = "active"
    if form.is_bound and form.is_valid():
        filters = form.cleaned_data
        for word in (filters["q"] or "").split():
            users = users.filter(
                Q(username__icontains=word)
                | Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
            )
        if filters["team"]:
            users = users.filter(team=filters["team"])
        if filters["role"]:
            users = users.filter(groups__name=filters["role"])
        status = filters["status"] or "active"
    if status == "active":
        users = users.filter(is_active=True)
    elif status == "inactive":
        users = users.filter(is_active=False)
    users = users.order_by("last_name", "first_name", "username")
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    search_key = request.GET.get("s", "")
    context = {
        "form": form,
        "page": page,
        "page_query": urlencode({"s": search_key}) if search_key else "",
    }
    return render_form_page(request, "accounts/admin/user_list.html", context, form)


@login_required
@require_http_methods(["GET", "POST"])
def user_create(request):
    _allowed(request, policy.can_manage_users)
    form = forms.UserForm(request.POST or None, actor=request.user)
    return _form(
        request,
        form,
        lambda data: services.user_create(actor=request.user, **data),
        title="Add a user",
        submit="Add user",
        success=lambda user: (
            f"{user.get_full_name()} added. Give them a temporary password so they can sign in"
        ),
        next_url=lambda user: reverse("accounts:user_detail", args=[user.pk]),
        back=reverse("accounts:users"),
    )


def _user(request, pk) -> User:
    _allowed(request, policy.can_manage_users)
    user = get_object_or_404(User.objects.select_related("team", "deactivated_by"), pk=pk)
    if not policy.can_view_user(request.user, user):
        raise PermissionDenied
    return user


@dataclass
class HistoryItem:
    when: datetime
    who: Any
    title: str
    details: list[str] = field(default_factory=list)
    roles: bool = False  # a change of roles (after the account's own change of the moment)

    @property
    def who_name(self) -> str:
        return _name(self.who)


def _name(user: User | None) -> str:
    if user is None:
        return "the system"
    return user.get_full_name() or user.username


HISTORY_LABELS = {
    "username": "Username",
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email address",
    "job_title": "Job title",
    "team": "Team",
    "is_active": "Active",
    "is_superuser": "Superuser",
    "is_staff": "Django admin access",
    "must_change_password": "Must change password",
    "deactivated_at": None,
    "deactivated_by": None,
    "deactivation_reason": None,
}


def user_history(user: User, limit: int = 100) -> list[HistoryItem]:
    """Changes to the account (its history rows) and to its roles (RoleChange rows),
    newest first, each with who made it."""
    rows = list(user.history.select_related("history_user").order_by("history_date", "history_id"))
    teams = {t.pk: t.name for t in Team.objects.all()}
    items: list[HistoryItem] = []
    previous = None
    for row in rows:
        if previous is None:
            title, details = "Account added", []
        else:
            details = []
            for change in row.diff_against(previous).changes:
                label = HISTORY_LABELS.get(change.field, change.field)
                if label is None:
                    continue
                details.append(
                    f"{label}: {_shown(change.old, teams)} → {_shown(change.new, teams)}"
                )
            title = row.history_change_reason or ("Details changed" if details else "Saved")
        if previous is None or details or row.history_change_reason:
            items.append(HistoryItem(row.history_date, row.history_user, title, details))
        previous = row
    for change in RoleChange.objects.filter(user=user).select_related("changed_by"):
        items.append(
            HistoryItem(
                change.changed_at,
                change.changed_by,
                "Role changed" if change.before else "Role given",
                [f"Role: {change.before or 'none'} → {change.after or 'none'}"],
                roles=True,
            )
        )
    # Newest first; a role given with the account (the same moment) comes after it.
    items.sort(key=lambda item: (item.when, item.roles), reverse=True)
    return items[:limit]


def _shown(value: Any, teams: dict[int, str]) -> str:
    if value is None or value == "":
        return "(blank)"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int) and value in teams:
        return teams[value]
    return str(value)


@login_required
def user_detail(request, pk):
    user = _user(request, pk)
    actor = request.user
    context = {
        "subject": user,
        "roles_held": sorted(user.role_names),
        "history": user_history(user),
        "can_edit": policy.can_edit_user(actor, user),
        "can_deactivate": policy.can_deactivate_user(actor, user),
        "can_reactivate": policy.can_reactivate_user(actor, user),
        "can_set_password": policy.can_set_password(actor, user),
        "is_self": user.pk == actor.pk,
        "can_reset_second_factor": policy.can_reset_second_factor(actor, user),
        "can_manage_api_tokens": policy.can_manage_api_tokens(actor, user),
        "unlocks_sign_in": policy.can_unlock_sign_in(actor),
        "can_link_identity": policy.can_link_external_identity(actor, user),
        "identities": user.external_identities.filter(ended_at__isnull=True),
    }
    return render(request, "accounts/admin/user_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def user_edit(request, pk):
    user = _user(request, pk)
    if not policy.can_edit_user(request.user, user):
        raise PermissionDenied
    initial = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "job_title": user.job_title,
        "team": user.team,
        "role": user.role_label,
    }
    form = forms.UserForm(request.POST or None, actor=request.user, user=user, initial=initial)

    def save(data):
        changed = services.user_update(actor=request.user, user=user, **data)
        return changed

    return _form(
        request,
        form,
        save,
        title=f"Change {user.get_full_name() or user.username}",
        submit="Save changes",
        success=lambda changed: (
            f"{user.get_full_name() or user.username}: "
            + ("changes saved" if changed else "nothing was changed")
        ),
        next_url=reverse("accounts:user_detail", args=[user.pk]),
        back=reverse("accounts:user_detail", args=[user.pk]),
    )


@login_required
@require_http_methods(["GET", "POST"])
def user_deactivate(request, pk):
    user = _user(request, pk)
    if not policy.can_deactivate_user(request.user, user):
        raise PermissionDenied
    name = user.get_full_name() or user.username
    return _form(
        request,
        forms.DeactivateForm(request.POST or None),
        lambda data: services.user_deactivate(actor=request.user, user=user, reason=data["reason"]),
        title=f"Switch off {name}’s account",
        intro="They are signed out at once, everywhere, and cannot sign in again until "
        "the account is switched on. Their records stay.",
        submit="Switch off account",
        warning=True,
        success=f"{name}’s account is switched off and they are signed out",
        next_url=reverse("accounts:user_detail", args=[user.pk]),
        back=reverse("accounts:user_detail", args=[user.pk]),
    )


@login_required
@require_http_methods(["GET", "POST"])
def user_reactivate(request, pk):
    user = _user(request, pk)
    if not policy.can_reactivate_user(request.user, user):
        raise PermissionDenied
    name = user.get_full_name() or user.username
    return _form(
        request,
        forms.ReactivateForm(request.POST or None),
        lambda data: services.user_reactivate(actor=request.user, user=user, reason=data["reason"]),
        title=f"Switch on {name}’s account",
        intro="They can sign in again with their password.",
        submit="Switch on account",
        success=f"{name}’s account is switched on",
        next_url=reverse("accounts:user_detail", args=[user.pk]),
        back=reverse("accounts:user_detail", args=[user.pk]),
    )


@login_required
@require_http_methods(["GET", "POST"])
def user_password(request, pk):
    user = _user(request, pk)
    if not policy.can_set_password(request.user, user):
        raise PermissionDenied
    name = user.get_full_name() or user.username
    return _form(
        request,
        forms.TemporaryPasswordForm(request.POST or None),
        lambda data: services.user_set_temporary_password(
            actor=request.user, user=user, password=data["password"]
        ),
        title=f"Give {name} a temporary password",
        intro="They are signed out now, and must choose their own password when they next "
        "sign in with this one.",
        submit="Set temporary password",
        success=f"Temporary password set for {name}: they must change it when they sign in",
        next_url=reverse("accounts:user_detail", args=[user.pk]),
        back=reverse("accounts:user_detail", args=[user.pk]),
    )


@login_required
@require_http_methods(["GET", "POST"])
def user_identity(request, pk):
    """Single sign-on: the user's links to people at the identity provider, a form to
    link one and a button to end each (services.external_identity_link / _end)."""
    user = _user(request, pk)
    if not policy.can_link_external_identity(request.user, user):
        raise PermissionDenied
    name = user.get_full_name() or user.username
    here = reverse("accounts:user_identity", args=[user.pk])
    links = ExternalIdentity.objects.filter(user=user).select_related("created_by", "ended_by")
    return form_page(
        request,
        forms.ExternalIdentityForm(request.POST or None, issuer=settings.OIDC_OP_ISSUER),
        lambda data: services.external_identity_link(
            actor=request.user,
            user=user,
            issuer=data["issuer"],
            subject=data["subject"],
            now=timezone.now(),
        ),
        success=f"{name} now signs in through the identity provider with that id",
        next_url=here,
        template="accounts/admin/user_identity.html",
        context={
            "subject_user": user,
            "name": name,
            "links": links,
            "sso_enabled": settings.OIDC_ENABLED,
            "provider_name": settings.OIDC_PROVIDER_NAME,
            "cancel_url": reverse("accounts:user_detail", args=[user.pk]),
        },
    )


@login_required
@require_http_methods(["POST"])
def user_identity_end(request, pk, identity_pk):
    user = _user(request, pk)
    identity = get_object_or_404(ExternalIdentity, pk=identity_pk, user=user)
    if not policy.can_link_external_identity(request.user, user):
        raise PermissionDenied
    services.external_identity_end(actor=request.user, identity=identity, now=timezone.now())
    messages.success(request, "That link has ended: its person no longer signs in as this user")
    return redirect("accounts:user_identity", pk=user.pk)


@login_required
@require_http_methods(["GET", "POST"])
def password_change(request):
    """Choose a new password; after a temporary one the middleware sends everyone here."""
    from django.contrib.auth import update_session_auth_hash

    form = forms.PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_change_own_password(
                user=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            update_session_auth_hash(request, user)
            messages.success(request, "Your password has been changed")
            return redirect("home")
    context = {"form": form, "required": request.user.must_change_password}
    return render_form_page(request, "accounts/password_change.html", context, form)


# --- Teams, agencies, closure days ---------------------------------------------------------


@login_required
def team_list(request):
    _allowed(request, policy.can_manage_teams)
    teams = Team.objects.order_by("-active", "name")
    return render(request, "accounts/admin/team_list.html", {"teams": teams})


@login_required
@require_http_methods(["GET", "POST"])
def team_create(request):
    _allowed(request, policy.can_manage_teams)
    return _form(
        request,
        forms.TeamForm(request.POST or None, creating=True),
        lambda data: services.team_create(actor=request.user, **data),
        title="Add a team",
        submit="Add team",
        success=lambda team: f"{team.name} added",
        next_url=reverse("accounts:teams"),
        back=reverse("accounts:teams"),
    )


@login_required
@require_http_methods(["GET", "POST"])
def team_edit(request, pk):
    _allowed(request, policy.can_manage_teams)
    team = get_object_or_404(Team, pk=pk)
    form = forms.TeamForm(
        request.POST or None, initial={"name": team.name, "code": team.code, "active": team.active}
    )
    return _form(
        request,
        form,
        lambda data: services.team_update(actor=request.user, team=team, **data),
        title=f"Change {team.name}",
        submit="Save changes",
        success=lambda changed: (
            f"{team.name}: " + ("changes saved" if changed else "nothing was changed")
        ),
        next_url=reverse("accounts:teams"),
        back=reverse("accounts:teams"),
        history=team.history.select_related("history_user")[:20],
    )


@login_required
def agency_list(request):
    _allowed(request, policy.can_manage_agencies)
    agencies = Agency.objects.order_by("-active", "name")
    return render(request, "accounts/admin/agency_list.html", {"agencies": agencies})


@login_required
@require_http_methods(["GET", "POST"])
def agency_create(request):
    _allowed(request, policy.can_manage_agencies)
    return _form(
        request,
        forms.AgencyForm(request.POST or None, creating=True),
        lambda data: services.agency_create(actor=request.user, **data),
        title="Add an agency",
        submit="Add agency",
        success=lambda agency: f"{agency.name} added",
        next_url=reverse("accounts:agencies"),
        back=reverse("accounts:agencies"),
    )


@login_required
@require_http_methods(["GET", "POST"])
def agency_edit(request, pk):
    _allowed(request, policy.can_manage_agencies)
    agency = get_object_or_404(Agency, pk=pk)
    form = forms.AgencyForm(
        request.POST or None,
        initial={"name": agency.name, "kind": agency.kind, "active": agency.active},
    )
    return _form(
        request,
        form,
        lambda data: services.agency_update(actor=request.user, agency=agency, **data),
        title=f"Change {agency.name}",
        submit="Save changes",
        success=lambda changed: (
            f"{agency.name}: " + ("changes saved" if changed else "nothing was changed")
        ),
        next_url=reverse("accounts:agencies"),
        back=reverse("accounts:agencies"),
        history=agency.history.select_related("history_user")[:20],
    )


@login_required
def closure_day_list(request):
    _allowed(request, policy.can_manage_closure_days)
    today = timezone.localdate()
    days = ClosureDay.objects.select_related("withdrawn_by")
    context = {
        "upcoming": days.in_force().filter(date__gte=today).order_by("date"),
        "past": days.in_force().filter(date__lt=today).order_by("-date")[:20],
        "withdrawn": days.filter(withdrawn_at__isnull=False).order_by("-withdrawn_at")[:20],
    }
    return render(request, "accounts/admin/closure_day_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def closure_day_create(request):
    _allowed(request, policy.can_manage_closure_days)
    return _form(
        request,
        forms.ClosureDayForm(request.POST or None),
        lambda data: services.closure_day_add(actor=request.user, **data),
        title="Add a closure day",
        intro="Working-day deadlines worked out from now on skip this day. Deadlines "
        "already set, such as an escalation’s due date, stay as they were announced.",
        submit="Add closure day",
        success=lambda day: f"{day.date:%-d %B %Y} added as a closure day",
        next_url=reverse("accounts:closure_days"),
        back=reverse("accounts:closure_days"),
    )


@login_required
@require_http_methods(["GET", "POST"])
def closure_day_withdraw(request, pk):
    _allowed(request, policy.can_manage_closure_days)
    day = get_object_or_404(ClosureDay, pk=pk, withdrawn_at__isnull=True)
    return _form(
        request,
        forms.WithdrawClosureDayForm(request.POST or None),
        lambda data: services.closure_day_withdraw(
            actor=request.user, day=day, reason=data["reason"]
        ),
        title=f"Withdraw the closure day of {day.date:%-d %B %Y}",
        intro=f"{day.reason}. It will count as a working day again in deadlines worked out "
        "from now on. Deadlines already set stay as they are. The closure day is kept as "
        "withdrawn.",
        submit="Withdraw closure day",
        warning=True,
        success=f"The closure day of {day.date:%-d %B %Y} is withdrawn",
        next_url=reverse("accounts:closure_days"),
        back=reverse("accounts:closure_days"),
    )
