"""GOV.UK Design System form pieces: a date field and a mixin for plain widgets.

Render fields with the template tags in common/templatetags/govuk.py
(`{% govuk_field form.date_of_birth %}`); this module holds what must exist
before rendering: the date field that parses three boxes into a `datetime.date`
with GOV.UK error messages, and a form mixin for forms that are also rendered
with plain `{{ form.field }}`.
"""

from __future__ import annotations

import calendar
import datetime
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.boundfield import BoundField
from django.forms.utils import pretty_name

if TYPE_CHECKING:  # the mixin is only ever mixed into forms
    _FormBase = forms.BaseForm
else:
    _FormBase = object

DATE_PARTS = ("day", "month", "year")

_MONTH_NAMES = {
    name.lower(): number
    for number in range(1, 13)
    for name in (calendar.month_name[number], calendar.month_abbr[number])
}
_MONTH_NAMES["sept"] = 9


def _sentence_start(text: str) -> str:
    return text[:1].upper() + text[1:]


def _in_sentence(text: str) -> str:
    """'Date of birth' -> 'date of birth', but leave 'CP plan start date' alone."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _join_parts(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


class GovukDateWidget(forms.MultiWidget):
    """GOV.UK date input: Day, Month and Year boxes.

    The boxes are named `<name>-day`, `<name>-month` and `<name>-year` and have
    ids `<id>-day` and so on, as the Design System does. They are text inputs
    with `inputmode="numeric"` (not type=number, which mangles input such as
    leading zeros). What was typed is kept as typed when the form is shown again.
    """

    template_name = "govuk/widgets/date_input.html"
    use_fieldset = True
    part_labels = {"day": "Day", "month": "Month", "year": "Year"}
    part_widths = {"day": 2, "month": 2, "year": 4}

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        box = {"inputmode": "numeric", "spellcheck": "false", "autocomplete": "off"}
        widgets = [forms.TextInput(attrs=dict(box)) for _ in DATE_PARTS]
        super().__init__(widgets, attrs)
        self.widgets_names = [f"-{part}" for part in DATE_PARTS]

    def decompress(self, value: Any) -> list[str | None]:
        return date_parts(value)

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        base_id = context["widget"]["attrs"].get("id")
        for part, subwidget in zip(DATE_PARTS, context["widget"]["subwidgets"], strict=True):
            if base_id:
                subwidget["attrs"]["id"] = f"{base_id}-{part}"
            subwidget["part"] = part
            subwidget["label"] = self.part_labels[part]
            subwidget["width"] = self.part_widths[part]
        return context

    def id_for_label(self, id_: str) -> str:
        return f"{id_}-day" if id_ else ""


def date_parts(value: Any) -> list[str | None]:
    """What the three boxes show for a date (or an ISO date string); empty otherwise."""
    if isinstance(value, str) and value:
        try:
            value = datetime.date.fromisoformat(value)
        except ValueError:
            return [None, None, None]
    if isinstance(value, datetime.date):
        return [str(value.day), str(value.month), str(value.year)]
    return [None, None, None]


class GovukDateField(forms.MultiValueField):
    """A date typed into three boxes, cleaned to a `datetime.date`.

    Messages follow the Design System, built from the field's label, or from
    `error_label` when the label is a question ("When was the child born?" with
    error_label="Date of birth"):

    - nothing typed, required: "Enter the date of birth"
    - part missing: "Date of birth must include a month"
    - not a date: "Date of birth must be a real date"
    - year not four digits: "Year must include 4 numbers"

    Month may be typed as a number or a name ("3", "Mar", "March").
    Errors carry `params["parts"]`, the boxes to highlight.
    """

    widget = GovukDateWidget
    default_error_messages = {
        "required": "Enter the %(label)s",
        "incomplete": "%(Label)s must include a %(parts)s",
        "invalid": "%(Label)s must be a real date",
        "year_length": "Year must include 4 numbers",
    }

    def __init__(self, *, error_label: str | None = None, **kwargs: Any) -> None:
        self.error_label = error_label
        self._field_name_label: str | None = None
        fields = tuple(forms.CharField(required=False, strip=True) for _ in DATE_PARTS)
        super().__init__(fields=fields, require_all_fields=False, **kwargs)

    def get_bound_field(self, form: forms.BaseForm, field_name: str) -> BoundField:
        # The field learns its name here, for messages when no label was given.
        self._field_name_label = pretty_name(field_name)
        return super().get_bound_field(form, field_name)

    def _label_params(self, parts: list[str] | None = None) -> dict[str, Any]:
        text = str(self.error_label or self.label or self._field_name_label or "date")
        params: dict[str, Any] = {"label": _in_sentence(text), "Label": _sentence_start(text)}
        if parts is not None:
            params["parts"] = _join_parts(parts)
            params["fields"] = list(parts)
        return params

    def _error(self, code: str, parts: list[str]) -> ValidationError:
        return ValidationError(
            self.error_messages[code], code=code, params=self._label_params(parts)
        )

    def clean(self, value: Any) -> datetime.date | None:
        if self.disabled and not isinstance(value, list):
            value = date_parts(value)
        if isinstance(value, datetime.date):
            return value
        raw = list(value or [])[:3]
        raw += [""] * (3 - len(raw))
        day, month, year = (str(v).strip() if v is not None else "" for v in raw)

        if not (day or month or year):
            if self.required:
                raise self._error("required", list(DATE_PARTS))
            return None

        missing = [part for part, v in zip(DATE_PARTS, (day, month, year), strict=True) if not v]
        if missing:
            raise self._error("incomplete", missing)

        result = self._to_date(day, month, year)
        self.validate(result)
        self.run_validators(result)
        return result

    def _to_date(self, day: str, month: str, year: str) -> datetime.date:
        bad = []
        if not day.isdigit():
            bad.append("day")
        month_number = int(month) if month.isdigit() else _MONTH_NAMES.get(month.lower())
        if month_number is None:
            bad.append("month")
        if not year.isdigit():
            bad.append("year")
        if bad or month_number is None:
            raise self._error("invalid", bad)
        if len(year) != 4:
            raise self._error("year_length", ["year"])
        if not 1 <= month_number <= 12:
            raise self._error("invalid", ["month"])
        try:
            return datetime.date(int(year), month_number, int(day))
        except ValueError:
            raise self._error("invalid", ["day"]) from None

    def validate(self, value: Any) -> None:
        # Required-ness is handled in clean(); nothing else to check on a date.
        pass

    def compress(self, data_list: Any) -> None:  # pragma: no cover - clean() does the work
        return None

    def has_changed(self, initial: Any, data: Any) -> bool:
        if self.disabled:
            return False
        initial_parts = date_parts(initial)
        data = list(data or ["", "", ""])
        for before, after in zip(initial_parts, data, strict=False):
            if (before or "").strip().lstrip("0") != (after or "").strip().lstrip("0"):
                return True
        return False


# --- Plain widgets -------------------------------------------------------------------


def govuk_widget_class(widget: forms.Widget) -> tuple[str, str]:
    """The GOV.UK class for a widget and the class that marks it in error."""
    if isinstance(widget, forms.CheckboxSelectMultiple):
        return "govuk-checkboxes__input", ""
    if isinstance(widget, forms.RadioSelect):
        return "govuk-radios__input", ""
    if isinstance(widget, forms.CheckboxInput):
        return "govuk-checkboxes__input", ""
    if isinstance(widget, forms.Select):
        return "govuk-select", "govuk-select--error"
    if isinstance(widget, forms.Textarea):
        return "govuk-textarea", "govuk-textarea--error"
    if isinstance(widget, forms.FileInput):
        return "govuk-file-upload", "govuk-file-upload--error"
    if isinstance(widget, forms.HiddenInput | forms.MultiWidget):
        return "", ""
    if isinstance(widget, forms.widgets.Input):
        return "govuk-input", "govuk-input--error"
    return "", ""


def merge_classes(*values: str) -> str:
    seen: list[str] = []
    for value in values:
        for name in (value or "").split():
            if name not in seen:
                seen.append(name)
    return " ".join(seen)


def field_ids(bound_field: BoundField) -> dict[str, str]:
    """Ids the GOV.UK markup uses for a field: the control, its hint and its error."""
    base = bound_field.field.widget.attrs.get("id") or bound_field.auto_id or ""
    return {
        "id": base,
        "hint": f"{base}-hint" if base else "",
        "error": f"{base}-error" if base else "",
    }


def first_input_id(bound_field: BoundField) -> str:
    """The id the error summary links to: the first box of a date, first radio..."""
    ids = field_ids(bound_field)
    if not ids["id"]:
        return ""
    widget = bound_field.field.widget
    if isinstance(widget, GovukDateWidget):
        return widget.id_for_label(ids["id"])
    if isinstance(widget, forms.RadioSelect):  # includes CheckboxSelectMultiple
        return f"{ids['id']}_0"
    if isinstance(widget, forms.MultiWidget):
        return f"{ids['id']}_0"
    return ids["id"]


class GovukFormMixin(_FormBase):
    """For forms also rendered with plain `{{ form.field }}`.

    Gives each widget its GOV.UK class, adds the error class and
    `aria-describedby` (hint and error ids, matching the govuk templates) once the
    form has been validated, and turns off the browser's own required-field
    checks, which the Design System asks services not to use.
    The `{% govuk_field %}` tag does all of this itself, with or without the mixin.
    """

    use_required_attribute = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            self._word_required_message(name, field)
            govuk_class, _ = govuk_widget_class(field.widget)
            if govuk_class:
                field.widget.attrs["class"] = merge_classes(
                    govuk_class, field.widget.attrs.get("class", "")
                )
            self._describe(name, with_error=False)

    @staticmethod
    def _word_required_message(name: str, field: forms.Field) -> None:
        """Replace Django's "This field is required." with "Enter ..." or "Select ..."."""
        if field.error_messages.get("required") != forms.Field.default_error_messages["required"]:
            return
        label = _in_sentence(str(field.label or pretty_name(name)))
        choosing = isinstance(
            field.widget, forms.Select | forms.RadioSelect | forms.CheckboxInput
        ) or isinstance(field, forms.ChoiceField | forms.ModelChoiceField)
        verb = "Select" if choosing else "Enter"
        field.error_messages["required"] = f"{verb} {label}"

    def _describe(self, name: str, *, with_error: bool) -> None:
        bound = self[name]
        ids = field_ids(bound)
        if not ids["id"]:
            return
        described: list[str] = []
        if bound.help_text:
            described.append(ids["hint"])
        if with_error:
            described.append(ids["error"])
        widget = self.fields[name].widget
        if described:
            widget.attrs["aria-describedby"] = " ".join(described)
        else:
            widget.attrs.pop("aria-describedby", None)

    def full_clean(self) -> None:
        super().full_clean()
        for name in getattr(self, "errors", {}):
            if name not in self.fields:
                continue
            widget = self.fields[name].widget
            _, error_class = govuk_widget_class(widget)
            if error_class:
                widget.attrs["class"] = merge_classes(widget.attrs.get("class", ""), error_class)
            self._describe(name, with_error=True)


class GovukForm(GovukFormMixin, forms.Form):
    """A form whose messages and widgets follow the GOV.UK Design System."""


class VersionField(forms.CharField):
    """The version of the stored record an edit form was filled from (hidden): the
    service refuses to save over a record changed since (`common.concurrency`)."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)
