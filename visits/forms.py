"""Forms for planning and recording visits: one submission, usable on a phone."""

import datetime
import re

from django import forms
from django.utils import timezone

from accounts.models import Agency, User
from cases.models import Person
from common.forms import GovukDateField, GovukForm, VersionField

from .models import Visit
from .templatetags.visits import child_label

YES_NO = [("yes", "Yes"), ("no", "No")]
YES_NO_NA = [("yes", "Yes"), ("no", "No"), ("", "Not checked")]


def _yes_no(value):
    return {"yes": True, "no": False}.get(value)


class TimeField(forms.Field):
    """A time typed as 14:30, 1430, 2:30pm or 9am."""

    default_error_messages = {"invalid": "Enter a real time, like 14:30 or 2:30pm"}

    def __init__(self, *, max_length=10, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"autocomplete": "off"}))
        super().__init__(**kwargs)
        self.widget.attrs["maxlength"] = str(max_length)

    def to_python(self, value):
        value = (value or "").strip().lower().replace(".", ":")
        if not value:
            return None
        match = re.fullmatch(r"(\d{1,2})(?::?(\d{2}))?\s*(am|pm)?", value)
        if not match:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        hour, minute, half = int(match[1]), int(match[2] or 0), match[3]
        if half == "pm" and hour < 12:
            hour += 12
        if half == "am" and hour == 12:
            hour = 0
        if hour > 23 or minute > 59:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return datetime.time(hour, minute)


class VisitDetailsForm(GovukForm):
    kind = forms.ChoiceField(
        label="Kind of visit", choices=Visit.Kind.choices, widget=forms.RadioSelect
    )
    announced = forms.TypedChoiceField(
        label="Will the family know you are coming?",
        widget=forms.RadioSelect,
        choices=[("yes", "Announced"), ("no", "Unannounced")],
        coerce=_yes_no,
    )
    joint_worker = forms.ModelChoiceField(
        label="Joint visitor from your service",
        queryset=User.objects.none(),
        required=False,
        empty_label="No colleague",
    )
    joint_agency = forms.ModelChoiceField(
        label="Joint visitor from another agency",
        queryset=Agency.objects.filter(active=True),
        required=False,
        empty_label="No agency",
    )
    purpose = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, case, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["joint_worker"].queryset = (
            User.objects.filter(is_active=True, team=case.team)
            .exclude(pk=user.pk)
            .order_by("first_name")
        )


class VisitPlanForm(VisitDetailsForm):
    date = GovukDateField(label="Date of the visit")
    time = TimeField(label="Time", help_text="For example, 14:30 or 7am")
    field_order = ["date", "time", "kind", "announced", "joint_worker", "joint_agency", "purpose"]

    def planned_for(self):
        data = self.cleaned_data
        return timezone.make_aware(datetime.datetime.combine(data["date"], data["time"]))


