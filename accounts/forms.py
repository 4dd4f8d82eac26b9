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
