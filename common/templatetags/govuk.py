"""GOV.UK Design System form rendering for Django forms.

    {% load govuk %}
    {% govuk_error_summary form %}                  one or more forms or formsets; None is skipped
    {% govuk_field form.family_name classes="govuk-input--width-20" %}
    {% govuk_field form.summary label_size="m" hint="What worries you about the children" %}
    {% govuk_field form.outcome label="What happened?" heading=True label_size="l" %}

The component follows the widget: text-like inputs -> govuk-input, Textarea ->
govuk-textarea, Select -> govuk-select, RadioSelect -> govuk-radios,
CheckboxSelectMultiple -> govuk-checkboxes, CheckboxInput -> a single checkbox,
PasswordInput -> govuk-password-input, FileInput -> govuk-file-upload,
GovukDateWidget -> govuk-date-input, HiddenInput -> the bare input.
Everything typed, labels, hints and errors are escaped by the templates.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms, template
from django.forms.boundfield import BoundField
from django.template.loader import render_to_string
from django.utils.html import format_html

from common.forms import (
    DATE_PARTS,
    GovukDateWidget,
    field_ids,
    first_input_id,
    govuk_widget_class,
    merge_classes,
)

register = template.Library()

SIZES = {"s", "m", "l", "xl"}
BLANK_LABEL = "---------"


def _forms_in(obj: Any) -> Iterator[tuple[str, Any]]:
    """Forms to report, in order, from a form, a formset or None."""
    if obj is None or obj == "":
        return
    if hasattr(obj, "forms") and hasattr(obj, "non_form_errors"):
        yield ("formset", obj)
        for form in obj.forms:
            yield from _forms_in(form)
    elif hasattr(obj, "errors") and hasattr(obj, "fields"):
        yield ("form", obj)


@register.simple_tag
def govuk_error_summary(*forms_and_formsets: Any, title: str = "There is a problem") -> str:
    """The GOV.UK error summary for every error in the forms given, or nothing.

    Each field error links to the field (a date to its Day box, radios to the first
    radio). Errors that belong to no field are listed first, without a link.
    """
    items: list[dict[str, str]] = []
    for obj in forms_and_formsets:
        for kind, form in _forms_in(obj):
            if kind == "formset":
                items.extend({"text": e, "href": ""} for e in form.non_form_errors())
                continue
            if not form.is_bound:
                continue
            items.extend({"text": e, "href": ""} for e in form.non_field_errors())
            for bound in form:
                for error in bound.errors:
                    target = "" if bound.is_hidden else first_input_id(bound)
                    text = error if not bound.is_hidden else f"{bound.label}: {error}"
                    items.append({"text": text, "href": f"#{target}" if target else ""})
    if not items:
        return ""
    return render_to_string("govuk/error_summary.html", {"title": title, "items": items})


def _kind(widget: forms.Widget) -> str:
    if isinstance(widget, GovukDateWidget):
        return "date"
    if isinstance(widget, forms.HiddenInput | forms.MultipleHiddenInput):
        return "hidden"
    if isinstance(widget, forms.CheckboxSelectMultiple):
        return "checkboxes"
    if isinstance(widget, forms.RadioSelect):
        return "radios"
    if isinstance(widget, forms.CheckboxInput):
        return "checkbox"
    if isinstance(widget, forms.Select):
        return "select"
    if isinstance(widget, forms.Textarea):
        return "textarea"
    if isinstance(widget, forms.PasswordInput):
        return "password"
    if isinstance(widget, forms.FileInput):
        return "file"
    if isinstance(widget, forms.widgets.Input):
        return "input"
    return "other"


def _options(bound: BoundField, ids: dict[str, str]) -> list[dict[str, Any]]:
    options = []
    for index, sub in enumerate(bound.subwidgets):
        data = sub.data
        value = "" if data["value"] is None else str(data["value"])
        if value == "" and str(data["label"]) == BLANK_LABEL:
            continue
        option_id = data["attrs"].get("id") or (f"{ids['id']}_{index}" if ids["id"] else "")
        options.append(
            {"id": option_id, "value": value, "label": data["label"], "checked": data["selected"]}
        )
    # The error summary links to `<id>_0`: make sure the first option carries it.
    if options and ids["id"]:
        options[0]["id"] = f"{ids['id']}_0"
    return options


def _error_parts(bound: BoundField) -> list[str]:
    """Which date boxes to mark: those the error names, or all three."""
    parts: list[str] = []
    for error in bound.errors.as_data():
        named = (error.params or {}).get("fields") if isinstance(error.params, dict) else None
        if not named:
            return list(DATE_PARTS)
        parts.extend(p for p in named if p not in parts)
    return parts


@register.simple_tag
def govuk_field(
    bound: Any,
    classes: str = "",
    label_size: str = "",
    hint: str | None = None,
    label: str | None = None,
    heading: bool = False,
    form_group_classes: str = "",
    mark_optional: bool = True,
) -> str:
    """Render one bound field as the matching GOV.UK component.

    classes: added to the control (input, textarea, select, radios, checkboxes,
        date input), for example "govuk-input--width-10" or "govuk-radios--inline".
    label_size: "s", "m", "l" or "xl" (label or legend).
    hint: replaces the field's help_text.
    label: replaces the field's label.
    heading: put the label (or legend) in an <h1>, for one-question pages.
    mark_optional: False leaves "(optional)" off a field that is required only in
        some answers (the form says when).
    """
    if not isinstance(bound, BoundField):
        return ""
    widget = bound.field.widget
    kind = _kind(widget)
    if kind == "hidden":
        return bound.as_widget()

    ids = field_ids(bound)
    hint_text = bound.help_text if hint is None else hint
    errors = list(bound.errors)
    label_text = bound.label if label is None else label
    optional = mark_optional and not bound.field.required and kind not in {"checkbox", "checkboxes"}
    size = label_size if label_size in SIZES else ""

    described_by = []
    if hint_text and ids["hint"]:
        described_by.append(ids["hint"])
    if errors and ids["error"]:
        described_by.append(ids["error"])
    described = " ".join(described_by)

    context = {
        "field": bound,
        "kind": kind,
        "ids": ids,
        "name": bound.html_name,
        "label": label_text,
        "optional": optional,
        "hint": hint_text,
        "errors": errors,
        "describedby": described,
        "size": size,
        "heading": bool(heading),
        "classes": classes,
        "form_group_classes": form_group_classes,
        "disabled": bound.field.disabled,
    }

    if kind in {"radios", "checkboxes"}:
        context["options"] = _options(bound, ids)
        return render_to_string(f"govuk/field_{kind}.html", context)

    if kind == "date":
        error_parts = _error_parts(bound) if errors else []
        widget_context = widget.get_context(
            bound.html_name, bound.value(), {"id": ids["id"]} if ids["id"] else {}
        )["widget"]
        for sub in widget_context["subwidgets"]:
            sub["error"] = sub["part"] in error_parts
        context["widget"] = widget_context
        context["error_parts"] = error_parts
        return render_to_string("govuk/field_date.html", context)

    govuk_class, error_class = govuk_widget_class(widget)
    if kind == "password":
        govuk_class = merge_classes(
            govuk_class, "govuk-password-input__input govuk-js-password-input-input"
        )
    if kind == "checkbox":
        classes_for_control = merge_classes(govuk_class, widget.attrs.get("class", ""))
    else:
        classes_for_control = merge_classes(
            govuk_class,
            widget.attrs.get("class", ""),
            classes,
            error_class if errors else "",
        )
    attrs = {
        "class": classes_for_control,
        # The Design System asks services not to use browser validation or autofocus.
        "required": False,
        "autofocus": False,
    }
    if ids["id"]:
        attrs["id"] = ids["id"]
    if described:
        attrs["aria-describedby"] = described
    elif "aria-describedby" in widget.attrs:
        attrs["aria-describedby"] = widget.attrs["aria-describedby"]
    if bound.field.disabled:
        attrs["disabled"] = True
    if kind == "password":
        attrs.setdefault("spellcheck", "false")
        attrs["autocapitalize"] = "none"
    context["control"] = widget.render(
        bound.html_name, bound.value(), attrs=attrs, renderer=bound.form.renderer
    )
    return render_to_string(f"govuk/field_{kind if kind != 'other' else 'input'}.html", context)


@register.simple_tag
def govuk_error_message(bound: Any, text: str | None = None) -> str:
    """Just the error message of a field (for hand-made markup)."""
    if not isinstance(bound, BoundField) or not (text or bound.errors):
        return ""
    ids = field_ids(bound)
    messages: list[Any] = [text] if text else list(bound.errors)
    return render_to_string("govuk/_error_message.html", {"errors": messages, "ids": ids})


@register.filter
def govuk_first_id(bound: Any) -> str:
    """The id the error summary uses for a field: `{{ form.date|govuk_first_id }}`."""
    if not isinstance(bound, BoundField):
        return ""
    return first_input_id(bound)


@register.simple_tag
def govuk_visually_hidden(text: str) -> str:
    return format_html('<span class="govuk-visually-hidden">{}</span>', text)
