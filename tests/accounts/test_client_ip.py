"""The address the access log records: the peer's own unless the peer is a trusted proxy,
then the hop that proxy appended; an IP address or nothing, whatever a header says; a
header that is not an address never fails a request."""

import pytest
from django.test import RequestFactory

from accounts.models import AccessLog
from accounts.services import client_ip

# The signed-in API client, and a case with a chronology entry and an export to read:
# fixtures shared with the API input tests (ruff reads their use as a redefinition).
# ruff: noqa: F811
from tests.test_api_input import api, case, entry, export  # noqa: F401

PROXY = "10.1.2.3"


@pytest.mark.parametrize(
    ("forwarded", "remote", "expected"),
    [
        # From a peer that is not a trusted proxy the header is never read.
        ("10.66.66.66", "192.0.2.50", "192.0.2.50"),
        ("198.51.100.7", "192.0.2.50", "192.0.2.50"),
        ("203.0.113.9, 10.1.2.3", "192.0.2.50", "192.0.2.50"),  # naming the proxy too
        (None, "192.0.2.50", "192.0.2.50"),
        (None, "not an address", None),
        ("198.51.100.7", "not an address", None),
        (None, "2001:db8::5", "2001:db8::5"),
        # From the trusted proxy: the hop it appended.
        ("198.51.100.7", PROXY, "198.51.100.7"),
        ("203.0.113.9, 198.51.100.7", PROXY, "198.51.100.7"),  # the client's own is not
        (" 198.51.100.7 ", PROXY, "198.51.100.7"),
        ("2001:db8::1", PROXY, "2001:db8::1"),
        ("garbage, ;;, 198.51.100.7", PROXY, "198.51.100.7"),
        (", ".join(["203.0.113.1"] * 200 + ["198.51.100.7"]), PROXY, "198.51.100.7"),
        # ... and not known when that hop is not an address, or the chain is too long.
        ("unknown", PROXY, None),
        ("198.51.100.7, unknown", PROXY, None),
        ("\x00", PROXY, None),
        ("x" * 10_000, PROXY, None),
        ("x" * 10_000 + ", 198.51.100.7", PROXY, "198.51.100.7"),
        ("[2001:db8::1]:443", PROXY, "2001:db8::1"),
        ("fe80::1%eth0", PROXY, "fe80::1"),
        ("", PROXY, None),  # a trusted proxy that names nobody
        (None, PROXY, None),
    ],
)
def test_it_believes_x_forwarded_for_from_a_trusted_proxy_only(
    settings, forwarded, remote, expected
):
    settings.TRUSTED_PROXIES = [PROXY, "2001:db8:ffff::/48"]
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded

    assert client_ip(RequestFactory().get("/", **meta)) == expected
    assert client_ip(None) is None


def test_it_trusts_nobody_by_default(settings):
    assert settings.TRUSTED_PROXIES == []
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.66.66.66")

    assert client_ip(request) == "127.0.0.1"


def test_it_trusts_a_proxy_by_network(settings):
    settings.TRUSTED_PROXIES = ["172.16.0.0/12", "2001:db8:ffff::/48"]

    def ip(remote):
        meta = {"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
        return client_ip(RequestFactory().get("/", **meta))

    assert ip("172.18.0.1") == "198.51.100.7"
    assert ip("::ffff:172.18.0.1") == "198.51.100.7"
    assert ip("2001:db8:ffff::2") == "198.51.100.7"
    assert ip("172.32.0.1") == "172.32.0.1"
    assert ip("2001:db8:fffe::2") == "2001:db8:fffe::2"


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        # a load balancer (appended by the proxy) in front of the proxy: two hops back
        ("198.51.100.7, 10.0.0.9", "198.51.100.7"),
        ("203.0.113.66, 198.51.100.7, 10.0.0.9", "198.51.100.7"),
        ("10.0.0.9", None),  # too few hops for two proxies
        ("198.51.100.7, unknown", None),
    ],
)
def test_it_takes_the_hop_before_the_proxies_it_is_told_of(settings, forwarded, expected):
    settings.TRUSTED_PROXIES = [PROXY]
    settings.TRUSTED_PROXY_COUNT = 2
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


@pytest.mark.parametrize(
    ("forwarded", "recorded"),
    [
        ("unknown", None),
        ("10.0.0.1, unknown", None),
        ("not an address", None),
        ("198.51.100.7:4431", "198.51.100.7"),  # a proxy that adds the port
        ("\x00", None),
        ("198.51.100.7", "198.51.100.7"),
        ("203.0.113.9, 198.51.100.7", "198.51.100.7"),
        ("2001:db8::1", "2001:db8::1"),
    ],
)
def test_a_proxy_header_that_is_not_an_address_never_fails_a_read(
    settings, api, case, forwarded, recorded
):
    settings.TRUSTED_PROXIES = ["10.9.9.9"]
    response = api.get(
        f"/api/v1/cases/{case.pk}/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.9.9.9"
    )

    assert response.status_code == 200
    assert AccessLog.objects.get().ip_address == recorded


def test_it_answers_x_forwarded_for_unknown_on_every_logged_read(
    settings, api, case, entry, export
):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    # Seen on main: a 500 on any read that writes the access log.
    for url in [
        f"/api/v1/cases/{case.pk}/",
        "/api/v1/cases/",
        f"/api/v1/cases/{case.pk}/chronology/",
        f"/api/v1/cases/{case.pk}/chronology-exports/{export.pk}/download/",
    ]:
        assert api.get(url, HTTP_X_FORWARDED_FOR="unknown").status_code == 200, url
    assert set(AccessLog.objects.values_list("ip_address", flat=True)) == {None}
