"""HTTP header logic for serving media: disposition, security headers, ranges, ETags.

Pure functions of strings, so the rules are tested without a server.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

# Spec: Client-Server API, "Serving inline content": the content types that may be
# served with `Content-Disposition: inline`. SVG is absent because it can carry script.
INLINE_CONTENT_TYPES = frozenset(
    {
        "text/css",
        "text/plain",
        "text/csv",
        "application/json",
        "application/ld+json",
        "image/jpeg",
        "image/gif",
        "image/png",
        "image/apng",
        "image/webp",
        "image/avif",
        "video/mp4",
        "video/webm",
        "video/ogg",
        "video/quicktime",
        "audio/mp4",
        "audio/webm",
        "audio/aac",
        "audio/mpeg",
        "audio/ogg",
        "audio/wave",
        "audio/wav",
        "audio/x-wav",
        "audio/x-pn-wav",
        "audio/flac",
        "audio/x-flac",
    }
)

# Spec: Client-Server API, "Content repository" recommends this policy (plus media-src,
# so that audio and video open directly in a browser still play).
CONTENT_SECURITY_POLICY = (
    "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf;"
    " style-src 'unsafe-inline'; media-src 'self'; object-src 'self';"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "cross-origin",
}

DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_FILENAME_LENGTH = 255
# RFC 7230 token characters, for the type/subtype of a media type.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(
    rf"^{_TOKEN}/{_TOKEN}(\s*;\s*{_TOKEN}=(?:{_TOKEN}|\"[^\"\\\r\n]*\"))*$"
)


def normalise_content_type(value: str | None) -> str:
    """Return a well-formed media type, or application/octet-stream for a bad one.

    Spec: Client-Server API, POST /_matrix/media/v3/upload: the type defaults to
    application/octet-stream when the header is absent.
    """
    if not value:
        return DEFAULT_CONTENT_TYPE
    value = value.strip()
    if len(value) > 255 or not _MEDIA_TYPE.match(value):
        return DEFAULT_CONTENT_TYPE
    return value


def essence(content_type: str) -> str:
    """Return the lower-cased `type/subtype` without parameters."""
    return content_type.split(";", 1)[0].strip().lower()


def is_inline_safe(content_type: str) -> bool:
    return essence(content_type) in INLINE_CONTENT_TYPES


def clean_filename(name: str) -> str:
    """Remove what a file name must not carry into a header or a file system.

    Control characters, path separators and quotes go; the result may be empty.
    """
    cleaned = []
    for char in unicodedata.normalize("NFC", name):
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            continue
        if char in '/\\"':
            char = "_"
        cleaned.append(char)
    return "".join(cleaned).strip().lstrip(".")[:MAX_FILENAME_LENGTH]


def content_disposition(
    content_type: str, filename: str | None, *, inline: bool
) -> str:
    """Build Content-Disposition (RFC 6266), with RFC 5987 `filename*` when needed.

    `inline` is honoured only for the types in `INLINE_CONTENT_TYPES`.
    """
    disposition = "inline" if inline and is_inline_safe(content_type) else "attachment"
    if not filename:
        return disposition
    name = clean_filename(filename)
    if not name:
        return disposition
    if name.isascii() and all(char.isprintable() for char in name):
        return f'{disposition}; filename="{name}"'
    fallback = "".join(c if c.isascii() and c.isprintable() else "_" for c in name)
    encoded = quote(name, safe="!#$&+-.^_`|~")
    return f"{disposition}; filename=\"{fallback}\"; filename*=utf-8''{encoded}"


@dataclass(frozen=True)
class ByteRange:
    """An inclusive byte range `start`..`end` of a body of `total` bytes."""

    start: int
    end: int
    total: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.total}"


class RangeNotSatisfiable(ValueError):
    pass


def parse_range(header: str | None, total: int) -> ByteRange | None:
    """Parse a Range header (RFC 9110, section 14.2) for a body of `total` bytes.

    Returns None to send the whole body: no header, a unit other than bytes, a malformed
    value or several ranges (RFC 9110 allows a full 200 for those). Raises
    `RangeNotSatisfiable` when the single range lies outside the body.
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    first, last = first.strip(), last.strip()
    if not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
        return None
    if first == "":
        if last == "":
            return None
        suffix = int(last)
        if suffix == 0 or total == 0:
            raise RangeNotSatisfiable(header)
        return ByteRange(max(0, total - suffix), total - 1, total)
    start = int(first)
    if last and int(last) < start:
        return None  # Syntactically invalid, so the header is ignored.
    if start >= total:
        raise RangeNotSatisfiable(header)
    end = min(int(last), total - 1) if last else total - 1
    return ByteRange(start, end, total)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Return True when an If-None-Match header matches `etag` (weak comparison)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        if candidate.strip().removeprefix("W/") == wanted:
            return True
    return False
