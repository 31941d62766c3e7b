from typing import Any

import pytest
from django.test import RequestFactory

from sitewide.client_ip import client_ip, ip_allowed


@pytest.fixture
def make_request(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    def make(remote: str, forwarded: str | None = None):
        extra: dict[str, Any] = {"REMOTE_ADDR": remote}
        if forwarded is not None:
            extra["HTTP_X_FORWARDED_FOR"] = forwarded
        return RequestFactory().get("/", **extra)

    return make


def test_a_direct_client_is_its_own_address(make_request):
    assert client_ip(make_request("203.0.113.5")) == "203.0.113.5"


def test_a_forged_header_from_an_untrusted_peer_is_ignored(make_request):
    assert client_ip(make_request("203.0.113.5", "192.0.2.1")) == "203.0.113.5"


def test_the_client_behind_a_trusted_proxy_is_found(make_request):
    assert client_ip(make_request("10.0.0.2", "198.51.100.7")) == "198.51.100.7"


def test_a_spoofed_leftmost_entry_does_not_win(make_request):
    # The client sent "X-Forwarded-For: 1.2.3.4"; our proxy appended the real address.
    assert client_ip(make_request("10.0.0.2", "1.2.3.4, 198.51.100.7")) == "198.51.100.7"


def test_chains_of_trusted_proxies_are_walked(make_request):
    assert client_ip(make_request("10.0.0.2", "198.51.100.7, 10.0.0.9")) == "198.51.100.7"


def test_allowlists_accept_networks_single_addresses_and_a_wildcard(make_request):
    request = make_request("10.0.0.2", "198.51.100.7")
    assert ip_allowed(request, ["198.51.100.0/24"])
    assert ip_allowed(request, ["198.51.100.7"])
    assert ip_allowed(request, ["*"])
    assert not ip_allowed(request, ["10.0.0.2"])
    assert not ip_allowed(request, [])
