"""Forms for the case record. They collect input; services decide what is allowed."""

from django import forms
from django.db.models import Q

from accounts import policy
from accounts.models import Agency, Team, User
from common.forms import GovukDateField, GovukForm, GovukFormMixin, VersionField

from .models import (
    Case,
    ChildProtectionPlan,
    Escalation,
    Hazard,
    Meeting,
    Membership,
    Person,
    WrittenAgreement,
)
from .services.people import PERSON_FIELDS
from .validators import validate_nhs_number, validate_postcode, validate_upn


class WorkerChoiceField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj):
        return f"{obj.get_full_name()} ({obj.role_label or 'no role'})"


def team_staff(team):
    return User.objects.filter(is_active=True, team=team).order_by("first_name", "last_name")


def case_holders(team):
    """Who may be allocated a case of `team` (the policy's `can_hold_cases`)."""
    return (
        User.objects.filter(policy.case_holders_q(), team=team)
        .distinct()
        .order_by("first_name", "last_name")
    )


class CaseCreateForm(GovukForm):
    family_name = forms.CharField(
        max_length=120, help_text="The family's surname, as the family uses it"
    )
    team = forms.ModelChoiceField(queryset=Team.objects.filter(active=True), empty_label=None)
    opened_on = GovukDateField(label="Date the case opened", help_text="For example, 27 3 2026")
    summary = forms.CharField(
        label="Summary of concerns",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What brought the family to the service and what worries you about the children",
    )
    allocated_workers = WorkerChoiceField(queryset=User.objects.none(), required=False)
    restricted = forms.BooleanField(
        label="Restrict this case to named people",
        required=False,
        help_text="For example, a member of staff's own family. Only the people named can "
        "see a restricted case.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["allocated_workers"].queryset = (
            User.objects.filter(policy.case_holders_q())
            .distinct()
            .order_by("first_name", "last_name")
        )
        if not user.is_service_manager:
            self.fields["team"].queryset = Team.objects.filter(pk=user.team_id)
            self.fields["allocated_workers"].queryset = case_holders(user.team)
        self.fields["team"].initial = user.team_id


class CaseEditForm(GovukForm):
    version = VersionField()
    family_name = forms.CharField(max_length=120)
    summary = forms.CharField(
        label="Summary of concerns", max_length=5000, widget=forms.Textarea(attrs={"rows": 6})
    )


