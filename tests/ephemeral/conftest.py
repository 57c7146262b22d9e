"""A real core (database, event pipeline, room cache) without HTTP, and a room in it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from homeserver.account_data import AccountDataStore
from homeserver.app import Services, build_services
from homeserver.config import parse_config
from homeserver.events.room_versions import get_room_version
from homeserver.push_rules import PushRules
from homeserver.receipts import ReceiptStore
from homeserver.storage.database import Transaction

ALICE = "@alice:test"
BOB = "@bob:test"
CAROL = "@carol:test"


@dataclass
class Core:
    services: Services
    account_data: AccountDataStore
    receipts: ReceiptStore
    room_id: str


async def _insert_users(services: Services) -> None:
    async with services.db.transaction("test_users") as txn:
        for user_id in (ALICE, BOB, CAROL):
            await txn.execute(
                "INSERT INTO users (user_id, created_ts) VALUES (?, 0)", (user_id,)
            )


async def create_room(services: Services, creator: str, members: list[str]) -> str:
    """Create a public room of version 12 that `creator` and `members` join."""
    version = get_room_version("12")
    assert version is not None

    def extra_writes(room_id: str) -> list:
        async def write(txn: Transaction) -> None:
            await txn.execute(
                "INSERT INTO rooms (room_id, room_version, creator, created_ts)"
                " VALUES (?, ?, ?, 0)",
                (room_id, "12", creator),
            )

        return [write]

    create = await services.pipeline.create_room(
        version, creator, {"room_version": "12"}, extra_writes
    )
    room_id = create.event.room_id
    pipeline = services.pipeline
    await pipeline.send(
        room_id, creator, "m.room.member", {"membership": "join"}, creator
    )
    await pipeline.send(
        room_id, creator, "m.room.join_rules", {"join_rule": "public"}, ""
    )
    for member in members:
        await pipeline.send(
            room_id, member, "m.room.member", {"membership": "join"}, member
        )
    return room_id


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    config = parse_config(
        {"server_name": "test", "data_dir": str(tmp_path / "data")}, str(tmp_path)
    )
    (tmp_path / "data").mkdir()
    services = build_services(config)
    await services.db.open()
    await services.state.load_keys()
    await services.pipeline.start()
    try:
        await _insert_users(services)
        account_data = AccountDataStore(
            services.db, services.notifier, PushRules().rules_content
        )
        await account_data.load_position()
        receipts = ReceiptStore(
            services.db,
            services.notifier,
            services.events,
            services.room_cache,
            account_data,
        )
        await receipts.load_position()
        room_id = await create_room(services, ALICE, [BOB])
        yield Core(services, account_data, receipts, room_id)
    finally:
        await services.pipeline.stop()
        await services.db.close()
