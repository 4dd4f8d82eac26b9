"""Forms for the chronology. They collect input; services decide what is allowed."""

from django import forms
from django.db.models import Q

from accounts.models import Agency
from cases.forms import child_label
from common.forms import GovukDateField, GovukForm, VersionField

from .models import Category, ChronologyExport, InformantType, Significance
from .queries import Filters


class FilterForm(GovukForm):
    """Read from the query string: only dates, ids and codes, never names."""

    date_from = GovukDateField(label="From", required=False)
    date_to = GovukDateField(label="To", required=False)
    child = forms.TypedChoiceField(label="Child", required=False, coerce=int, empty_value=None)
    category = forms.ChoiceField(label="Category", required=False)
    source = forms.ChoiceField(label="Source", required=False)
    significance = forms.ChoiceField(
        label="Significance",
        required=False,
        choices=[("", "Any significance"), *Significance.choices],
    )
    significant_only = forms.BooleanField(
        label="Significant and critical entries only", required=False
    )

    def __init__(self, *args, children, sources, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["child"].choices = [
            ("", "All children and the family"),
            *[(c.pk, c.display_name) for c in children],
        ]
        self.fields["category"].choices = [("", "Any category"), *Category.choices]
        self.fields["source"].choices = [("", "Any source"), *sources]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", "The end date must be the same as or after the start date")
        return data

    def filters(self) -> Filters:
        if not self.is_bound or not self.is_valid():
            return Filters()
        d = self.cleaned_data
        return Filters(
            date_from=d.get("date_from"),
            date_to=d.get("date_to"),
            child_id=d.get("child"),
            category=d.get("category") or "",
            source=d.get("source") or "",
            significance=d.get("significance") or "",
            significant_only=bool(d.get("significant_only")),
        )


class ManualEntryForm(GovukForm):
    SOURCE_CHOICES = [("agency", "An agency"), ("informant", "A person (informant)")]

    date_known = forms.ChoiceField(
        label="How well is the date known?",
        widget=forms.RadioSelect,
        choices=[("exact", "The exact date"), ("approximate", "Only the month and year")],
        initial="exact",
    )
    occurred_on = GovukDateField(
        label="Date",
        help_text="For a month and year only, enter 1 as the day. For example, 1 3 2026",
    )
    source_kind = forms.ChoiceField(
        label="Where did the information come from?",
        widget=forms.RadioSelect,
        choices=SOURCE_CHOICES,
    )
    agency = forms.ModelChoiceField(
        label="Agency",
        queryset=Agency.objects.none(),
        required=False,
        empty_label="Select an agency",
    )
    informant_type = forms.ChoiceField(
        label="Kind of informant",
        required=False,
        choices=[("", "Select a kind of informant"), *InformantType.choices],
    )
    informant_name = forms.CharField(
        label="Informant's name",
        max_length=200,
        required=False,
        help_text="Left out of redacted exports",
    )
    informant_address = forms.CharField(
        label="Informant's address",
        max_length=300,
        required=False,
        help_text="Left out of redacted exports",
    )
    title = forms.CharField(
        label="Summary",
        max_length=300,
        help_text="One line, for example: School reports bruising to arm",
    )
    details = forms.CharField(label="What was reported", widget=forms.Textarea, max_length=10000)
    analysis = forms.CharField(
        label="Your analysis of the impact on the child",
        widget=forms.Textarea,
        max_length=10000,
        required=False,
    )
    action_taken = forms.CharField(
        label="Action taken", widget=forms.Textarea, max_length=5000, required=False
    )
    children = forms.ModelMultipleChoiceField(
        label="Children concerned",
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    significance = forms.ChoiceField(
        label="Significance",
        widget=forms.RadioSelect,
        choices=Significance.choices,
        initial="routine",
    )

    def __init__(self, *args, children, entry=None, **kwargs):
        """A new entry, or `entry` changed: its form also offers the agency and the
        children it names now, whatever has changed since, so saving it keeps them."""
        super().__init__(*args, **kwargs)
        from cases.models import Person

        child_ids = [c.pk for c in children]
        agencies = Q(active=True)
        if entry is not None:
            self.fields["version"] = VersionField()
            child_ids += [c.pk for c in entry.children.all()]
            if entry.agency_id:
                agencies |= Q(pk=entry.agency_id)
        self.fields["children"].queryset = Person.objects.filter(pk__in=child_ids).order_by(
            "date_of_birth", "id"
        )
        self.fields["children"].label_from_instance = child_label
        self.fields["agency"].queryset = Agency.objects.filter(agencies).order_by("name")

    def clean(self):
        data = super().clean()
        kind = data.get("source_kind")
        if kind == "agency" and not data.get("agency"):
            self.add_error("agency", "Select the agency")
        if kind == "informant" and not data.get("informant_type"):
            self.add_error("informant_type", "Select the kind of informant")
        return data


class SignificanceForm(GovukForm):
    version = VersionField()
    significance = forms.ChoiceField(
        label="Significance", widget=forms.RadioSelect, choices=Significance.choices
    )


class InErrorForm(GovukForm):
    reason = forms.CharField(
        label="Why was this entry recorded in error?", max_length=500, widget=forms.Textarea
    )


class ExportForm(GovukForm):
    format = forms.ChoiceField(
        label="Format",
        widget=forms.RadioSelect,
        choices=ChronologyExport.Format.choices,
        initial="pdf",
    )
    redacted = forms.TypedChoiceField(
        label="Who is it for?",
        widget=forms.RadioSelect,
        coerce=lambda v: v == "yes",
        choices=[
            ("no", "Within the agency: full details"),
            (
                "yes",
                "Sharing outside the agency: informants and third parties removed; "
                "you review the redacted text before it is released",
            ),
        ],
        initial="no",
    )
    in_error = forms.ChoiceField(
        label="Entries recorded in error",
        widget=forms.RadioSelect,
        choices=[("leave_out", "Leave them out"), ("strike", "Show them struck through")],
        initial="leave_out",
    )


class RedactionDecisionsForm(GovukForm):
    """The reviewer's decisions on the candidates (checked: redact) and their own terms."""

    shown = forms.MultipleChoiceField(widget=forms.MultipleHiddenInput, required=False)
    redact = forms.MultipleChoiceField(
        label="Remaining candidates",
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    added_terms = forms.CharField(
        label="Other words or phrases to redact",
        help_text="One on each line. Each is replaced by [redacted] wherever it appears.",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        required=False,
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        keys = [(c.key, c.text) for c in candidates]
        self.fields["shown"].choices = keys
        self.fields["redact"].choices = keys


class RedactionApprovalForm(GovukForm):
    version = forms.CharField(widget=forms.HiddenInput, max_length=64)
    confirm = forms.BooleanField(
        label="I have reviewed this redacted chronology and approve its release",
        required=False,
    )
