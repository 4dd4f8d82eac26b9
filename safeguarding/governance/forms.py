"""The access log's filters: read from the query string, so ids, dates and codes only,
never a name or a date of birth (DESIGN.md section 6)."""

from django import forms

from accounts.models import AccessLog, User
from common.forms import GovukDateField, GovukForm


class LogFilterForm(GovukForm):
    date_from = GovukDateField(label="From", required=False)
    date_to = GovukDateField(label="To", required=False)
    via = forms.ChoiceField(
        label="Through", required=False, choices=[("", "Anything"), *AccessLog.Via.choices]
    )
    outcome = forms.ChoiceField(
        label="Outcome",
        required=False,
        choices=[("", "Shown or refused"), *AccessLog.Outcome.choices],
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date must be the same as or after the start date")
        return data


class PersonPickForm(GovukForm):
    person = forms.IntegerField(
        label="Record number of the child or person",
        min_value=1,
        max_value=10**18 - 1,
        help_text="Shown as “Record number” on the person's page, which links here.",
        error_messages={
            "required": "Enter the record number of the child or person",
            "invalid": "Enter the record number as a whole number, like 42",
        },
    )


class UserPickForm(GovukForm):
    user = forms.ModelChoiceField(
        label="User",
        queryset=User.objects.order_by("last_name", "first_name", "username"),
        empty_label="Select a user",
        error_messages={"required": "Select a user"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].label_from_instance = lambda u: (
            f"{u.get_full_name() or u.username} ({u.username})"
        )
