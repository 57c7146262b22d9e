"""Measure database growth per state event on any homeserver.

The members of one room change their display names over and over; every change is a
new `m.room.member` state event. The script reports how many bytes the server's SQLite
database grew per event. Used pages are counted through a read-only connection, so the
number is the same whether the data sits in the main file or still in the WAL.

    python tests/bench/state_growth.py --base-url http://127.0.0.1:8008 \\
        --database data/homeserver.db --members 200 --rounds 5

The server must allow open registration with `m.login.dummy` and have rate limits off.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import time
import uuid

import aiohttp


def used_bytes(database: str) -> int:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        free = connection.execute("PRAGMA freelist_count").fetchone()[0]
    finally:
        connection.close()
    return (pages - free) * page_size


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    body: dict | None = None,
    token: str | None = None,
) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for attempt in range(20):
        async with session.request(method, url, json=body, headers=headers) as reply:
            data = await reply.json(content_type=None)
            if reply.status == 429:
                await asyncio.sleep(data.get("retry_after_ms", 500) / 1000)
                continue
            if reply.status >= 400:
                raise RuntimeError(f"{method} {url} -> {reply.status} {data}")
            return data
    raise RuntimeError(f"{method} {url} kept answering 429")


async def count_member_events(
    session: aiohttp.ClientSession, api: str, room_id: str, token: str
) -> int:
    """Count the room's m.room.member events by paging back through its history."""
    member_filter = json.dumps({"types": ["m.room.member"]})
    count = 0
    start = None
    for _ in range(1000):
        url = f"{api}/rooms/{room_id}/messages?dir=b&limit=500&filter={member_filter}"
        if start is not None:
            url += f"&from={start}"
        page = await call(session, "GET", url, token=token)
        count += len(page["chunk"])
        start = page.get("end")
        if not page["chunk"] or start is None:
            break
    return count


async def register(session: aiohttp.ClientSession, base: str, name: str) -> dict:
    return await call(
        session,
        "POST",
        base + "/_matrix/client/v3/register",
        {"username": name, "password": "bench-password", "auth": {"type": "m.login.dummy"}},
    )


async def run(args: argparse.Namespace) -> dict:
    base = args.base_url.rstrip("/") + "/"
    api = base + "_matrix/client/v3"
    prefix = "g" + uuid.uuid4().hex[:6]
    connector = aiohttp.TCPConnector(limit=args.parallel)
    async with aiohttp.ClientSession(connector=connector) as session:
        owner = await register(session, api[: -len("/_matrix/client/v3")], f"{prefix}owner")
        room = await call(
            session, "POST", api + "/createRoom", {"preset": "public_chat"},
            owner["access_token"],
        )
        room_id = room["room_id"]
        semaphore = asyncio.Semaphore(args.parallel)

        async def member(index: int) -> dict:
            async with semaphore:
                user = await register(
                    session, api[: -len("/_matrix/client/v3")], f"{prefix}m{index}"
                )
                await call(
                    session, "POST", f"{api}/join/{room_id}", {}, user["access_token"]
                )
                return user

        members = await asyncio.gather(*(member(i) for i in range(args.members)))
        await asyncio.sleep(2)
        before = used_bytes(args.database)
        seen_before = await count_member_events(
            session, api, room_id, owner["access_token"]
        )
        started = time.perf_counter()
        for round_number in range(args.rounds):

            async def rename(user: dict) -> None:
                async with semaphore:
                    await call(
                        session,
                        "PUT",
                        f"{api}/profile/{user['user_id']}/displayname",
                        {"displayname": f"{user['user_id'][1:8]} round {round_number}"},
                        user["access_token"],
                    )

            await asyncio.gather(*(rename(user) for user in members))
        elapsed = time.perf_counter() - started
        # Some servers update the member events after responding to the profile change,
        # so wait until the database stops growing.
        after = used_bytes(args.database)
        for _ in range(60):
            await asyncio.sleep(3)
            latest = used_bytes(args.database)
            if latest == after:
                break
            after = latest
        seen_after = await count_member_events(
            session, api, room_id, owner["access_token"]
        )
    # Count the events the server actually created: some servers skip or merge
    # membership updates of profile changes.
    events = seen_after - seen_before
    if events <= 0:
        raise RuntimeError("no member events were created")
    return {
        "members": args.members,
        "rounds": args.rounds,
        "profile_changes": args.members * args.rounds,
        "member_events_created": events,
        "bytes_before": before,
        "bytes_after": after,
        "bytes_per_state_event": round((after - before) / events),
        "elapsed_s": round(elapsed, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--database", required=True, help="the server's SQLite file")
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--parallel", type=int, default=10)
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
