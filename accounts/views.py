import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.forms.utils import ErrorDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from common.errors import apply_service_errors

from . import lockout, oidc, policy, queries, second_factor, services
from .forms import ApiTokenForm, SignInForm, SignInUnlockForm
from .models import ApiToken, Notification, User, api_token_state


def sign_in_choices() -> dict:
    """What the sign-in page offers: a password, single sign-on, or both."""
    return {
        "password_sign_in": settings.PASSWORD_SIGN_IN_ENABLED,
        "sso_sign_in": settings.OIDC_ENABLED,
        "sso_provider_name": settings.OIDC_PROVIDER_NAME,
    }


class SignInView(LoginView):
    template_name = "accounts/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["timed_out"] = self.request.GET.get("timeout") == "1"
        context.update(sign_in_choices())
        return context

    def post(self, request, *args, **kwargs):
        if not settings.PASSWORD_SIGN_IN_ENABLED:
            # Passwords are switched off: only single sign-on signs anyone in.
            context = self.get_context_data(form=self.get_form(), password_refused=True)
            return self.render_to_response(context, status=403)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        # The password is right; the session is signed in only after the second factor.
        return second_factor.begin(self.request, form.get_user(), self.get_success_url())


def sign_in_locked_out(request, original_response=None, credentials=None):
    """The sign-in page, saying sign-in is paused and until when (axes calls this for a
    locked-out sign-in, from this page or /admin/; AXES_LOCKOUT_CALLABLE). 429 Too Many
    Requests, with Retry-After: the request was refused for its rate of failures, not
    for who is asking."""
    from axes.helpers import get_client_username

    now = timezone.now()
    username = get_client_username(request, credentials) or ""
    ip_address = getattr(request, "axes_ip_address", None)
    current = lockout.lockout_for(username=username, ip_address=ip_address, now=now)
    until = current.until if current else now + lockout.cool_off()
    seconds = max(1, math.ceil((until - now).total_seconds()))
    minutes = math.ceil(seconds / 60)
    message = (
        f"Sign-in to this account from here is paused after {settings.AXES_FAILURE_LIMIT} failed "
        f"attempts. Try again after {timezone.localtime(until):%H:%M} (in {minutes} "
        f"minute{'s' if minutes != 1 else ''}), or ask business support to unlock it."
    )
    form = SignInForm(request, data={"username": username})
    # Shown as it is, never cleaned (cleaning would authenticate again).
    form._errors, form.cleaned_data = ErrorDict(), {}
    form.add_error(None, ValidationError(message, code="locked_out"))
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    context = {
        "form": form,
        "next": next_url,
        "timed_out": False,
        "locked_out": True,
        **sign_in_choices(),
    }
    response = render(request, "accounts/sign_in.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


@require_POST
def sign_out(request):
    """The session here ends first, whatever the identity provider then does; a single
    sign-on session goes on to end at the provider too."""
    backend = request.session.get(BACKEND_SESSION_KEY)
    id_token = request.session.get(oidc.ID_TOKEN_SESSION_KEY)
    logout(request)
    end_session = oidc.end_session_url(request, backend=backend, id_token=id_token)
    return redirect(end_session or "accounts:login")


@login_required
def notification_list(request):
    """Your in-app notifications, newest first. Links go to the case, where the policy
    decides again whether you may see it."""
    notes = Notification.objects.filter(
        recipient=request.user, channel=Notification.Channel.IN_APP
    ).order_by("-created_at", "-id")
    page = Paginator(notes, 30).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "manages_notifications": policy.can_manage_notifications(request.user),
        "unlocks_sign_in": policy.can_unlock_sign_in(request.user),
    }
    return render(request, "accounts/notifications.html", context)


@login_required
@require_POST
def notifications_mark_read(request):
    Notification.objects.filter(
        recipient=request.user, channel=Notification.Channel.IN_APP, read_at__isnull=True
    ).update(read_at=timezone.now())
    return redirect("accounts:notifications")


OVERDUE_SHOWN = 50


@login_required
def undelivered_emails(request):
    """Emails the mail server refused too often (each with "Send again"), and emails
    still waiting long after they were written: for business support and superusers."""
    if not policy.can_manage_notifications(request.user):
        raise PermissionDenied
    now = timezone.now()
    dead = Paginator(queries.undelivered_emails(request.user), 30).get_page(request.GET.get("page"))
    overdue = queries.overdue_emails(request.user, now=now)
    context = {
        "page": dead,
        "overdue": overdue[:OVERDUE_SHOWN],
        "overdue_count": overdue.count(),
        "overdue_minutes": settings.NOTIFICATIONS_OVERDUE_MINUTES,
        "dead_after": settings.NOTIFICATIONS_DEAD_LETTER_AFTER,
        "resends": queries.recent_resends(request.user),
    }
    return render(request, "accounts/undelivered_emails.html", context)


