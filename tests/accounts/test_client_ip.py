"""The address the access log records: an IP address or nothing, whatever a proxy header
says; a header that is not an address never fails a request."""

import pytest
from django.test import RequestFactory

from accounts.models import AccessLog
from accounts.services import client_ip

# The signed-in API client, and a case with a chronology entry and an export to read:
# fixtures shared with the API input tests (ruff reads their use as a redefinition).
# ruff: noqa: F811
from tests.test_api_input import api, case, entry, export  # noqa: F401


@pytest.mark.parametrize(
    ("forwarded", "remote", "expected"),
    [
        (None, "10.1.2.3", "10.1.2.3"),
        (None, "not an address", None),
        ("198.51.100.7", "10.1.2.3", "198.51.100.7"),
        ("203.0.113.9, 198.51.100.7", "10.1.2.3", "198.51.100.7"),  # the last hop
        (" 198.51.100.7 ", "10.1.2.3", "198.51.100.7"),
        ("2001:db8::1", "10.1.2.3", "2001:db8::1"),
        ("fe80::1%eth0", "10.1.2.3", "fe80::1"),
        ("unknown", "10.1.2.3", None),
        ("198.51.100.7, unknown", "10.1.2.3", None),
        ("198.51.100.7:4431", "10.1.2.3", None),
        ("[2001:db8::1]", "10.1.2.3", None),
        ("\x00", "10.1.2.3", None),
        ("", "10.1.2.3", "10.1.2.3"),  # an empty header is no header
    ],
)
def test_client_ip_is_an_address_or_none(forwarded, remote, expected):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded

    assert client_ip(RequestFactory().get("/", **meta)) == expected
    assert client_ip(None) is None


@pytest.mark.parametrize(
    ("forwarded", "recorded"),
    [
        ("unknown", None),
        ("10.0.0.1, unknown", None),
        ("not an address", None),
        ("198.51.100.7:4431", None),
        ("\x00", None),
        ("198.51.100.7", "198.51.100.7"),
        ("203.0.113.9, 198.51.100.7", "198.51.100.7"),
        ("2001:db8::1", "2001:db8::1"),
    ],
)
def test_a_proxy_header_that_is_not_an_address_never_fails_a_read(api, case, forwarded, recorded):
    response = api.get(
        f"/api/v1/cases/{case.pk}/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.9.9.9"
    )

    assert response.status_code == 200
    assert AccessLog.objects.get().ip_address == recorded


def test_it_answers_x_forwarded_for_unknown_on_every_logged_read(api, case, entry, export):
    # Seen on main: a 500 on any read that writes the access log.
    for url in [
        f"/api/v1/cases/{case.pk}/",
        "/api/v1/cases/",
        f"/api/v1/cases/{case.pk}/chronology/",
        f"/api/v1/cases/{case.pk}/chronology-exports/{export.pk}/download/",
    ]:
        assert api.get(url, HTTP_X_FORWARDED_FOR="unknown").status_code == 200, url
    assert set(AccessLog.objects.values_list("ip_address", flat=True)) == {None}
