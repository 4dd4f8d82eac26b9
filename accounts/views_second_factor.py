"""The second-factor pages: the code at sign-in, setting up an app the first time,
your own second factor, and an administrator's reset (accounts/second_factor.py)."""

import logging
import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import policy, services
from . import second_factor as sf
from .forms_second_factor import AppCodeForm, CodeForm, SecondFactorResetForm
from .models import SecondFactorReset, User

log = logging.getLogger("accounts.second_factor")


def _start_again(request):
    messages.info(request, "Sign in again: the sign-in was not finished in time.")
    return redirect("accounts:login")


def _log_failure(request, user, exc: ValidationError, step: str) -> None:
    log.warning(
        "Second factor refused (%s, %s) for %s from %s",
        step,
        exc.code,
        user.username,
        services.client_ip(request),
    )


def _add_error(form, exc: ValidationError) -> None:
    form.add_error("code", exc.messages[0])


@never_cache
@require_http_methods(["GET", "POST"])
def second_factor_verify(request):
    """After the password: the code from the authenticator app, or a recovery code."""
    found = sf.subject(request)
    if found is None:
        if request.user.is_authenticated:
            return redirect(sf.safe_next(request, request.GET.get("next")))
        return _start_again(request)
    user, next_url = found
    if not sf.has_authenticator(user):
        return redirect(sf.step_url(user, request.GET.get("next")))
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            device = services.second_factor_check(user=user, code=form.cleaned_data["code"])
        except ValidationError as exc:
            _log_failure(request, user, exc, "sign-in")
            _add_error(form, exc)
        else:
            sf.finish(request, user, device)
            if device.name == services.RECOVERY_CODES:
                left = services.recovery_codes_remaining(user)
                messages.warning(
                    request,
                    f"You used a recovery code. You have {left} left. "
                    "Make new ones from ‘Your second factor’ if you are running low.",
                )
            return redirect(next_url)
    if form.errors:
        status = 400
    return render(request, "accounts/second_factor_verify.html", {"form": form}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def second_factor_enrol(request):
    """The first sign-in: set up an authenticator app (QR code or the secret typed in),
    confirm it with a code, then see the recovery codes once."""
    found = sf.subject(request)
    if found is None:
        if request.user.is_authenticated:
            return redirect(sf.safe_next(request, request.GET.get("next")))
        return _start_again(request)
    user, next_url = found
    if sf.has_authenticator(user):
        return redirect(sf.step_url(user, request.GET.get("next")))
    key = request.session.get(sf.NEW_KEY_SESSION_KEY)
    if not key:
        key = secrets.token_hex(20)
        request.session[sf.NEW_KEY_SESSION_KEY] = key
    form = AppCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = services.second_factor_enrol(
                actor=user, key=key, code=form.cleaned_data["code"], now=timezone.now()
            )
        except ValidationError as exc:
            _log_failure(request, user, exc, "set-up")
            _add_error(form, exc)
        else:
            sf.finish(request, user, device)
            return render(
                request,
                "accounts/second_factor_codes.html",
                {"codes": codes, "next_url": next_url, "first_time": True},
            )
    if form.errors:
        status = 400
    config_url = TOTPDevice(user=user, key=key).config_url
    context = {
        "form": form,
        "qr_code": sf.qr_code_data_uri(config_url),
        "secret": sf.secret_in_groups(key),
        "username": user.get_username(),
    }
    return render(request, "accounts/second_factor_enrol.html", context, status=status)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def second_factor_manage(request):
    """Your own second factor: the app, how many recovery codes are left, new codes."""
    user = request.user
    form = AppCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.recovery_codes_regenerate(
                actor=user, code=form.cleaned_data["code"], now=timezone.now()
            )
        except ValidationError as exc:
            _log_failure(request, user, exc, "new recovery codes")
            _add_error(form, exc)
        else:
            return render(
                request,
                "accounts/second_factor_codes.html",
                {"codes": codes, "next_url": "", "first_time": False},
            )
    if form.errors:
        status = 400
    context = {
        "form": form,
        "app": services._authenticator(user),
        "codes_left": services.recovery_codes_remaining(user),
    }
    return render(request, "accounts/second_factor_manage.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def second_factor_reset(request, pk):
    """An administrator resets someone's second factor, giving a reason."""
    person = get_object_or_404(User, pk=pk)
    if not policy.can_reset_second_factor(request.user, person):
        raise PermissionDenied
    form = SecondFactorResetForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            record = services.second_factor_reset(
                actor=request.user,
                user=person,
                reason=form.cleaned_data["reason"],
                now=timezone.now(),
            )
        except ValidationError as exc:
            form.add_error("reason", exc.messages[0])
        else:
            messages.success(
                request,
                f"{person}’s second factor was reset and {record.sessions_ended} of their "
                "sessions ended. They will set up an authenticator app when they next sign in.",
            )
            return redirect("accounts:second_factor_reset", pk=person.pk)
    if form.errors:
        status = 400
    context = {
        "form": form,
        "person": person,
        "has_app": sf.has_authenticator(person),
        "resets": SecondFactorReset.objects.filter(user=person).select_related("reset_by")[:20],
    }
    return render(request, "accounts/second_factor_reset.html", context, status=status)
