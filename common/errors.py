"""A service's ValidationError shown where the person who sent the input will see it.

Services raise `django.core.exceptions.ValidationError` with field names
(`{"start_date": "..."}`) or without; pages show each message beside the field it
names (`apply_service_errors`), the API answers 400 with the same field names
(`drf_validation_error`).
"""

from collections.abc import Sequence

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms import BaseForm
from rest_framework import exceptions
from rest_framework.settings import api_settings


def messages_by_field(exc: ValidationError) -> list[tuple[str | None, list[str]]]:
    """(field name or None, messages) for each field the error names."""
    if hasattr(exc, "error_dict"):
        return [
            (None if field == NON_FIELD_ERRORS else field, messages)
            for field, messages in exc.message_dict.items()
        ]
    return [(None, exc.messages)]


def apply_service_errors(
    forms_or_form: BaseForm | Sequence[BaseForm | None], exc: ValidationError
) -> None:
    """Show a service's ValidationError beside the field it names.

    Given several forms, each error goes to the first form with that field; errors
    about no field (or a field no form has) go to the top of the first form.
    """
    targets = forms_or_form if isinstance(forms_or_form, list | tuple) else [forms_or_form]
    targets = [f for f in targets if f is not None]
    for field, messages in messages_by_field(exc):
        form = next((f for f in targets if field is not None and field in f.fields), None)
        for message in messages:
            if form is None:
                targets[0].add_error(None, message)
            else:
                form.add_error(field, message)


def drf_validation_error(exc: ValidationError) -> exceptions.ValidationError:
    """A service's ValidationError as a DRF 400, keeping the field names it gave."""
    detail: dict[str, list[str]] = {}
    for field, messages in messages_by_field(exc):
        detail.setdefault(field or api_settings.NON_FIELD_ERRORS_KEY, []).extend(messages)
    return exceptions.ValidationError(detail=detail)
