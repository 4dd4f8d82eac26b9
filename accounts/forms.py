from django import forms
from django.contrib.auth.forms import AuthenticationForm

from common.forms import GovukFormMixin


class SignInForm(GovukFormMixin, AuthenticationForm):
    error_messages = {
        "invalid_login": "Enter a correct username and password. The password is case-sensitive.",
        "inactive": "This account has been switched off. Ask your team manager.",
    }


class SignInUnlockForm(forms.Form):
    """The lockout an "Unlock" button names (hidden fields of its row)."""

    username = forms.CharField(max_length=255, strip=False)
    ip_address = forms.GenericIPAddressField(required=False)


class ApiTokenForm(GovukFormMixin, forms.Form):
    name = forms.CharField(
        label="Name",
        help_text="What the token is for, for example the laptop or script that uses it",
        max_length=100,
        error_messages={
            "required": "Enter a name for the token",
            "max_length": "The name must be 100 characters or fewer",
        },
    )
