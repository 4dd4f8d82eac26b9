"""Forms of the administration pages. They shape input only: the services decide what
is allowed (accounts.services, "Administration")."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import UsernameField

from common.forms import GovukDateField, GovukForm

from . import policy, roles
from .models import Agency, Team, User

ACTIVE_CHOICES = [("active", "Active"), ("inactive", "Switched off"), ("all", "All")]


class UserSearchForm(GovukForm):
    q = forms.CharField(label="Name or username", required=False, max_length=100, strip=True)
    team = forms.ModelChoiceField(
        label="Team", queryset=Team.objects.all(), required=False, empty_label="Any team"
    )
    role = forms.ChoiceField(
        label="Role", required=False, choices=[("", "Any role")] + [(r, r) for r in roles.ALL_ROLES]
    )
    status = forms.ChoiceField(label="Status", required=False, choices=ACTIVE_CHOICES)


def _team_choices(current: Team | None) -> Any:
    queryset = Team.objects.filter(active=True)
    if current is not None:
        queryset = Team.objects.filter(pk=current.pk) | queryset
    return queryset.order_by("name")


class UserForm(GovukForm):
    """A new user (with a username) or a user's details; `actor` limits the roles
    offered to those they may give (the service checks again)."""

    username = UsernameField(
        label="Username",
        max_length=150,
        help_text="Used to sign in. Letters, numbers and . @ + - _ only",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    first_name = forms.CharField(label="First name", max_length=150)
    last_name = forms.CharField(label="Last name", max_length=150)
    email = forms.EmailField(
        label="Email address",
        required=False,
        max_length=254,
        help_text="Where notifications are sent",
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    job_title = forms.CharField(label="Job title", required=False, max_length=120)
    team = forms.ModelChoiceField(
        label="Team",
        queryset=Team.objects.none(),
        required=False,
        empty_label="No team",
        help_text="Staff see their team's cases. Every role has a team but information "
        "governance and system administrator",
    )
    role = forms.ChoiceField(label="Role", widget=forms.RadioSelect)

    def __init__(self, *args: Any, actor: User, user: User | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if user is not None:
            del self.fields["username"]
        self.fields["team"].queryset = _team_choices(user.team if user else None)
        # Required for most roles (the service says which): not marked "(optional)".
        self.fields["team"].sometimes_required = True
        self.fields["role"].choices = [
            (name, name)
            for name in roles.ALL_ROLES
            if policy.can_grant_role(actor, name) or (user is not None and name in user.role_names)
        ]


class DeactivateForm(GovukForm):
    reason = forms.CharField(
        label="Why is the account being switched off?",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example, left the council on 30 November. Kept in the user's history",
    )


class ReactivateForm(GovukForm):
    reason = forms.CharField(
        label="Why is the account being switched on again? (optional)",
        required=False,
        max_length=200,
    )


class TemporaryPasswordForm(GovukForm):
    password = forms.CharField(
        label="Temporary password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 12 characters. Tell the user in person or by phone, never by "
        "email: they must choose their own password when they next sign in",
    )


class PasswordChangeForm(GovukForm):
    old_password = forms.CharField(
        label="Current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password1 = forms.CharField(
        label="New password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 12 characters, not only numbers, and not like your name",
    )
    new_password2 = forms.CharField(
        label="Confirm new password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        one, two = data.get("new_password1"), data.get("new_password2")
        if one and two and one != two:
            self.add_error("new_password2", "The two new passwords do not match")
        return data


class TeamForm(GovukForm):
    name = forms.CharField(label="Name", max_length=120)
    code = forms.SlugField(
        label="Code",
        max_length=20,
        help_text="A short name for reports: lower-case letters, numbers and hyphens",
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
    )
    active = forms.BooleanField(
        label="Active",
        required=False,
        help_text="An inactive team is offered for nothing new. Move its staff and open "
        "cases first",
    )

    def __init__(self, *args: Any, creating: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if creating:
            del self.fields["active"]


class AgencyForm(GovukForm):
    name = forms.CharField(label="Name", max_length=200)
    kind = forms.ChoiceField(label="Kind of agency", choices=Agency.Kind.choices)
    active = forms.BooleanField(
        label="Active",
        required=False,
        help_text="An inactive agency stays on the records that name it",
    )

    def __init__(self, *args: Any, creating: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if creating:
            del self.fields["active"]


class ClosureDayForm(GovukForm):
    date = GovukDateField(label="Date", help_text="For example, 24 12 2026")
    reason = forms.CharField(
        label="Reason", max_length=200, help_text="For example, council offices closed"
    )


class WithdrawClosureDayForm(GovukForm):
    reason = forms.CharField(
        label="Why is this closure day withdrawn?",
        max_length=200,
        help_text="For example, entered for the wrong date",
    )


class ExternalIdentityForm(GovukForm):
    """Who this user is at the identity provider: the stable id single sign-on matches
    (the claim OIDC_USER_CLAIM names), never a name or an email address."""

    subject = forms.CharField(
        label="Their id at the identity provider",
        max_length=255,
        help_text="For Microsoft Entra ID, the Object ID of their account (a long id of "
        "letters, digits and dashes), not their name or email address",
    )
    issuer = forms.CharField(
        label="Identity provider (issuer)",
        max_length=300,
        help_text="The issuer exactly as the provider names it",
    )

    def __init__(self, *args: Any, issuer: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if issuer:
            # The one provider configured (OIDC_OP_ISSUER): nothing to choose.
            self.fields["issuer"].initial = issuer
            self.fields["issuer"].widget = forms.HiddenInput()
