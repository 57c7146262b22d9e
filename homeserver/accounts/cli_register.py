"""`homeserver register-user`: create an account through the running server.

The command reads the shared secret from the config file and calls the server's
shared-secret registration endpoint, by default on the first listener.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import urllib.error
import urllib.request
from typing import Any

from homeserver.accounts.shared_secret import compute_mac
from homeserver.config import Config, ConfigError, load_config

_TIMEOUT_SECONDS = 30
_PATH = "/_synapse/admin/v1/register"


def default_url(config: Config) -> str:
    """Return the base URL of the first listener, reached through loopback."""
    listener = config.listeners[0]
    host = listener.host
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    scheme = "https" if listener.tls_certificate_path else "http"
    return f"{scheme}://{host}:{listener.port}"


def _localpart(username: str, server_name: str) -> str:
    """Accept `alice` or `@alice:server`; raise ValueError for another server."""
    if not username.startswith("@"):
        return username
    localpart, _, server = username[1:].partition(":")
    if server != server_name:
        raise ValueError(
            f"{username} is not on this server; expected a user ID ending"
            f" :{server_name}"
        )
    return localpart


def _prompt_password() -> str:
    while True:
        password = getpass.getpass("Password: ")
        if not password:
            print("The password must not be empty.", file=sys.stderr)
            continue
        if getpass.getpass("Confirm password: ") == password:
            return password
        print("The passwords do not match; try again.", file=sys.stderr)


def _request(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode("utf-8") if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:
        return json.loads(response.read())


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read())
        return f"{body.get('errcode', exc.code)}: {body.get('error', '')}"
    except ValueError:
        return f"HTTP {exc.code}"


def register_user_command(args: argparse.Namespace) -> int:
    """Register `args.username`; return the process exit status."""
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"Invalid configuration: {exc}", file=sys.stderr)
        return 1
    secret = config.registration.shared_secret
    if not secret:
        print(
            f"{args.config} sets no registration.shared_secret; add one and restart"
            " the server",
            file=sys.stderr,
        )
        return 1
    try:
        localpart = _localpart(args.username, config.server_name)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if args.password is not None:
        password = args.password
    else:
        try:
            password = _prompt_password()
        except (EOFError, KeyboardInterrupt):
            print("\nNo password entered; no user was created", file=sys.stderr)
            return 1
    base_url = (args.url or default_url(config)).rstrip("/")

    try:
        nonce = _request("GET", base_url + _PATH)["nonce"]
        mac = compute_mac(secret, nonce, localpart, password, args.admin)
        result = _request(
            "POST",
            base_url + _PATH,
            {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": args.admin,
                "mac": mac,
            },
        )
    except urllib.error.HTTPError as exc:
        print(f"Registration failed: {_error_message(exc)}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"Could not reach the server at {base_url}: {exc}", file=sys.stderr)
        return 1
    print(f"Registered {result['user_id']}{' as an admin' if args.admin else ''}")
    return 0