class VisitOutcomeForm(GovukForm):
    outcome = forms.ChoiceField(
        label="What happened?",
        widget=forms.RadioSelect,
        choices=[
            (Visit.Outcome.COMPLETED, "The visit happened"),
            (
                Visit.Outcome.DEFAULTED,
                "The family defeated it (no answer, refused entry, not "
                "in, did not attend, cancelled by them)",
            ),
            (Visit.Outcome.CANCELLED_BY_WORKER, "I cancelled it"),
        ],
    )
    default_reason = forms.ChoiceField(
        label="If the family defeated it, how?",
        widget=forms.RadioSelect,
        required=False,
        choices=Visit.DefaultReason.choices,
    )
    date = GovukDateField(label="Date it happened")
    time = TimeField(
        label="Time it happened", help_text="The real time, for example 07:15 or 4:45pm"
    )
    present_members = forms.ModelMultipleChoiceField(
        label="Who from the household was there?",
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    others_present = forms.CharField(
        label="Anyone else there",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Any adult you did not expect: their name if given, or what they look like",
    )
    parent_report = forms.CharField(
        label="What the parents or carers told you",
        max_length=10000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Their account. What you saw yourself goes under direct observation.",
    )
    observed = forms.CharField(
        label="Direct observation: what you saw between parent and child",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What you saw yourself, for example how the parent responded when the baby cried",
    )
    observed_analysis = forms.CharField(
        label="Your analysis of what you saw",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    notes = forms.CharField(
        label="Other notes",
        max_length=10000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    version = VersionField()

    def __init__(self, *args, people, **kwargs):
        """`people`: who may be ticked as there (the household on the day, and anyone
        already recorded as there)."""
        super().__init__(*args, **kwargs)
        field = self.fields["present_members"]
        field.queryset = Person.objects.filter(pk__in=[p.pk for p in people])
        field.label_from_instance = lambda p: p.display_name

    def clean(self):
        data = super().clean()
        if data.get("outcome") == Visit.Outcome.DEFAULTED and not data.get("default_reason"):
            self.add_error("default_reason", "Select how the family defeated the visit")
        if data.get("date") and data.get("time") is not None:
            when = timezone.make_aware(datetime.datetime.combine(data["date"], data["time"]))
            if when > timezone.now():
                self.add_error(
                    "date", "The visit must be now or in the past: plan a future visit instead"
                )
        return data

    def occurred_at(self, stored: datetime.datetime | None = None):
        """The date and time given. The form shows minutes: the `stored` time, when it
        falls in the same minute, is kept as it is rather than cut to the minute."""
        data = self.cleaned_data
        when = timezone.make_aware(datetime.datetime.combine(data["date"], data["time"]))
        if stored is not None and when == timezone.localtime(stored).replace(
            second=0, microsecond=0
        ):
            return stored
        return when


class ChildSeenForm(GovukForm):
    """One per child in the household: the child's part of the visit."""

    seen = forms.ChoiceField(
        label="Seen?", choices=YES_NO, widget=forms.RadioSelect, required=False
    )
    seen_alone = forms.ChoiceField(
        label="Seen alone?", choices=YES_NO, widget=forms.RadioSelect, required=False
    )
    bedroom_seen = forms.ChoiceField(
        label="Bedroom seen?", choices=YES_NO_NA, widget=forms.RadioSelect, required=False
    )
    reason_not_seen = forms.CharField(
        label="Why not seen, or not seen alone",
        max_length=500,
        required=False,
    )
    child_views = forms.CharField(
        label="What the child said, in their own words",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    presentation = forms.CharField(
        label="How the child presented",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Appearance, mood, behaviour, how they were with the adults",
    )

    def __init__(self, *args, child, **kwargs):
        super().__init__(*args, **kwargs)
        self.child = child
        self.label = child_label(child)
        name = child.first_name or "the child"
        self.fields["seen"].label = f"Was {name} seen?"
        self.fields["seen_alone"].label = f"Was {name} seen alone?"
        self.fields["bedroom_seen"].label = f"Was {name}'s bedroom seen?"
        self.fields["child_views"].label = f"What {name} said, in their own words"
        self.fields["presentation"].label = f"How {name} presented"
        # The form kit has made each field's bound field already (with the label it had).
        for field in ("seen", "seen_alone", "bedroom_seen", "child_views", "presentation"):
            self[field].label = self.fields[field].label

    def clean(self):
        data = super().clean()
        seen = _yes_no(data.get("seen"))
        alone = _yes_no(data.get("seen_alone"))
        if alone and seen is False:
            self.add_error("seen_alone", "A child cannot be seen alone without being seen")
        return data

    @staticmethod
    def initial_from(row) -> dict:
        """The answers stored on a child's row of the visit (visits.ChildSeen)."""
        answer = {True: "yes", False: "no", None: ""}
        return {
            "seen": answer[row.seen],
            "seen_alone": answer[row.seen_alone] if row.seen else None,
            "bedroom_seen": answer[row.bedroom_seen],
            "reason_not_seen": row.reason_not_seen,
            "child_views": row.child_views,
            "presentation": row.presentation,
        }

    def values(self, *, completed: bool) -> dict | None:
        data = self.cleaned_data
        seen = _yes_no(data.get("seen"))
        if seen is None:
            if completed:
                return {"missing": True}
            return None
        return {
            "seen": seen,
            "seen_alone": bool(_yes_no(data.get("seen_alone"))),
            "bedroom_seen": _yes_no(data.get("bedroom_seen")),
            "reason_not_seen": data.get("reason_not_seen", ""),
            "child_views": data.get("child_views", ""),
            "presentation": data.get("presentation", ""),
        }


class ObservationForm(GovukForm):
    """One per observation already on the visit: what was seen, corrected in place (the
    history keeps what it said before)."""

    what_was_seen = forms.CharField(
        label="What you saw",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": "Enter what you saw: an observation is corrected, never emptied"
        },
    )
    analysis = forms.CharField(
        label="Your analysis of what you saw",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, observation, number, **kwargs):
        kwargs.setdefault(
            "initial",
            {"what_was_seen": observation.what_was_seen, "analysis": observation.analysis},
        )
        super().__init__(*args, **kwargs)
        self.observation = observation
        who = " and ".join(
            p.display_name for p in (observation.adult, observation.child) if p is not None
        )
        self.legend = f"Observation {number}" + (f": {who}" if who else "")


class InErrorForm(GovukForm):
    reason = forms.CharField(
        label="Why was this visit recorded in error?",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class LoneWorkingCheckInForm(GovukForm):
    address = forms.CharField(
        label="Address you are going to",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    expected_end = TimeField(
        label="When do you expect to be out?",
        help_text="For example 15:30, within the next 12 hours. Your buddy and team "
        "managers are alerted if you have not checked out soon after",
    )

    def end_at(self, now: datetime.datetime) -> datetime.datetime:
        """The next time of day given after `now`: 00:30 typed at 23:40 is tomorrow's."""
        local = timezone.localtime(now)
        end = timezone.make_aware(
            datetime.datetime.combine(local.date(), self.cleaned_data["expected_end"])
        )
        if end <= now:
            end = timezone.make_aware(
                datetime.datetime.combine(
                    local.date() + datetime.timedelta(days=1), self.cleaned_data["expected_end"]
                )
            )
        return end


class LoneWorkingAcknowledgeForm(GovukForm):
    action = forms.CharField(
        label="What did you do?",
        help_text="For example: phoned them and they are safe, or went to the address",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
