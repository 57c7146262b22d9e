"""Content-Disposition, Range and ETag rules, without a server."""

from __future__ import annotations

import pytest

from homeserver.media.http_headers import (
    ByteRange,
    RangeNotSatisfiable,
    content_disposition,
    etag_matches,
    normalise_content_type,
    parse_range,
)


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("image/png", "inline"),
        ("image/jpeg; charset=binary", "inline"),
        ("audio/ogg", "inline"),
        ("video/mp4", "inline"),
        ("text/plain", "inline"),
        ("image/svg+xml", "attachment"),
        ("text/html", "attachment"),
        ("application/javascript", "attachment"),
        ("application/octet-stream", "attachment"),
    ],
)
def test_disposition_inline_only_for_safe_types(
    content_type: str, expected: str
) -> None:
    assert content_disposition(content_type, None, inline=True) == expected


def test_disposition_ascii_filename_quoted() -> None:
    value = content_disposition("image/png", "cat.png", inline=True)
    assert value == 'inline; filename="cat.png"'


def test_disposition_strips_quotes_and_paths() -> None:
    value = content_disposition("text/html", '../../evil"\r\nX: y.html', inline=True)
    assert value == 'attachment; filename="_.._evil_X: y.html"'


def test_disposition_non_ascii_uses_rfc5987() -> None:
    value = content_disposition("application/pdf", "résumé ✓.pdf", inline=False)
    assert value == (
        'attachment; filename="r_sum_ _.pdf";'
        " filename*=utf-8''r%C3%A9sum%C3%A9%20%E2%9C%93.pdf"
    )


def test_normalise_content_type() -> None:
    assert normalise_content_type(None) == "application/octet-stream"
    assert normalise_content_type("image/png") == "image/png"
    assert (
        normalise_content_type("text/plain; charset=utf-8")
        == "text/plain; charset=utf-8"
    )
    assert normalise_content_type("not a type") == "application/octet-stream"
    assert (
        normalise_content_type("text/html\r\nX-Evil: 1") == "application/octet-stream"
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", ByteRange(0, 9, 100)),
        ("bytes=90-", ByteRange(90, 99, 100)),
        ("bytes=-10", ByteRange(90, 99, 100)),
        ("bytes=-500", ByteRange(0, 99, 100)),
        ("bytes=50-500", ByteRange(50, 99, 100)),
        ("bytes=0-1,5-6", None),
        ("items=0-9", None),
        ("bytes=9-0", None),
        ("bytes=abc", None),
    ],
)
def test_parse_range(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=200-300", "bytes=-0"])
def test_parse_range_unsatisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 100)


def test_etag_matching() -> None:
    assert etag_matches('"abc"', '"abc"')
    assert etag_matches('"x", W/"abc"', '"abc"')
    assert etag_matches("*", '"abc"')
    assert not etag_matches('"abd"', '"abc"')
    assert not etag_matches(None, '"abc"')
