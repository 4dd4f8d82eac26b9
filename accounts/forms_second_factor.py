"""Forms of the second-factor pages (accounts/views_second_factor.py)."""

from django import forms

from common.forms import GovukFormMixin

_CODE_ATTRS = {"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "none"}


class CodeForm(GovukFormMixin, forms.Form):
    """A code from the authenticator app, or a recovery code."""

    code = forms.CharField(
        label="Code",
        max_length=40,
        error_messages={"required": "Enter the code from your authenticator app"},
        widget=forms.TextInput(attrs=dict(_CODE_ATTRS)),
    )


class AppCodeForm(GovukFormMixin, forms.Form):
    """A 6-digit code from the authenticator app only."""

    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=20,
        error_messages={"required": "Enter the 6-digit code from your authenticator app"},
        widget=forms.TextInput(attrs={**_CODE_ATTRS, "inputmode": "numeric"}),
    )


class SecondFactorResetForm(GovukFormMixin, forms.Form):
    reason = forms.CharField(
        label="Why are you resetting their second factor?",
        help_text="For example: lost phone, reported to the service desk on 7 December.",
        max_length=1000,
        error_messages={"required": "Enter why the second factor is being reset"},
        widget=forms.Textarea(attrs={"rows": 3}),
    )
