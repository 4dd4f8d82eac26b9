from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from . import oidc, policy, queries, services
from .forms import SignInForm
from .models import Notification


class SignInView(LoginView):
    template_name = "accounts/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["timed_out"] = self.request.GET.get("timeout") == "1"
        context["password_sign_in"] = settings.PASSWORD_SIGN_IN_ENABLED
        context["sso_sign_in"] = settings.OIDC_ENABLED
        context["sso_provider_name"] = settings.OIDC_PROVIDER_NAME
        return context

    def post(self, request, *args, **kwargs):
        if not settings.PASSWORD_SIGN_IN_ENABLED:
            # Passwords are switched off: only single sign-on signs anyone in.
            context = self.get_context_data(form=self.get_form(), password_refused=True)
            return self.render_to_response(context, status=403)
        return super().post(request, *args, **kwargs)


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
    context = {"page": page, "manages_notifications": policy.can_manage_notifications(request.user)}
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
