"""Extraction of OpenGraph metadata from HTML, for URL previews.

Spec: Client-Server API, GET /_matrix/client/v1/media/preview_url returns OpenGraph
properties (https://ogp.me/). Pages without them fall back to `<title>` and the
`description` meta tag.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

_MAX_VALUE_LENGTH = 1000
_MAX_PROPERTIES = 50


class _MetaParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.properties: dict[str, str] = {}
        self.title: str | None = None
        self.description: str | None = None
        self._in_title = False
        self._title_parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and self.title is None:
            self._in_title = True
            return
        if tag != "meta":
            return
        values = {name.lower(): value for name, value in attrs if value is not None}
        content = values.get("content")
        if content is None:
            return
        key = (values.get("property") or values.get("name") or "").strip()
        if key.lower() == "description" and self.description is None:
            self.description = content.strip()[:_MAX_VALUE_LENGTH]
        elif (
            key.startswith("og:")
            and key not in self.properties
            and len(self.properties) < _MAX_PROPERTIES
        ):
            self.properties[key] = content.strip()[:_MAX_VALUE_LENGTH]

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title_parts.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            self.title = " ".join("".join(self._title_parts).split())[
                :_MAX_VALUE_LENGTH
            ]


def parse_opengraph(html: str) -> dict[str, Any]:
    """Return the page's `og:*` properties, with fallbacks for title and description."""
    parser = _MetaParser()
    parser.feed(html)
    parser.close()
    result: dict[str, Any] = dict(parser.properties)
    if "og:title" not in result and parser.title:
        result["og:title"] = parser.title
    if "og:description" not in result and parser.description:
        result["og:description"] = parser.description
    return result
