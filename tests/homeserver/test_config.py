"""Loading the YAML config: defaults, the sample file and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from homeserver.config import ConfigError, generate_config_text, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]


def test_sample_config_is_valid() -> None:
    config = load_config(str(REPO / "config.sample.yaml"))
    assert config.server_name == "localhost"
    assert config.listeners[0].port == 8008
    assert config.default_room_version == "12"
    assert config.registration.enabled is False


def test_sample_config_values_match_defaults() -> None:
    """The sample documents the defaults, so parsing it equals parsing a bare file."""
    sample = yaml.safe_load((REPO / "config.sample.yaml").read_text())
    from_sample = parse_config(sample, str(REPO))
    bare = parse_config(
        {
            "server_name": "localhost",
            "signing_key_path": "localhost.signing.key",
            "registration": {"shared_secret": "change-me"},
        },
        str(REPO),
    )
    assert from_sample == bare


def test_generated_config_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "homeserver.yaml"
    path.write_text(generate_config_text("example.org", 8448, open_registration=True))
    config = load_config(str(path))
    assert config.server_name == "example.org"
    assert config.listeners[0].port == 8448
    assert config.registration.enabled is True
    assert config.registration.shared_secret


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({}, "server_name"),
        ({"server_name": "localhost", "listeners": [{"port": "x"}]}, "listeners[0].port"),
        ({"server_name": "localhost", "listeners": [{"port": 70000}]}, "listeners[0].port"),
        ({"server_name": "localhost", "listeners": [{"host": "::1"}]}, "listeners[0].port"),
        ({"server_name": "localhost", "log_level": "LOUD"}, "log_level"),
        ({"server_name": "localhost", "default_room_version": "3"}, "default_room_version"),
        ({"server_name": "localhost", "registration": {"enabled": "yes"}}, "registration.enabled"),
        (
            {"server_name": "localhost", "rate_limits": {"message": {"per_second": -1}}},
            "rate_limits.message.per_second",
        ),
        ({"server_name": "localhost", "max_request_body_size": 0}, "max_request_body_size"),
        ({"server_name": "localhost", "database": {"synchronous": "OFF"}}, "database.synchronous"),
        ({"server_name": "localhost", "typo_option": 1}, "typo_option"),
        ({"server_name": "localhost", "media": {"thumbnail_sizes": [{"width": 1}]}}, "height"),
    ],
)
def test_invalid_value_names_key(data: dict, key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(data, "/tmp")
    assert key in str(raised.value)


def test_missing_file_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(str(tmp_path / "absent.yaml"))
    assert "not found" in str(raised.value)


def test_invalid_yaml_is_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("server_name: [unclosed")
    with pytest.raises(ConfigError) as raised:
        load_config(str(path))
    assert "not valid YAML" in str(raised.value)


def test_run_fails_with_key_in_message(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "homeserver.yaml"
    path.write_text("server_name: localhost\nlisteners:\n  - port: nope\n")
    result = subprocess.run(
        [sys.executable, "-m", "homeserver.cli", "-c", str(path), "run"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "listeners[0].port" in result.stderr


def test_duplicate_key_is_config_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("server_name: one.example\nserver_name: two.example\n")
    with pytest.raises(ConfigError) as raised:
        load_config(str(path))
    assert "server_name" in str(raised.value)
    assert "twice" in str(raised.value)


def _run_cli(args: list[str], cwd: Path) -> "subprocess.CompletedProcess[str]":
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "homeserver.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def test_run_refuses_changed_server_name(tmp_path: Path) -> None:
    import sqlite3

    data = tmp_path / "data"
    data.mkdir()
    database = sqlite3.connect(data / "homeserver.db")
    database.execute("CREATE TABLE server_settings (name TEXT PRIMARY KEY, value TEXT)")
    database.execute("INSERT INTO server_settings VALUES ('server_name', 'old.example')")
    database.commit()
    database.close()
    (tmp_path / "homeserver.yaml").write_text(
        "server_name: new.example\nlisteners:\n  - port: 0\n"
    )
    result = _run_cli(["run", "-c", "homeserver.yaml"], tmp_path)
    assert result.returncode == 1
    assert "old.example" in result.stderr


def test_run_reports_port_in_use(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        (tmp_path / "homeserver.yaml").write_text(
            f"server_name: localhost\nlisteners:\n  - port: {port}\n"
        )
        result = _run_cli(["-c", "homeserver.yaml", "run"], tmp_path)
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr
