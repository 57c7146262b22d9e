"""Start the real homeserver in a subprocess on a free loopback port, for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """One homeserver process with its own config, database and signing key."""

    def __init__(
        self,
        directory: Path,
        server_name: str = "localhost",
        overrides: dict[str, Any] | None = None,
    ) -> None:
        self.directory = directory
        self.port = free_port()
        self.server_name = server_name
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.config_path = directory / "homeserver.yaml"
        self.log_path = directory / "server.log"
        self.shared_secret = "test-shared-secret"
        config: dict[str, Any] = {
            "server_name": server_name,
            "public_baseurl": self.base_url + "/",
            "listeners": [{"host": "127.0.0.1", "port": self.port}],
            "data_dir": str(directory / "data"),
            "signing_key_path": str(directory / "signing.key"),
            "registration": {"enabled": True, "shared_secret": self.shared_secret},
            "rate_limits": {"enabled": False},
            "log_level": "INFO",
        }
        for key, value in (overrides or {}).items():
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key] = {**config[key], **value}
            else:
                config[key] = value
        self.config = config
        self.config_path.write_text(yaml.safe_dump(config))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "homeserver.cli", "-c", str(self.config_path), "run"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.directory,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.process.returncode}:\n{self.read_log()}"
                )
            try:
                with urllib.request.urlopen(
                    self.base_url + "/_matrix/client/versions", timeout=1
                ) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        raise RuntimeError(f"server did not start in {timeout}s:\n{self.read_log()}")

    def read_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except FileNotFoundError:
            return ""

    def kill(self) -> None:
        """Stop the process with SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