class CaseFilterForm(GovukForm):
    STATUS_CHOICES = [("", "Any status"), *Case.Status.choices]
    PLAN_CHOICES = [("", "Any"), ("yes", "A child is on a plan"), ("no", "No child on a plan")]

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        help_text="Case reference, name, date of birth (like 27/03/2019) or postcode",
    )
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False, initial="open")
    on_plan = forms.ChoiceField(label="Child protection plan", choices=PLAN_CHOICES, required=False)
    worker = forms.ModelChoiceField(
        label="Allocated worker",
        queryset=User.objects.none(),
        required=False,
        empty_label="Any worker",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if user.is_service_manager:
            staff = User.objects.filter(is_active=True, allocated_cases__isnull=False).distinct()
        else:
            staff = team_staff(user.team)
        self.fields["worker"].queryset = staff.order_by("first_name", "last_name")


class CaseCloseForm(GovukForm):
    closed_on = GovukDateField(label="Date the case closed")
    reason = forms.ChoiceField(
        label="Why is the case closing?",
        choices=Case.ClosureReason.choices,
        widget=forms.RadioSelect,
    )
    notes = forms.CharField(
        label="Closing summary",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What has changed for the children, and who still supports the family",
    )


class ReasonForm(GovukForm):
    """A reason, asked as a question (`label`), with what to say when it is left empty."""

    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, label: str = "Reason", required: str = "Enter the reason", **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["reason"]
        field.label = label
        field.error_messages["required"] = required
        self._bound_fields_cache.pop("reason", None)  # bound before the label was set


class AllocationForm(GovukForm):
    workers = WorkerChoiceField(
        label="Allocated workers",
        queryset=User.objects.none(),
        required=False,
        help_text="At least one: social workers, practice supervisors and team managers",
    )

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workers"].queryset = case_holders(case.team)


class RestrictionForm(GovukForm):
    restricted = forms.BooleanField(label="Restrict this case to named people", required=False)
    named_users = WorkerChoiceField(
        label="People who may see it",
        queryset=User.objects.none(),
        required=False,
        help_text="Allocated workers and you are always included",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["named_users"].queryset = User.objects.filter(is_active=True).order_by(
            "first_name", "last_name"
        )


class PersonSearchForm(GovukForm):
    """The search that must come before a new person is made."""

    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100)
    date_of_birth = GovukDateField(required=False, help_text="For example, 27 3 2019")
    nhs_number = forms.CharField(
        label="NHS number",
        max_length=12,
        required=False,
        help_text="10 digits, like 943 476 5919",
    )

    def clean_nhs_number(self):
        value = self.cleaned_data["nhs_number"]
        if value:
            validate_nhs_number(value)
        return value


class PersonChoiceForm(GovukForm):
    person = forms.ChoiceField(
        label="Is the person you are adding one of these?",
        widget=forms.RadioSelect,
        error_messages={"required": "Select the person, or that they are not listed"},
    )

    def __init__(self, *args, matches, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [
            (str(m.person.pk), m.person.display_name) for m in matches
        ] + [("new", "None of these: this is a new person")]


class MergeChoiceForm(GovukForm):
    """Which of the records found is the same person as the one being merged."""

    other = forms.ChoiceField(
        label="Which record is the same person?",
        widget=forms.RadioSelect,
        error_messages={"required": "Select the record that is the same person"},
    )

    def __init__(self, *args, matches, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["other"].choices = [
            (str(m.person.pk), f"{m.person.display_name} ({m.person.record_label})")
            for m in matches
        ]


class MergeConfirmForm(GovukForm):
    """Merging two records: which one is kept, and why they are one person."""

    other = forms.IntegerField(widget=forms.HiddenInput)
    keep = forms.ChoiceField(
        label="Which record do you keep?",
        widget=forms.RadioSelect,
        help_text="Everything recorded on the other one moves to it. The other record is "
        "kept, marked as merged, and no longer found by searches.",
        error_messages={"required": "Select the record to keep"},
    )
    reason = forms.CharField(
        label="Why are these records the same person?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example, same date of birth and address; confirmed by the mother",
        error_messages={"required": "Say why these two records are one person"},
    )

    def __init__(self, *args, person, other, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["keep"].choices = [
            (str(p.pk), f"{p.display_name} ({p.record_label})") for p in (person, other)
        ]


class PersonForm(GovukFormMixin, forms.ModelForm):
    class Meta:
        model = Person
        fields = list(PERSON_FIELDS)
        widgets = {
            "aliases": forms.Textarea(attrs={"rows": 2}),
            "sex": forms.RadioSelect,
            "disability": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "first_name": "Leave blank for an unborn baby not yet named",
            "gender": "If the person describes their gender differently from their sex",
            "nhs_number": "10 digits, like 943 476 5919",
            "upn": "For a child at school: a letter then 12 characters",
        }

    # Room for the spaces people type; the stored form is the bare digits or letters.
    nhs_number = forms.CharField(
        label="NHS number", max_length=14, required=False, help_text="10 digits, like 943 476 5919"
    )
    upn = forms.CharField(
        label="Unique pupil number (UPN)",
        max_length=16,
        required=False,
        help_text="For a child at school: a letter then 12 characters",
    )
    date_of_birth = GovukDateField(required=False, help_text="For example, 27 3 2019")
    expected_date_of_birth = GovukDateField(
        label="Expected date of birth",
        required=False,
        help_text="For an unborn baby. Leave blank if the person is born.",
    )

    def clean_nhs_number(self):
        value = self.cleaned_data["nhs_number"].replace(" ", "").replace("-", "")
        if value:
            validate_nhs_number(value)
        return value

    def clean_upn(self):
        value = self.cleaned_data["upn"].replace(" ", "").upper()
        if value:
            validate_upn(value)
        return value

    def clean(self):
        data = super().clean()
        if data.get("date_of_birth") and data.get("expected_date_of_birth"):
            self.add_error(
                "expected_date_of_birth",
                "Give a date of birth or an expected date of birth, not both",
            )
        return data

    def _post_clean(self):
        # Uniqueness and cross-row rules are the service's; skip the model's own.
        pass


class PersonEditForm(PersonForm):
    """A person's details as stored, with the version they were read at."""

    version = VersionField()


class MembershipFields(GovukForm):
    relationship = forms.ChoiceField(
        label="Relationship in this family",
        choices=Membership.Relationship.choices,
        widget=forms.RadioSelect,
        help_text="Record every adult who lives in or visits the home, including partners",
    )
    lives_in_household = forms.TypedChoiceField(
        label="Do they live in the household?",
        choices=[("yes", "Yes, they live there"), ("no", "No, they live elsewhere")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    start_date = GovukDateField(
        label="Date they joined the household or the case",
        help_text="When they moved in, or when the case learned of them",
    )


class MembershipEndForm(GovukForm):
    end_date = GovukDateField(label="Date they left")
    reason = forms.CharField(
        label="What happened",
        max_length=300,
        required=False,
        help_text="For example, moved out after arrest; went to live with grandparents",
    )


class MembershipChangeForm(GovukForm):
    version = VersionField()
    lives_in_household = forms.TypedChoiceField(
        label="Do they live in the household?",
        choices=[("yes", "Yes, they live there"), ("no", "No, they live elsewhere")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )


class MembershipEditForm(MembershipFields):
    """A stay on the case as it was recorded, to correct it. The date they left and
    why are there once they have left; until then "Left" records it."""

    version = VersionField()
    end_date = GovukDateField(
        label="Date they left",
        required=False,
        help_text="Clear it if they did not leave",
    )
    end_reason = forms.CharField(label="What happened", max_length=300, required=False)

    def __init__(self, *args, membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lives_in_household"].help_text = (
            "Correct it if it was recorded wrongly. If they have moved in or out since, "
            "record it with “Where they live”"
        )
        self.fields["relationship"].help_text = ""
        if membership.end_date is None:
            del self.fields["end_date"]
            del self.fields["end_reason"]


class AddressForm(GovukForm):
    line_1 = forms.CharField(label="Address line 1", max_length=120)
    line_2 = forms.CharField(label="Address line 2", max_length=120, required=False)
    town = forms.CharField(label="Town or city", max_length=80)
    postcode = forms.CharField(max_length=10, validators=[validate_postcode])
    start_date = GovukDateField(label="Date they moved in")


class AddressEditForm(AddressForm):
    """An address as it was recorded, to correct it; a move is recorded as a new one."""

    version = VersionField()


class AddressEndForm(GovukForm):
    end_date = GovukDateField(
        label="Date they left", help_text="Use this when the new address is not known"
    )


def child_label(person: Person) -> str:
    name = person.display_name
    if person.is_unborn:
        return f"{name} (due {person.expected_date_of_birth:%d/%m/%Y})"
    if person.date_of_birth:
        return f"{name} (born {person.date_of_birth:%d/%m/%Y})"
    return f"{name} (date of birth not known)"


class PlanStartForm(GovukForm):
    child = forms.ModelChoiceField(
        queryset=Person.objects.none(), widget=forms.RadioSelect, empty_label=None
    )
    category = forms.ChoiceField(
        label="Category of abuse",
        choices=ChildProtectionPlan.Category.choices,
        widget=forms.RadioSelect,
    )
    start_date = GovukDateField(
        label="Date the plan started", help_text="The date of the child protection conference"
    )

    def __init__(self, *args, children, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["child"].queryset = children
        self.fields["child"].label_from_instance = child_label


class PlanEditForm(GovukForm):
    version = VersionField()
    category = forms.ChoiceField(
        label="Category of abuse",
        choices=ChildProtectionPlan.Category.choices,
        widget=forms.RadioSelect,
    )
    start_date = GovukDateField(
        label="Date the plan started", help_text="The date of the child protection conference"
    )


class PlanEndForm(GovukForm):
    end_date = GovukDateField(label="Date the plan ended")
    reason = forms.CharField(
        label="Reason",
        max_length=300,
        required=False,
        help_text="For example, review conference ended the plan",
    )


class HazardForm(GovukForm):
    about = forms.ChoiceField(label="Who or what is the hazard about?", widget=forms.RadioSelect)
    kind = forms.ChoiceField(
        label="Kind of hazard", choices=Hazard.Kind.choices, widget=forms.RadioSelect
    )
    details = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What a visitor must know before they knock, and what to do about it",
    )
    start_date = GovukDateField(label="Active from")
    end_date = GovukDateField(
        label="Active to", required=False, help_text="Leave blank if it has no end date"
    )

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["about"].choices = [("case", "The household or the address")] + [
            (str(m.person_id), f"{m.person.full_name} ({m.get_relationship_display()})")
            for m in members
        ]


class HazardEditForm(GovukForm):
    """A hazard as it was recorded, to correct it (who or what it is about stays)."""

    version = VersionField()
    kind = forms.ChoiceField(
        label="Kind of hazard", choices=Hazard.Kind.choices, widget=forms.RadioSelect
    )
    details = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What a visitor must know before they knock, and what to do about it",
    )
    start_date = GovukDateField(label="Active from")
    end_date = GovukDateField(
        label="Active to", required=False, help_text="Leave blank if it has no end date"
    )


class MeetingForm(GovukForm):
    kind = forms.ChoiceField(
        label="Kind of meeting", choices=Meeting.Kind.choices, widget=forms.RadioSelect
    )
    held_on = GovukDateField(label="Date held")
    chair = forms.CharField(max_length=120, help_text="Name and role of who chaired it")
    staff_attendees = WorkerChoiceField(
        label="Staff who attended", queryset=User.objects.none(), required=False
    )
    agencies = forms.ModelMultipleChoiceField(
        label="Agencies that attended",
        queryset=Agency.objects.filter(active=True),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    other_attendees = forms.CharField(
        label="Other attendees",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Family members and anyone else present, one per line",
    )
    decisions = forms.CharField(
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="What was decided, and why",
    )
    actions = forms.CharField(
        max_length=10000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Who will do what, by when",
    )
    meets = forms.ModelChoiceField(
        label="Does this meeting meet an escalation?",
        queryset=Escalation.objects.none(),
        required=False,
        widget=forms.RadioSelect,
        empty_label="No, or not sure",
        help_text="A meeting of the required kind held on or after the escalation fired meets "
        "it whether you choose it here or not",
    )

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff_attendees"].queryset = User.objects.filter(
            is_active=True, team=case.team
        ).order_by("first_name", "last_name")
        self.fields["meets"].queryset = Escalation.objects.filter(
            case=case, state__in=Escalation.ACTIVE_STATES
        )
        self.fields["meets"].label_from_instance = lambda e: (
            f"{e.get_required_meeting_display()} due {e.due_date:%d/%m/%Y} "
            f"(fired {e.trigger_date:%d/%m/%Y})"
        )


class MeetingEditForm(MeetingForm):
    """A meeting as it was recorded, to correct it. The staff and agencies who attended
    are offered along with those it can have now, so that none is lost on saving."""

    version = VersionField()

    def __init__(self, *args, meeting, **kwargs):
        super().__init__(*args, case=meeting.case, **kwargs)
        del self.fields["meets"]
        self.fields["staff_attendees"].queryset = User.objects.filter(
            Q(is_active=True, team=meeting.case.team)
            | Q(pk__in=meeting.staff_attendees.values("pk"))
        ).order_by("first_name", "last_name")
        self.fields["agencies"].queryset = Agency.objects.filter(
            Q(active=True) | Q(pk__in=meeting.agencies.values("pk"))
        )
        self.fields["kind"].help_text = (
            "If it met an escalation, or would meet one, mark it as recorded in error and "
            "record it again instead of changing its kind or date"
        )


class EscalationRaiseForm(GovukForm):
    trigger_date = GovukDateField(
        label="Date of the concern", help_text="Day 0: the deadline counts working days from it"
    )
    reason = forms.CharField(
        label="The non-compliance concern",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What the family is doing or not doing, and the effect on the children",
    )


class EscalationEditForm(GovukForm):
    version = VersionField()
    reason = forms.CharField(
        label="The non-compliance concern",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What the family is doing or not doing, and the effect on the children",
    )


# --- Written agreements ---------------------------------------------------------------


class PersonChoiceField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj):
        return obj.display_name


class AgreementForm(GovukForm):
    unacceptable_behaviour = forms.CharField(
        label="Behaviour that is not acceptable",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Exactly what, for example raising voices, threats, refusing to let the "
        "worker see the children's rooms",
    )
    family_agrees = forms.CharField(
        label="What the family agrees to do",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    consequences = forms.MultipleChoiceField(
        label="What follows if it is not kept",
        choices=WrittenAgreement.Consequence.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Select all that apply",
        error_messages={"required": "Select what follows if the agreement is not kept"},
    )
    consequence_other = forms.CharField(
        label="Other consequence",
        max_length=500,
        required=False,
        help_text="Only if you selected Other",
    )
    agreed_by = PersonChoiceField(
        label="Who agreed it",
        queryset=Person.objects.none(),
        required=False,
        help_text="People on this case who agreed to it",
    )
    agreed_on = GovukDateField(label="Date agreed")
    review_due = GovukDateField(
        label="Review due",
        required=False,
        help_text="Leave blank for the usual number of working days after the date agreed",
    )

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agreed_by"].queryset = people


class AgreementEditForm(AgreementForm):
    """An agreement as it was recorded, to correct it."""

    version = VersionField()
    field_order = ["version"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["review_due"].required = True
        self.fields["review_due"].help_text = ""


class AgreementEndForm(GovukForm):
    ended_on = GovukDateField(label="Date the agreement ended")
    reason = forms.CharField(
        label="Why it ended",
        max_length=500,
        help_text="For example, reviewed and no longer needed, or replaced by a new agreement",
    )


class VisitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return str(obj)


class BreachForm(GovukForm):
    occurred_on = GovukDateField(label="Date it happened")
    what_happened = forms.CharField(
        label="What happened",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    visit = VisitChoiceField(
        label="Seen on a visit",
        queryset=None,
        required=False,
        empty_label="Not on a visit",
        help_text="If it was seen on one of this case's visits",
    )

    def __init__(self, *args, visits, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["visit"].queryset = visits
