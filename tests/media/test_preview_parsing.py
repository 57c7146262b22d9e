"""The URL preview IP filter and OpenGraph parser, without a server."""

from __future__ import annotations

import pytest

from homeserver.media.ip_filter import IPFilter
from homeserver.media.opengraph import parse_opengraph


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.169.254",
        "224.0.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1%eth0",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "not an address",
    ],
)
def test_default_filter_blocks(address: str) -> None:
    assert not IPFilter().is_allowed(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1::1"])
def test_default_filter_allows_public(address: str) -> None:
    assert IPFilter().is_allowed(address)


def test_allowlist_overrides_blocklist() -> None:
    ip_filter = IPFilter(allowed=["127.0.0.0/8"])
    assert ip_filter.is_allowed("127.0.0.1")
    assert not ip_filter.is_allowed("10.0.0.1")


def test_extra_blocklist() -> None:
    assert not IPFilter(extra_blocked=["93.184.216.0/24"]).is_allowed("93.184.216.34")


def test_opengraph_properties() -> None:
    html = """<html><head><title>Ignored</title>
    <meta property="og:title" content="A &amp; B">
    <meta property="og:description" content="Words">
    <meta property="og:image" content="/img.png">
    </head></html>"""
    result = parse_opengraph(html)
    assert result == {
        "og:title": "A & B",
        "og:description": "Words",
        "og:image": "/img.png",
    }


def test_opengraph_falls_back_to_title() -> None:
    html = """<html><head><title>  Plain
    page </title><meta name="description" content="About it"></head></html>"""
    result = parse_opengraph(html)
    assert result == {"og:title": "Plain page", "og:description": "About it"}