@login_required
@require_POST
def undelivered_email_resend(request, pk):
    if not policy.can_manage_notifications(request.user):
        raise PermissionDenied
    note = get_object_or_404(Notification, pk=pk, channel=Notification.Channel.EMAIL)
    try:
        services.notification_resend(actor=request.user, notification=note)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, f"Sending again to {note.recipient.email}: {note.subject}")
    return redirect("accounts:undelivered_emails")


@login_required
def sign_in_lockouts(request):
    """Usernames paused from signing in at an address, each with "Unlock", and the
    latest unlocks: for business support, system administrators and superusers."""
    if not policy.can_unlock_sign_in(request.user):
        raise PermissionDenied
    context = {
        "lockouts": lockout.current_lockouts(now=timezone.now()),
        "unlocks": queries.recent_sign_in_unlocks(request.user),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cool_off_minutes": settings.AXES_COOLOFF_MINUTES,
    }
    return render(request, "accounts/sign_in_lockouts.html", context)


@login_required
@require_POST
def sign_in_unlock(request):
    if not policy.can_unlock_sign_in(request.user):
        raise PermissionDenied
    form = SignInUnlockForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That lockout could not be read: reload the page and try again")
        return redirect("accounts:sign_in_lockouts")
    username = form.cleaned_data["username"]
    ip_address = form.cleaned_data["ip_address"] or None
    try:
        services.sign_in_unlock(actor=request.user, username=username, ip_address=ip_address)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(
            request, f"Unlocked sign-in for {username} from {ip_address or 'an unknown address'}"
        )
    return redirect("accounts:sign_in_lockouts")


# --- API tokens ----------------------------------------------------------------------------


def _token_rows(owner, now):
    tokens = ApiToken.objects.filter(user=owner).select_related("auth_token", "revoked_by")
    rows = []
    for token in tokens[:200]:
        state = api_token_state(token, now)
        expires = None
        if state == "active" and token.auth_token is not None:
            expires = min(token.auth_token.expiry or token.ends_at, token.ends_at)
        rows.append({"token": token, "state": state, "expires": expires})
    return [r for r in rows if r["state"] == "active"], [r for r in rows if r["state"] != "active"]


def _api_tokens_page(request, owner, *, form, new_token=None, status=200):
    now = timezone.now()
    active, ended = _token_rows(owner, now)
    context = {
        "owner": owner,
        "own": owner.pk == request.user.pk,
        "form": form,
        "can_create": policy.can_create_api_token(request.user, owner),
        "active": active,
        "ended": ended[:50],
        "new_token": new_token,
        "idle_minutes": settings.API_TOKEN_IDLE_SECONDS // 60,
        "absolute_hours": round(settings.API_TOKEN_ABSOLUTE_SECONDS / 3600, 1),
    }
    return render(request, "accounts/api_tokens.html", context, status=status)


@login_required
def api_tokens(request):
    """Your API tokens: make one (shown once, here, and stored nowhere), revoke one."""
    owner = request.user
    if not policy.can_manage_api_tokens(request.user, owner):
        raise PermissionDenied
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                record, token = services.api_token_create(
                    actor=request.user,
                    owner=owner,
                    name=form.cleaned_data["name"],
                    now=timezone.now(),
                )
            except ValidationError as exc:
                apply_service_errors([form], exc)
            else:
                # Shown on this response only: not put in the session or a redirect.
                return _api_tokens_page(
                    request,
                    owner,
                    form=ApiTokenForm(),
                    new_token={"record": record, "token": token},
                )
        return _api_tokens_page(request, owner, form=form, status=400)
    return _api_tokens_page(request, owner, form=form)


@login_required
def user_api_tokens(request, user_id):
    """Someone's API tokens, for account administrators: see them, revoke them."""
    owner = get_object_or_404(User, pk=user_id)
    if not policy.can_manage_api_tokens(request.user, owner):
        raise PermissionDenied
    if owner.pk == request.user.pk:
        return redirect("accounts:api_tokens")
    return _api_tokens_page(request, owner, form=None)


@login_required
@require_POST
def api_token_revoke(request, pk):
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=pk)
    if not policy.can_revoke_api_token(request.user, token):
        raise PermissionDenied
    try:
        services.api_token_revoke(actor=request.user, token=token, now=timezone.now())
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, f"Revoked the token “{token.name}”: it no longer works")
    if token.user_id == request.user.pk:
        return redirect("accounts:api_tokens")
    return redirect("accounts:user_api_tokens", user_id=token.user_id)
