"""The event pipeline: build, authorise, persist, notify.

Every new event goes through the same steps:

1. Under the room's lock, build the PDU against the in-memory current state (prev_events,
   depth, auth_events), add the content hash, sign it and compute its ID.
2. Check the room version's authorization rules against the auth events.
3. Apply it to the room snapshot, so the next event can be built on top straight away.
4. Hand it to the writer, which commits queued events in batches ("group commit"): the
   event row, its state group (a delta for state events), current state, memberships and
   any extra rows of the caller all go into one transaction.
5. After the commit, wake the syncs of the users who can see the event, then return.

A caller gets its event only after the event has committed. If a batch fails to commit,
its events are retried one at a time. An event that still fails gets its caller an error,
and its room is reloaded from the database.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable

from nacl.signing import SigningKey

from homeserver.errors import Forbidden, MatrixError, NotFound, TooLarge
from homeserver.events.auth import AuthError, auth_types_for_event, check_auth_rules
from homeserver.events.canonical import MAX_PDU_SIZE, InvalidJSONValue
from homeserver.events.event import Event
from homeserver.events.hashing import add_content_hash
from homeserver.events.room_versions import RoomVersion
from homeserver.events.signing import sign_event
from homeserver.events.validation import InvalidEvent, validate_pdu
from homeserver.notifier import Notifier
from homeserver.rooms.room_cache import RoomCache, RoomSnapshot
from homeserver.rooms.user_rooms import UserRooms
from homeserver.storage.database import Database, Transaction
from homeserver.storage.events import EventStore, PersistedEvent
from homeserver.storage.state import GroupRows, StateStore

logger = logging.getLogger(__name__)

ExtraWrite = Callable[[Transaction], Awaitable[None]]
Precheck = Callable[[RoomSnapshot], Awaitable[None] | None]

# prev_events of a local event: the spec allows up to 20; fewer keeps PDUs small.
_MAX_PREV_EVENTS = 10
_MAX_BATCH = 256


@dataclass
class _Job:
    item: PersistedEvent
    snapshot: RoomSnapshot
    notify_users: set[str]
    extra_writes: list[ExtraWrite]
    redaction_target: PersistedEvent | None
    future: asyncio.Future[PersistedEvent]
    is_new_room: bool = False


class EventPipeline:
    """Creates local events and persists them with group commit."""

    def __init__(
        self,
        db: Database,
        events: EventStore,
        state: StateStore,
        rooms: RoomCache,
        notifier: Notifier,
        server_name: str,
        signing_key: SigningKey,
        user_rooms: UserRooms,
    ) -> None:
        self._db = db
        self._user_rooms = user_rooms
        self._events = events
        self._state = state
        self._rooms = rooms
        self._notifier = notifier
        self._server_name = server_name
        self._signing_key = signing_key
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._writer_task: asyncio.Task[None] | None = None
        self._next_stream = 0
        self._next_nid = 0
        self._inflight_txns: dict[tuple[str, str, str], asyncio.Future[str]] = {}
        self._last_create_ts = 0
        # Called with each committed batch, in stream order, before the callers'
        # requests complete. Listeners must not block.
        self.listeners: list[Callable[[list[PersistedEvent]], None]] = []

    async def start(self) -> None:
        self._next_stream = await self._events.max_stream_ordering() + 1
        self._next_nid = await self._events.max_nid() + 1
        self._notifier.set_position("events", self._next_stream - 1)
        self._writer_task = asyncio.create_task(self._run_writer(), name="event-writer")

    async def stop(self) -> None:
        if self._writer_task is not None:
            # Let queued events commit before the database closes.
            while not self._queue.empty():
                await asyncio.sleep(0.01)
            self._writer_task.cancel()
            try:
                await self._writer_task
            except asyncio.CancelledError:
                pass
            self._writer_task = None

    # -- building ------------------------------------------------------------

    def _build_pdu(
        self,
        snapshot: RoomSnapshot | None,
        new_room_id: str | None,
        version: RoomVersion,
        sender: str,
        event_type: str,
        content: dict[str, Any],
        state_key: str | None,
        redacts: str | None,
    ) -> tuple[Event, dict[tuple[str, str], Event]]:
        timestamp = int(time.time() * 1000)
        if snapshot is None:
            # Since v12 a room's ID is the hash of its create event, so two create
            # events from one user in the same millisecond would make the same room.
            timestamp = max(timestamp, self._last_create_ts + 1)
            self._last_create_ts = timestamp
        pdu: dict[str, Any] = {
            "type": event_type,
            "sender": sender,
            "content": content,
            "origin_server_ts": timestamp,
        }
        if state_key is not None:
            pdu["state_key"] = state_key
        if redacts is not None and not version.redacts_in_content:
            pdu["redacts"] = redacts
        auth_events: dict[tuple[str, str], Event] = {}
        if snapshot is None:
            # The create event: no parents, no auth events.
            if new_room_id is not None:
                pdu["room_id"] = new_room_id
            pdu["prev_events"] = []
            pdu["auth_events"] = []
            pdu["depth"] = 1
        else:
            pdu["room_id"] = snapshot.room_id
            pdu["prev_events"] = snapshot.forward_extremities[-_MAX_PREV_EVENTS:]
            pdu["depth"] = min(snapshot.max_depth + 1, version.max_depth)
            for key in auth_types_for_event(
                version, event_type, sender, state_key, content
            ):
                event = snapshot.state.get(key)
                if event is not None:
                    auth_events[key] = event
            pdu["auth_events"] = sorted(e.event_id for e in auth_events.values())
            # Since v12 the create event is not listed, but the rules still need it.
            create_event = snapshot.state.get(("m.room.create", ""))
            if create_event is not None:
                auth_events[("m.room.create", "")] = create_event
        if snapshot is None and (new_room_id is None) != version.room_id_from_create_event:
            raise ValueError("a room ID is given for the create event before v12 only")
        add_content_hash(pdu)
        sign_event(pdu, self._server_name, self._signing_key, version)
        try:
            validate_pdu(pdu, version)
        except InvalidJSONValue as exc:
            raise MatrixError(400, "M_BAD_JSON", f"Invalid event: {exc}") from exc
        except InvalidEvent as exc:
            if "65536" in str(exc) or str(MAX_PDU_SIZE) in str(exc):
                raise TooLarge(f"Event is too large: {exc}") from exc
            raise MatrixError(400, "M_BAD_JSON", f"Invalid event: {exc}") from exc
        event = Event(pdu, version)
        return event, auth_events

    def _authorise(self, event: Event, auth_events: dict[tuple[str, str], Event]) -> None:
        try:
            check_auth_rules(event.room_version, event, auth_events)
        except AuthError as exc:
            raise Forbidden(str(exc)) from exc

    # -- public entry points -------------------------------------------------

    async def create_room(
        self,
        version: RoomVersion,
        sender: str,
        content: dict[str, Any],
        extra_writes: Callable[[str], list[ExtraWrite]],
    ) -> PersistedEvent:
        """Create, persist and return the `m.room.create` event of a new room.

        `extra_writes(room_id)` returns writes to commit with the event, such as the
        `rooms` row, since the room ID is known only once the event is built.
        """
        new_room_id = None
        if not version.room_id_from_create_event:
            new_room_id = f"!{secrets.token_urlsafe(18)}:{self._server_name}"
        event, _ = self._build_pdu(
            None, new_room_id, version, sender, "m.room.create", content, "", None
        )
        self._authorise(event, {})
        snapshot = RoomSnapshot(
            room_id=event.room_id,
            version=version,
            state={},
            forward_extremities=[],
            max_depth=0,
            state_group=None,
        )
        async with snapshot.lock:
            self._rooms.put(snapshot)
            self._events.remember_room_version(event.room_id, version)
            job = self._enqueue(
                snapshot, event, None, None, extra_writes(event.room_id), None, {}
            )
            job.is_new_room = True
        return await job.future

    async def send(
        self,
        room_id: str,
        sender: str,
        event_type: str,
        content: dict[str, Any],
        state_key: str | None = None,
        *,
        device_id: str | None = None,
        txn_id: str | None = None,
        redacts: str | None = None,
        precheck: Precheck | None = None,
        extra_writes: Iterable[ExtraWrite] = (),
        unsigned: dict[str, Any] | None = None,
        unsigned_for_event: Callable[[RoomSnapshot], dict[str, Any]] | None = None,
    ) -> PersistedEvent:
        """Create a local event in `room_id`, persist it and return it.

        `precheck(snapshot)` runs under the room lock before the event is built and may
        raise a `MatrixError` with a clearer message than the auth rules give.
        """
        if txn_id is not None and device_id is not None:
            return await self._send_with_txn_id(
                room_id, sender, event_type, content, state_key, device_id, txn_id,
                redacts, precheck, list(extra_writes), unsigned,
            )
        job = await self._prepare(
            room_id, sender, event_type, content, state_key, None, None, redacts,
            precheck, list(extra_writes), unsigned, unsigned_for_event,
        )
        return await job.future

    async def _send_with_txn_id(
        self,
        room_id: str,
        sender: str,
        event_type: str,
        content: dict[str, Any],
        state_key: str | None,
        device_id: str,
        txn_id: str,
        redacts: str | None,
        precheck: Precheck | None,
        extra_writes: list[ExtraWrite],
        unsigned: dict[str, Any] | None,
    ) -> PersistedEvent:
        """Send once per (user, device, transaction ID); a retry returns the first event."""
        key = (sender, device_id, txn_id)
        inflight = self._inflight_txns.get(key)
        if inflight is not None:
            event_id = await asyncio.shield(inflight)
            return await self._existing_event(event_id)
        # Register the marker before the first await, so a duplicate that arrives
        # while the lookup below runs waits for this request instead of sending.
        marker: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._inflight_txns[key] = marker
        try:
            existing = await self._db.fetchvalue(
                "SELECT event_id FROM event_txn_ids"
                " WHERE user_id = ? AND device_id = ? AND txn_id = ?",
                key,
            )
            if existing is not None:
                item = await self._existing_event(existing)
            else:
                job = await self._prepare(
                    room_id, sender, event_type, content, state_key, device_id,
                    txn_id, redacts, precheck, extra_writes, unsigned, None,
                )
                item = await job.future
            marker.set_result(item.event.event_id)
            return item
        except BaseException as exc:
            marker.set_exception(exc)
            marker.exception()
            raise
        finally:
            del self._inflight_txns[key]

    async def _existing_event(self, event_id: str) -> PersistedEvent:
        item = await self._events.get(event_id)
        if item is None:
            raise NotFound("The event of this transaction no longer exists")
        return item

    async def _prepare(
        self,
        room_id: str,
        sender: str,
        event_type: str,
        content: dict[str, Any],
        state_key: str | None,
        device_id: str | None,
        txn_id: str | None,
        redacts: str | None,
        precheck: Precheck | None,
        extra_writes: list[ExtraWrite],
        unsigned: dict[str, Any] | None,
        unsigned_for_event: Callable[[RoomSnapshot], dict[str, Any]] | None,
    ) -> _Job:
        snapshot = await self._rooms.get(room_id)
        if snapshot is None:
            raise NotFound(f"Unknown room {room_id}")
        async with snapshot.lock:
            if precheck is not None:
                result = precheck(snapshot)
                if result is not None:
                    await result
            redaction_target = None
            if redacts is not None:
                redaction_target = await self._events.get(redacts)
                if (
                    redaction_target is not None
                    and redaction_target.event.room_id != room_id
                ):
                    redaction_target = None
            event, auth_events = self._build_pdu(
                snapshot, None, snapshot.version, sender, event_type, content, state_key,
                redacts,
            )
            self._authorise(event, auth_events)
            unsigned_data = dict(unsigned or {})
            if unsigned_for_event is not None:
                unsigned_data.update(unsigned_for_event(snapshot))
            return self._enqueue(
                snapshot, event, device_id, txn_id, extra_writes, redaction_target,
                unsigned_data,
            )

    def _enqueue(
        self,
        snapshot: RoomSnapshot,
        event: Event,
        device_id: str | None,
        txn_id: str | None,
        extra_writes: list[ExtraWrite],
        redaction_target: PersistedEvent | None,
        unsigned: dict[str, Any],
    ) -> _Job:
        """Assign the event its stream position, apply it to the snapshot and queue it."""
        if event.is_state():
            assert event.state_key is not None
            replaced = snapshot.state.get((event.type, event.state_key))
            if replaced is not None:
                unsigned["replaces_state"] = replaced.event_id
                unsigned["prev_content"] = replaced.content
                unsigned["prev_sender"] = replaced.sender
        item = PersistedEvent(
            event=event,
            stream_ordering=self._next_stream,
            nid=self._next_nid,
            sender_device=device_id,
            txn_id=txn_id,
            unsigned=unsigned,
        )
        event.unsigned = unsigned
        self._next_stream += 1
        self._next_nid += 1
        notify_users = snapshot.interested_users()
        snapshot.apply(event)
        notify_users |= snapshot.interested_users()
        if event.type == "m.room.member" and event.state_key is not None:
            notify_users.add(event.state_key)
        job = _Job(
            item=item,
            snapshot=snapshot,
            notify_users=notify_users,
            extra_writes=extra_writes,
            redaction_target=redaction_target,
            future=asyncio.get_running_loop().create_future(),
        )
        self._queue.put_nowait(job)
        return job

    # -- writing -------------------------------------------------------------

    async def _run_writer(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < _MAX_BATCH:
                batch.append(self._queue.get_nowait())
            await self._write_batch(batch)

    async def _write_batch(self, batch: list[_Job]) -> None:
        if await self._try_write(batch) or len(batch) == 1:
            return
        # Write the events one by one, so one bad event fails only its own room.
        failed_rooms: set[str] = set()
        for job in batch:
            room_id = job.snapshot.room_id
            if room_id in failed_rooms:
                # Its prev_events name an event that was not stored.
                self._fail([job])
            elif not await self._try_write([job]):
                failed_rooms.add(room_id)

    async def _try_write(self, batch: list[_Job]) -> bool:
        """Persist a batch in one transaction; on failure fail its callers."""
        rows = GroupRows()
        try:
            await self._plan_state(batch, rows)
            async with self._db.transaction("persist_events") as txn:
                await self._write_rows(txn, batch, rows)
        except Exception:
            logger.exception("Failed to persist a batch of %d events", len(batch))
            self._state.discard(rows)
            if len(batch) == 1:
                self._fail(batch)
            return False
        self._finish(batch)
        return True

    def _fail(self, jobs: list[_Job]) -> None:
        for job in jobs:
            logger.error(
                "Dropping event %s in %s; reloading the room from the database",
                job.item.event.event_id,
                job.snapshot.room_id,
            )
            self._rooms.drop(job.snapshot.room_id)
            if not job.future.done():
                job.future.set_exception(
                    MatrixError(500, "M_UNKNOWN", "Failed to store the event")
                )
                job.future.exception()

    def _finish(self, batch: list[_Job]) -> None:
        """Update caches, notify, and resolve the callers of a committed batch."""
        users: set[str] = set()
        for job in batch:
            job.snapshot.state_group = job.item.state_group_after
            users |= job.notify_users
            target = job.redaction_target
            if target is not None and target.event.is_state():
                key = (target.event.type, target.event.state_key or "")
                current = job.snapshot.state.get(key)
                if current is not None and current.event_id == target.event.event_id:
                    job.snapshot.state[key] = target.event.redacted_copy()
        self._events.cache_persisted(job.item for job in batch)
        for job in batch:
            event = job.item.event
            if event.type == "m.room.member" and event.state_key is not None:
                self._user_rooms.invalidate(event.state_key)
        items = [job.item for job in batch]
        for listener in self.listeners:
            try:
                listener(items)
            except Exception:
                logger.exception("Event listener %r failed", listener)
        self._notifier.notify("events", batch[-1].item.stream_ordering, users)
        for job in batch:
            if not job.future.done():
                job.future.set_result(job.item)

    async def _plan_state(self, batch: list[_Job], rows: GroupRows) -> None:
        """Assign each event its state groups; state events get a new group."""
        room_groups: dict[str, int | None] = {}
        for job in batch:
            item = job.item
            event = item.event
            room_id = event.room_id
            if room_id not in room_groups:
                room_groups[room_id] = job.snapshot.state_group
            group_before = room_groups[room_id]
            group_after = group_before
            if event.is_state():
                assert event.state_key is not None
                key_id = self._state.plan_key((event.type, event.state_key), rows.keys)
                full_state = (
                    await self._state.get_group(group_before) if group_before else {}
                )
                full_state[key_id] = item.nid
                group_after = await self._state.plan_group(
                    group_before, {key_id: item.nid}, full_state, rows
                )
                room_groups[room_id] = group_after
            item.state_group_before = group_before
            item.state_group_after = group_after

    async def _write_rows(
        self, txn: Transaction, batch: list[_Job], rows: GroupRows
    ) -> None:
        """Write a batch with one statement per table, whatever the batch size."""
        await self._state.write(txn, rows)
        await self._events.insert(txn, [job.item for job in batch])
        now = int(time.time() * 1000)
        txn_ids = [
            (e.sender, job.item.sender_device, job.item.txn_id, e.event_id, now)
            for job in batch
            if job.item.txn_id is not None and (e := job.item.event)
        ]
        if txn_ids:
            await txn.executemany(
                "INSERT INTO event_txn_ids"
                " (user_id, device_id, txn_id, event_id, created_ts)"
                " VALUES (?, ?, ?, ?, ?)",
                txn_ids,
            )
        for job in batch:
            for write in job.extra_writes:
                await write(txn)

        # Local events form a single chain, so each room's last event of the batch is
        # its only forward extremity.
        latest: dict[str, PersistedEvent] = {}
        for job in batch:
            latest[job.item.event.room_id] = job.item
        await txn.executemany(
            "DELETE FROM forward_extremities WHERE room_id = ?",
            [(room_id,) for room_id in latest],
        )
        await txn.executemany(
            "INSERT INTO forward_extremities (room_id, event_id) VALUES (?, ?)",
            [(room_id, item.event.event_id) for room_id, item in latest.items()],
        )
        await txn.executemany(
            "INSERT INTO room_current_state (room_id, state_group, max_depth)"
            " VALUES (?, ?, ?) ON CONFLICT (room_id) DO UPDATE SET"
            " state_group = excluded.state_group,"
            " max_depth = MAX(max_depth, excluded.max_depth)",
            [
                (room_id, item.state_group_after, item.event.depth)
                for room_id, item in latest.items()
            ],
        )
        memberships = [
            (
                e.room_id,
                e.state_key,
                e.membership or "",
                e.event_id,
                job.item.stream_ordering,
            )
            for job in batch
            if (e := job.item.event).type == "m.room.member" and e.state_key is not None
        ]
        if memberships:
            await txn.executemany(
                "INSERT INTO room_memberships"
                " (room_id, user_id, membership, event_id, stream_ordering, forgotten)"
                " VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (room_id, user_id) DO UPDATE SET"
                " membership = excluded.membership, event_id = excluded.event_id,"
                " stream_ordering = excluded.stream_ordering, forgotten = 0",
                memberships,
            )
        for job in batch:
            if job.redaction_target is not None:
                await self._events.apply_redaction(
                    txn, job.redaction_target, job.item.event
                )
