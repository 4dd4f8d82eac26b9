"""Forms for supervision. They collect input; services decide what is allowed."""

from django import forms
from django.db.models import Q

from accounts import policy
from accounts.models import User
from cases.models import Case
from cases.queries import cases_for
from common.forms import GovukDateField, GovukForm, VersionField

from .models import QUESTIONS, Action, SupervisionSession


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.get_full_name() or obj.username} ({obj.role_label or 'no role'})"


class CaseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.family_name} ({obj.reference})"


def shared_cases(session):
    """Open cases both the supervisee and the supervisor may see."""
    return (
        cases_for(session.supervisee)
        .filter(status=Case.Status.OPEN)
        .filter(pk__in=cases_for(session.supervisor).values("pk"))
        .order_by("family_name", "reference")
    )


def _reason_field():
    field = forms.CharField(
        label="Why are you changing a signed-off record?",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The record was signed off: if you change anything, say why. The change "
        "and your reason are kept",
    )
    field.no_optional_mark = True  # needed for a change, not for saving it unchanged
    return field


class SessionCreateForm(GovukForm):
    supervisee = PersonChoiceField(
        label="Who is being supervised?",
        queryset=User.objects.none(),
        empty_label="Select a person",
    )
    date = GovukDateField(label="Date of the supervision", help_text="For example, 27 3 2026")
    kind = forms.ChoiceField(
        label="Kind of supervision",
        choices=SupervisionSession.Kind.choices,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # The people the policy lets this user supervise (the service decides again).
        q = policy.supervisees_q(user)
        people = User.objects.filter(q) if q is not None else User.objects.none()
        field = self.fields["supervisee"]
        field.queryset = people.distinct().order_by("first_name", "last_name")
        field.error_messages["invalid_choice"] = "Select someone you supervise"


class HoldForm(GovukForm):
    date = GovukDateField(label="Date it took place")


class CancelForm(GovukForm):
    reason = forms.CharField(
        label="Why is it cancelled?",
        max_length=1000,
        error_messages={"required": "Enter why the supervision is cancelled"},
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Supervision should not be cancelled: cancellations "
        "are counted for each supervisor",
    )
    new_date = GovukDateField(label="New date", help_text="The date it is rearranged for")


class SessionRecordForm(GovukForm):
    """The worries and the wellbeing, filled from the stored record. A worry about a case
    the person editing may not see is neither shown nor offered for change, so saving
    the form keeps it."""

    version = VersionField()
    most_worried_case = CaseChoiceField(
        label="Which case worries you most?",
        required=False,
        queryset=Case.objects.none(),
        empty_label="Not discussed",
    )
    most_worried_why = forms.CharField(
        label="Why does it worry you most?",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    least_worried_case = CaseChoiceField(
        label="Which case worries you least?",
        required=False,
        queryset=Case.objects.none(),
        empty_label="Not discussed",
    )
    least_worried_why = forms.CharField(
        label="Why does it worry you least?",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    wellbeing_impact = forms.CharField(
        label="Effect of hostility or violence on the worker",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Private: only the worker, the supervisor and their managers see this",
    )
    wellbeing_support = forms.CharField(
        label="Support agreed",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, session, user, **kwargs):
        super().__init__(*args, **kwargs)
        offered = shared_cases(session).filter(pk__in=cases_for(user).values("pk"))
        for which in ("most", "least"):
            stored = getattr(session, f"{which}_worried_case")
            if stored is not None and not policy.can_view_case(user, stored):
                del self.fields[f"{which}_worried_case"], self.fields[f"{which}_worried_why"]
                continue
            cases = offered
            if stored is not None:  # kept on offer though closed since
                cases = Case.objects.filter(
                    Q(pk__in=offered.values("pk")) | Q(pk=stored.pk)
                ).order_by("family_name", "reference")
            self.fields[f"{which}_worried_case"].queryset = cases
        if session.is_signed_off:
            self.fields["reason"] = _reason_field()


class DiscussionForm(GovukForm):
    """The case, the child's lived experience, and each reflective question answered or
    marked not discussed; a first decision and action may be added with it."""

    case = CaseChoiceField(
        label="Case discussed", queryset=Case.objects.none(), empty_label="Select a case"
    )
    lived_experience = forms.CharField(
        label="What is life like for the child now, in a sentence?",
        max_length=500,
        error_messages={"required": "Describe the child's lived experience now, in a sentence"},
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, session, discussion=None, with_first_items=True, **kwargs):
        super().__init__(*args, **kwargs)
        if discussion is not None:
            del self.fields["case"]
            self.fields["version"] = VersionField()
        else:
            self.fields["case"].queryset = shared_cases(session)
        for name, question in QUESTIONS:
            self.fields[name] = forms.CharField(
                label=question,
                max_length=5000,
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
            )
            self.fields[name].no_optional_mark = True  # an answer, or "not discussed"
            self.fields[f"{name}_not_discussed"] = forms.BooleanField(
                label="Not discussed", required=False
            )
        if with_first_items:
            self.fields["decision"] = forms.CharField(
                label="Decision made",
                max_length=5000,
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields["reasons"] = forms.CharField(
                label="Reasons for the decision",
                max_length=5000,
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields["action"] = forms.CharField(
                label="Action agreed",
                max_length=2000,
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields["owner"] = PersonChoiceField(
                label="Who will do it?",
                required=False,
                empty_label="Select a person",
                queryset=_owners(session),
            )
            self.fields["due_date"] = GovukDateField(label="Action due by", required=False)
            for name in ("decision", "reasons", "action", "owner", "due_date"):
                self.fields[name].help_text = "If one was agreed; add more after saving"
                self.fields[name].no_optional_mark = True
            self.fields["reasons"].help_text = "Needed with a decision"
            self.fields["owner"].help_text = self.fields["due_date"].help_text = (
                "Needed with an action"
            )
        if session.is_signed_off:
            self.fields["reason"] = _reason_field()

    def clean(self):
        data = super().clean()
        if "decision" in self.fields:
            if data.get("decision") and not data.get("reasons"):
                self.add_error("reasons", "Enter the reasons for the decision")
            if data.get("reasons") and not data.get("decision"):
                self.add_error("decision", "Enter the decision")
            if data.get("action"):
                if not data.get("owner"):
                    self.add_error("owner", "Select who will do the action")
                if not data.get("due_date") and "due_date" not in self.errors:
                    self.add_error("due_date", "Enter the date the action is due by")
            elif data.get("owner") or data.get("due_date"):
                self.add_error("action", "Enter the action agreed")
        return data

    def answers(self):
        from .services import Answers

        data = self.cleaned_data
        return Answers(
            lived_experience=data["lived_experience"],
            answers={name: data[name] for name, _ in QUESTIONS},
            not_discussed={name for name, _ in QUESTIONS if data[f"{name}_not_discussed"]},
        )


def _owners(session, stored=None):
    """The people of the supervisee's and the supervisor's teams (the service checks
    that the one chosen may see the case), and whoever owns the action now."""
    q = Q(is_active=True, team_id__in=[session.supervisee.team_id, session.supervisor.team_id])
    if stored is not None:
        q |= Q(pk=stored.pk)
    return User.objects.filter(q).order_by("first_name", "last_name")


class DecisionForm(GovukForm):
    """A decision added, or one changed (`decision` given: filled from it)."""

    decision = forms.CharField(
        label="Decision made", max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    reasons = forms.CharField(
        label="Reasons for the decision", max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, session, decision=None, **kwargs):
        super().__init__(*args, **kwargs)
        if decision is not None:
            self.fields["version"] = VersionField()
        if session.is_signed_off:
            self.fields["reason"] = _reason_field()


class ActionForm(GovukForm):
    """An action added, or one changed (`action` given: filled from it)."""

    description = forms.CharField(
        label="Action agreed", max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    owner = PersonChoiceField(
        label="Who will do it?", queryset=User.objects.none(), empty_label="Select a person"
    )
    due_date = GovukDateField(label="Due by")

    def __init__(self, *args, session, action=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _owners(session, action.owner if action else None)
        if action is not None:
            self.fields["version"] = VersionField()
        if session.is_signed_off:
            self.fields["reason"] = _reason_field()


class ActionStatusForm(GovukForm):
    status = forms.ChoiceField(
        label="Status", choices=Action.Status.choices, widget=forms.RadioSelect
    )
