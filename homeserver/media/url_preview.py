"""URL previews: fetch a page for a client and return its OpenGraph data.

Spec: Client-Server API, GET /_matrix/client/v1/media/preview_url. Off unless
`media.url_preview_enabled`. Every connection, including each redirect, goes through
`IPFilter`: hostnames are checked by a resolver that rejects the host when any of its
addresses is blocked, and IP literals (which aiohttp never passes to a resolver) are
checked before the request. Bodies are capped at `media.url_preview_max_size` and every
fetch at `media.url_preview_timeout_seconds`. Results are cached in `url_previews`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urljoin

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from homeserver.errors import Forbidden, InvalidParam, MatrixError
from homeserver.media import thumbnails
from homeserver.media.http_headers import essence
from homeserver.media.ids import mxc_uri
from homeserver.media.ip_filter import IPFilter
from homeserver.media.opengraph import parse_opengraph
from homeserver.media.repository import MediaRepository
from homeserver.media.store import now_ms

logger = logging.getLogger(__name__)

_MAX_REDIRECTS = 5
_MAX_URL_LENGTH = 2048
_USER_AGENT = "MatrixHomeserver URL preview"


class BlockedAddress(OSError):
    """A host resolved to an address the IP filter blocks."""


class PreviewFailed(MatrixError):
    """The remote page could not be fetched or understood."""

    def __init__(self, message: str, errcode: str = "M_UNKNOWN") -> None:
        super().__init__(502, errcode, message)


class FilteringResolver(AbstractResolver):
    """Resolves with the system resolver and rejects hosts with any blocked address."""

    def __init__(self, ip_filter: IPFilter) -> None:
        self._filter = ip_filter
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            if not self._filter.is_allowed(result["host"]):
                raise BlockedAddress(
                    f"{host} resolves to blocked address {result['host']}"
                )
        return results

    async def close(self) -> None:
        await self._inner.close()


class UrlPreviewer:
    """Fetches, parses and caches previews; images found are stored as media."""

    def __init__(self, repository: MediaRepository) -> None:
        self._repository = repository
        self._config = repository.config
        self._filter = IPFilter(
            self._config.url_preview_ip_range_blocklist,
            self._config.url_preview_ip_range_allowlist,
        )

    async def preview(self, url: str, user_id: str) -> dict[str, Any]:
        """Return the OpenGraph data of `url`, from the cache when it is fresh."""
        parsed = self._check_url(url)
        db = self._repository.db
        cached = await db.fetchvalue(
            "SELECT response FROM url_previews WHERE url = ? AND expires_ts > ?",
            (url, now_ms()),
        )
        if cached is not None:
            return json.loads(cached)
        result = await self._build_preview(parsed, user_id)
        now = now_ms()
        async with db.transaction("url_preview_cache") as txn:
            await txn.execute(
                "INSERT OR REPLACE INTO url_previews"
                " (url, fetched_ts, expires_ts, response)"
                " VALUES (?, ?, ?, ?)",
                (
                    url,
                    now,
                    now + self._config.url_preview_cache_seconds * 1000,
                    json.dumps(result),
                ),
            )
            await txn.execute("DELETE FROM url_previews WHERE expires_ts <= ?", (now,))
        return result

    def _check_url(self, url: str) -> URL:
        if len(url) > _MAX_URL_LENGTH:
            raise InvalidParam(f"URL is longer than {_MAX_URL_LENGTH} characters")
        try:
            parsed = URL(url)
        except ValueError as exc:
            raise InvalidParam(f"Invalid URL {url!r}: {exc}") from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise InvalidParam(
                f"Invalid URL {url!r}: only http and https URLs are allowed"
            )
        return parsed

    def _check_literal_host(self, url: URL) -> None:
        host = url.host or ""
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return  # A hostname: the resolver checks its addresses.
        if not self._filter.is_allowed(host):
            raise Forbidden(f"URL {url} points to a blocked IP address")

    async def _build_preview(self, url: URL, user_id: str) -> dict[str, Any]:
        async with self._session() as session:
            final_url, content_type, body = await self._fetch(
                session, url, html_ok=True
            )
            kind = essence(content_type)
            if kind.startswith("image/"):
                result: dict[str, Any] = {}
                await self._add_image(result, body, content_type, user_id, final_url)
                return result
            if kind not in ("text/html", "application/xhtml+xml"):
                return {}
            html = body.decode(_charset(content_type), errors="replace")
            result = parse_opengraph(html)
            image_url = result.pop("og:image", None)
            if isinstance(image_url, str) and image_url:
                absolute = URL(urljoin(str(final_url), image_url))
                if absolute.scheme in ("http", "https"):
                    try:
                        _, image_type, image = await self._fetch(
                            session, absolute, html_ok=False
                        )
                        await self._add_image(
                            result, image, image_type, user_id, absolute
                        )
                    except (TimeoutError, MatrixError, aiohttp.ClientError) as exc:
                        logger.info(
                            "Preview image %s of %s skipped: %s", absolute, url, exc
                        )
            return result

    def _session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            resolver=FilteringResolver(self._filter), use_dns_cache=False, limit=4
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=self._config.url_preview_timeout_seconds
            ),
            trust_env=False,
            headers={"User-Agent": _USER_AGENT},
        )

    async def _fetch(
        self, session: aiohttp.ClientSession, url: URL, *, html_ok: bool
    ) -> tuple[URL, str, bytes]:
        """GET `url`, following redirects by hand so that each hop is checked."""
        for _ in range(_MAX_REDIRECTS + 1):
            self._check_literal_host(url)
            try:
                async with session.get(url, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        location = response.headers.get("Location")
                        if not location:
                            raise PreviewFailed(f"Redirect from {url} has no Location")
                        url = URL(urljoin(str(url), location))
                        if url.scheme not in ("http", "https"):
                            raise PreviewFailed(f"Redirect to unsupported URL {url}")
                        continue
                    if response.status != 200:
                        raise PreviewFailed(
                            f"Fetching {url} failed with HTTP status {response.status}"
                        )
                    content_type = response.headers.get("Content-Type", "")
                    truncate = html_ok and essence(content_type) in (
                        "text/html",
                        "application/xhtml+xml",
                    )
                    body = await self._read_limited(response, url, truncate)
                    return url, content_type, body
            except aiohttp.ClientConnectorError as exc:
                if isinstance(exc.os_error, BlockedAddress):
                    raise Forbidden(
                        f"URL {url} resolves to a blocked IP address"
                    ) from exc
                raise PreviewFailed(f"Could not connect to {url.host}: {exc}") from exc
            except TimeoutError as exc:
                raise PreviewFailed(f"Fetching {url} timed out") from exc
            except aiohttp.ClientError as exc:
                raise PreviewFailed(f"Fetching {url} failed: {exc}") from exc
        raise PreviewFailed(f"Too many redirects fetching {url}")

    async def _read_limited(
        self, response: aiohttp.ClientResponse, url: URL, truncate: bool
    ) -> bytes:
        """Read at most `url_preview_max_size` bytes; HTML is cut there, images fail."""
        limit = self._config.url_preview_max_size
        body = bytearray()
        async for chunk in response.content.iter_chunked(65536):
            body.extend(chunk)
            if len(body) > limit:
                if truncate:
                    return bytes(body[:limit])
                raise PreviewFailed(
                    f"{url} is larger than {limit} bytes", "M_TOO_LARGE"
                )
        return bytes(body)

    async def _add_image(
        self,
        result: dict[str, Any],
        data: bytes,
        content_type: str,
        user_id: str,
        source: URL,
    ) -> None:
        try:
            info = await asyncio.to_thread(
                _probe_bytes, data, self._config.max_image_pixels
            )
        except (
            thumbnails.NotAnImage,
            thumbnails.ImageTooLarge,
            thumbnails.CorruptImage,
        ):
            logger.info("Preview image %s is not a usable image", source)
            return
        name = source.name or None
        media_id = await self._repository.upload(
            user_id, _single_chunk(data), essence(content_type), name
        )
        result["og:image"] = mxc_uri(self._repository.server_name, media_id)
        result["og:image:type"] = essence(content_type)
        result["og:image:width"] = info.width
        result["og:image:height"] = info.height
        result["matrix:image:size"] = len(data)


def _probe_bytes(data: bytes, max_pixels: int) -> thumbnails.ImageInfo:
    import io

    return thumbnails.probe(io.BytesIO(data), max_pixels)


async def _single_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _charset(content_type: str) -> str:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"')
            try:
                "".encode(charset)
            except LookupError:
                break
            return charset
    return "utf-8"
