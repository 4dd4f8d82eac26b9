from django.contrib.auth.forms import AuthenticationForm

from common.forms import GovukFormMixin


class SignInForm(GovukFormMixin, AuthenticationForm):
    error_messages = {
        "invalid_login": "Enter a correct username and password. The password is case-sensitive.",
        "inactive": "This account has been switched off. Ask your team manager.",
    }
