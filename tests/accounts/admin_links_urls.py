"""The project's URLs with the pages other parts of the system add to a user's page
(second factor reset, API tokens, sign-in lockouts), standing in for them before they
are merged: the user page links to them only once their URL names exist."""

from django.http import HttpResponse
from django.urls import include, path

from accounts import urls as accounts_urls
from safeguarding import urls as project_urls


def _stand_in(request, pk=None):
    return HttpResponse("stand-in")


extra = [
    path("users/<int:pk>/second-factor/reset/", _stand_in, name="second_factor_reset"),
    path("users/<int:pk>/api-tokens/", _stand_in, name="user_api_tokens"),
    path("lockouts/", _stand_in, name="lockouts"),
]
urlpatterns = [
    path("accounts/", include((accounts_urls.urlpatterns + extra, "accounts"))),
    *[p for p in project_urls.urlpatterns if str(p.pattern) != "accounts/"],
]
