"""The one shape of a form page, for every app.

A GET shows the form; a POST that the form accepts calls `save` (a service, given
the cleaned data); a ValidationError from the service is shown beside the fields it
names, keeping everything typed; success says so and redirects. A PermissionDenied
from the service is a 403, as from the view. The page answers 400 while it shows
errors, so a test or a partner system can tell.
"""

from collections.abc import Callable, Sequence
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render

from .concurrency import VERSION_FIELD, EditConflict
from .errors import apply_service_errors

FormOrForms = django_forms.BaseForm | Sequence[django_forms.BaseForm]


def _as_list(form: FormOrForms) -> list[django_forms.BaseForm]:
    if isinstance(form, django_forms.BaseForm):
        return [form]
    return [f for f in form if f is not None]


def keep_newer_version(forms: list[django_forms.BaseForm], version: str) -> None:
    """After an edit conflict the form is shown again with everything typed kept and
    the version now stored, so that saving again (having looked) replaces it."""
    for form in forms:
        if VERSION_FIELD in form.fields:
            # A page's form holds the request's QueryDict, which copies as a mutable one.
            data = form.data.copy() if isinstance(form.data, QueryDict) else dict(form.data)
            data[form.add_prefix(VERSION_FIELD)] = version
            form.data = data


def render_form_page(
    request: HttpRequest, template: str, context: dict[str, Any], form: FormOrForms
) -> HttpResponse:
    """Render a page with forms on it: 400 while any of them shows errors."""
    errors = any(f.is_bound and f.errors for f in _as_list(form))
    return render(request, template, context, status=400 if errors else 200)


def form_page(
    request: HttpRequest,
    form: FormOrForms,
    save: Callable[[dict[str, Any]], Any],
    *,
    success: str | Callable[[Any], str],
    next_url: str | Callable[[Any], str],
    template: str,
    context: dict[str, Any],
) -> HttpResponse:
    """Validate, call the service, show its errors or say it is done.

    `form` is one form or several (`save` is then given the cleaned data of the
    first; the others are the caller's to read). `success` and `next_url` are
    strings, or functions of what `save` returned.
    """
    forms = _as_list(form)
    if request.method == "POST" and all(f.is_valid() for f in forms):
        try:
            result = save(forms[0].cleaned_data)
        except EditConflict as exc:
            apply_service_errors(forms, exc)
            keep_newer_version(forms, exc.current_version)
        except ValidationError as exc:
            apply_service_errors(forms, exc)
        else:
            messages.success(request, success(result) if callable(success) else success)
            return redirect(next_url(result) if callable(next_url) else next_url)
    return render_form_page(request, template, {**context, "form": forms[0]}, forms)
