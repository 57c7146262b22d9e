"""The `homeserver` console command: generate-config, run, register-user."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from homeserver.config import ConfigError, generate_config_text, load_config

logger = logging.getLogger(__name__)

DEFAULT_CONFIG_PATH = "homeserver.yaml"


def _generate_config(args: argparse.Namespace) -> int:
    path = Path(args.config)
    if path.exists() and not args.force:
        print(f"{path} already exists; pass --force to overwrite it", file=sys.stderr)
        return 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        generate_config_text(args.server_name, args.port, args.open_registration)
    )
    os.chmod(path, 0o600)
    print(f"Wrote {path} for server name {args.server_name}")
    return 0


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Hypercorn's access log would print every request; keep it at warnings.
    logging.getLogger("hypercorn.access").setLevel(logging.WARNING)


def _run(args: argparse.Namespace) -> int:
    config_path = Path(args.config)
    generation_flags = [
        flag
        for flag, value in (
            ("--server-name", args.server_name),
            ("--port", args.port),
            ("--open-registration", args.open_registration or None),
        )
        if value is not None
    ]
    if config_path.exists() and generation_flags:
        print(
            f"Ignoring {', '.join(generation_flags)}: these options are used only"
            f" when generating a config, and {config_path} exists; edit it instead",
            file=sys.stderr,
        )
    if not config_path.exists():
        if not args.generate_if_missing:
            print(
                f"Config file {config_path} not found; create one with"
                " `homeserver generate-config`",
                file=sys.stderr,
            )
            return 1
        server_name = args.server_name or "localhost"
        config_path.write_text(
            generate_config_text(server_name, args.port or 8008, args.open_registration)
        )
        os.chmod(config_path, 0o600)
        print(f"Generated {config_path} for server name {server_name}")
    try:
        config = load_config(str(config_path))
    except ConfigError as exc:
        print(f"Invalid configuration: {exc}", file=sys.stderr)
        return 1
    _configure_logging(config.log_level)
    from homeserver.storage.database import stored_server_name

    stored = stored_server_name(config.database_path)
    if stored is not None and stored != config.server_name:
        print(
            f"Invalid configuration: server_name is {config.server_name!r} but the"
            f" database {config.database_path} belongs to {stored!r}; the server name"
            " cannot change once users exist",
            file=sys.stderr,
        )
        return 1
    problem = _check_ports_free(config)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 1
    return asyncio.run(_serve(config))


def _check_ports_free(config) -> str | None:
    """Return an error message if a listener's address cannot be bound."""
    for listener in config.listeners:
        family = socket.AF_INET6 if ":" in listener.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((listener.host, listener.port))
            except OSError as exc:
                return (
                    f"Cannot listen on {listener.host}:{listener.port}: {exc.strerror};"
                    " is another server running there?"
                )
    return None


async def _serve(config) -> int:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config as HypercornConfig

    from homeserver.app import create_app

    app = create_app(config)
    hypercorn_config = HypercornConfig()
    binds = []
    for listener in config.listeners:
        host = f"[{listener.host}]" if ":" in listener.host else listener.host
        binds.append(f"{host}:{listener.port}")
    hypercorn_config.bind = binds
    first_tls = next(
        (item for item in config.listeners if item.tls_certificate_path), None
    )
    if first_tls is not None:
        hypercorn_config.certfile = first_tls.tls_certificate_path
        hypercorn_config.keyfile = first_tls.tls_private_key_path
    hypercorn_config.accesslog = None
    hypercorn_config.errorlog = logging.getLogger("hypercorn.error")
    # Long-polls last up to the client's timeout; keep idle connections a while.
    hypercorn_config.keep_alive_timeout = 75
    hypercorn_config.graceful_timeout = 5

    shutdown = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, shutdown.set)
    await serve(app, hypercorn_config, shutdown_trigger=shutdown.wait)
    return 0


def _register_user(args: argparse.Namespace) -> int:
    from homeserver.accounts.cli_register import register_user_command

    return register_user_command(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="homeserver", description="Matrix homeserver")
    parser.add_argument(
        "-c",
        "--config",
        default=DEFAULT_CONFIG_PATH,
        help="path of the YAML config file (default: %(default)s)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    # `-c` is accepted after the subcommand too, as in `homeserver run -c FILE`.
    config_option = argparse.ArgumentParser(add_help=False)
    config_option.add_argument(
        "-c", "--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )

    generate = commands.add_parser(
        "generate-config", help="write a new config file", parents=[config_option]
    )
    generate.add_argument("--server-name", default="localhost")
    generate.add_argument("--port", type=int, default=8008)
    generate.add_argument(
        "--open-registration",
        action="store_true",
        help="let anyone register an account",
    )
    generate.add_argument("--force", action="store_true", help="overwrite the file")
    generate.set_defaults(handler=_generate_config)

    run = commands.add_parser("run", help="start the server", parents=[config_option])
    run.add_argument(
        "--generate-if-missing",
        action="store_true",
        help="write a config (and signing key on start) if the file does not exist",
    )
    run.add_argument(
        "--server-name",
        help="server name of a generated config (default: localhost)",
    )
    run.add_argument(
        "--port", type=int, help="listener port of a generated config (default: 8008)"
    )
    run.add_argument(
        "--open-registration",
        action="store_true",
        help="let anyone register, in a generated config",
    )
    run.set_defaults(handler=_run)

    register = commands.add_parser(
        "register-user",
        help="create a user through the running server's admin API",
        parents=[config_option],
    )
    register.add_argument("username", help="localpart or full user ID")
    register.add_argument("--password", help="password (prompted when omitted)")
    register.add_argument("--admin", action="store_true", help="make the user an admin")
    register.add_argument(
        "--url",
        default=None,
        help="base URL of the server (default: the first listener of the config)",
    )
    register.set_defaults(handler=_register_user)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
