"""URL previews against a page that the test serves itself on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.media.helpers import DOWNLOAD, ConnectClient, MakeServer, png_bytes

PREVIEW = "/_matrix/client/v1/media/preview_url"
PAGE = """<!doctype html><html><head>
<title>Fallback title</title>
<meta property="og:title" content="Loopback page">
<meta property="og:description" content="Served by the test">
<meta property="og:image" content="/image.png">
</head><body>hello</body></html>"""


@pytest.fixture
async def site() -> AsyncIterator[str]:
    """Serve a page, an image and redirects on 127.0.0.1; yield the base URL."""
    image = png_bytes(120, 80)

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def picture(request: web.Request) -> web.Response:
        return web.Response(body=image, content_type="image/png")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    app = web.Application()
    app.router.add_get("/page", page)
    app.router.add_get("/image.png", picture)
    app.router.add_get("/redirect", redirect)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_disabled_by_default(
    make_server: MakeServer, raw_client: ConnectClient, site: str
) -> None:
    server = make_server()
    client = raw_client(server)
    alice = await client.register("alice")
    response = await client.request(
        "GET", PREVIEW, token=alice.access_token, params={"url": f"{site}/page"}
    )
    assert response.status == 404
    assert "disabled" in response.body["error"]


async def test_loopback_blocked(
    make_server: MakeServer, raw_client: ConnectClient, site: str
) -> None:
    server = make_server(media={"url_preview_enabled": True})
    client = raw_client(server)
    alice = await client.register("alice")
    response = await client.request(
        "GET", PREVIEW, token=alice.access_token, params={"url": f"{site}/page"}
    )
    assert response.status == 403
    assert response.body["errcode"] == "M_FORBIDDEN"
    assert "blocked IP address" in response.body["error"]


async def test_allowlisted_loopback_preview(
    make_server: MakeServer, raw_client: ConnectClient, site: str
) -> None:
    server = make_server(
        media={
            "url_preview_enabled": True,
            "url_preview_ip_range_allowlist": ["127.0.0.0/8"],
        }
    )
    client = raw_client(server)
    alice = await client.register("alice")
    response = await client.request(
        "GET", PREVIEW, token=alice.access_token, params={"url": f"{site}/page"}
    )
    assert response.status == 200, response.body
    body = response.body
    assert body["og:title"] == "Loopback page"
    assert body["og:description"] == "Served by the test"
    assert body["og:image"].startswith("mxc://localhost/")
    assert body["og:image:type"] == "image/png"
    assert body["og:image:width"] == 120
    assert body["og:image:height"] == 80
    assert body["matrix:image:size"] == len(png_bytes(120, 80))

    media_id = body["og:image"].rsplit("/", 1)[1]
    image = await client.request(
        "GET", f"{DOWNLOAD}/localhost/{media_id}", token=alice.access_token
    )
    assert image.status == 200
    assert image.body == png_bytes(120, 80)

    cached = await client.request(
        "GET", PREVIEW, token=alice.access_token, params={"url": f"{site}/page"}
    )
    assert cached.body == body


async def test_redirect_target_checked(
    make_server: MakeServer, raw_client: ConnectClient, site: str
) -> None:
    server = make_server(
        media={
            "url_preview_enabled": True,
            "url_preview_ip_range_allowlist": ["127.0.0.0/8"],
        }
    )
    client = raw_client(server)
    alice = await client.register("alice")
    port = site.rsplit(":", 1)[1]
    for target in (f"http://[::1]:{port}/page", f"http://169.254.169.254:{port}/page"):
        response = await client.request(
            "GET",
            PREVIEW,
            token=alice.access_token,
            params={"url": f"{site}/redirect?to={target}"},
        )
        assert response.status == 403, target
        assert response.body["errcode"] == "M_FORBIDDEN", target


async def test_invalid_url(make_server: MakeServer, raw_client: ConnectClient) -> None:
    server = make_server(media={"url_preview_enabled": True})
    client = raw_client(server)
    alice = await client.register("alice")
    for url in ("file:///etc/passwd", "not a url", "ftp://example.org/"):
        response = await client.request(
            "GET", PREVIEW, token=alice.access_token, params={"url": url}
        )
        assert response.status == 400, url
        assert response.body["errcode"] == "M_INVALID_PARAM", url
