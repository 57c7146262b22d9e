"""State groups: the full state of a room at each event, stored as deltas.

A state event creates a new group that records only the entries it changes against the
group before it (`prev_group`). A message event reuses the group of the state before it, so
it costs no state rows at all. To keep lookups cheap, a group whose chain of predecessors
reaches `SNAPSHOT_INTERVAL` is written as a full snapshot instead of a delta.

(type, state_key) pairs are interned into `state_keys` and events are referenced by their
numeric `nid`, so a delta row is three integers.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Mapping

from homeserver.storage.database import Database, Transaction

logger = logging.getLogger(__name__)

StateKey = tuple[str, str]
# A state map as stored: interned key id -> event nid.
NidStateMap = dict[int, int]

SNAPSHOT_INTERVAL = 100
_GROUP_CACHE_SIZE = 2_000


class StateStore:
    """Reads and writes state groups; caches interned keys and recent groups."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._key_ids: dict[StateKey, int] = {}
        self._keys_by_id: dict[int, StateKey] = {}
        self._groups: OrderedDict[int, NidStateMap] = OrderedDict()
        self._chain_lengths: dict[int, int] = {}

    async def load_keys(self) -> None:
        for row in await self._db.fetchall("SELECT id, type, state_key FROM state_keys"):
            key = (row["type"], row["state_key"])
            self._key_ids[key] = row["id"]
            self._keys_by_id[row["id"]] = key

    def key_for_id(self, key_id: int) -> StateKey:
        return self._keys_by_id[key_id]

    def key_id(self, key: StateKey) -> int | None:
        return self._key_ids.get(key)

    async def intern_key(self, txn: Transaction, key: StateKey) -> int:
        """Return the id of `key`, inserting it within `txn` if it is new."""
        key_id = self._key_ids.get(key)
        if key_id is not None:
            return key_id
        await txn.execute(
            "INSERT OR IGNORE INTO state_keys (type, state_key) VALUES (?, ?)", key
        )
        row = await txn.fetchone(
            "SELECT id FROM state_keys WHERE type = ? AND state_key = ?", key
        )
        assert row is not None
        key_id = row["id"]

        def remember() -> None:
            self._key_ids[key] = key_id
            self._keys_by_id[key_id] = key

        # Remember it now for later statements of this transaction; a rollback leaves a
        # stale id that a later INSERT OR IGNORE simply re-creates, so drop it then.
        remember()
        return key_id

    def forget_key(self, key: StateKey) -> None:
        key_id = self._key_ids.pop(key, None)
        if key_id is not None:
            self._keys_by_id.pop(key_id, None)

    async def create_group(
        self,
        txn: Transaction,
        room_id: str,
        prev_group: int | None,
        delta: Mapping[int, int | None],
        full_state: NidStateMap,
    ) -> int:
        """Store a new group equal to `full_state`, as a delta against `prev_group`.

        `delta` holds the entries that differ from `prev_group` (None removes an entry).
        The group is stored as a snapshot when there is no previous group or the chain
        would grow past `SNAPSHOT_INTERVAL`.
        """
        chain_length = 0
        if prev_group is not None:
            chain_length = await self._chain_length(txn, prev_group) + 1
        if prev_group is None or chain_length >= SNAPSHOT_INTERVAL:
            group_id = await txn.execute(
                "INSERT INTO state_groups (room_id, prev_group, chain_length)"
                " VALUES (?, NULL, 0)",
                (room_id,),
            )
            rows = [(group_id, k, v) for k, v in full_state.items()]
            chain_length = 0
        else:
            group_id = await txn.execute(
                "INSERT INTO state_groups (room_id, prev_group, chain_length)"
                " VALUES (?, ?, ?)",
                (room_id, prev_group, chain_length),
            )
            rows = [(group_id, k, v) for k, v in delta.items()]
        await txn.executemany(
            "INSERT INTO state_group_entries (group_id, key_id, event_nid)"
            " VALUES (?, ?, ?)",
            rows,
        )
        self._chain_lengths[group_id] = chain_length
        self._remember(group_id, dict(full_state))
        return group_id

    async def _chain_length(self, txn: Transaction, group_id: int) -> int:
        cached = self._chain_lengths.get(group_id)
        if cached is not None:
            return cached
        row = await txn.fetchone(
            "SELECT chain_length FROM state_groups WHERE id = ?", (group_id,)
        )
        if row is None:
            raise KeyError(f"unknown state group {group_id}")
        self._chain_lengths[group_id] = row[0]
        return row[0]

    def _remember(self, group_id: int, state: NidStateMap) -> None:
        self._groups[group_id] = state
        self._groups.move_to_end(group_id)
        while len(self._groups) > _GROUP_CACHE_SIZE:
            self._groups.popitem(last=False)

    def forget_groups(self, group_ids: list[int]) -> None:
        """Drop cached groups whose transaction rolled back, since SQLite reuses ids."""
        for group_id in group_ids:
            self._groups.pop(group_id, None)
            self._chain_lengths.pop(group_id, None)

    async def get_group(self, group_id: int) -> NidStateMap:
        """Return the full state of a group as {key id: event nid}."""
        cached = self._groups.get(group_id)
        if cached is not None:
            self._groups.move_to_end(group_id)
            return dict(cached)

        # Walk back to the nearest snapshot or cached group, then apply deltas forward.
        chain: list[int] = []
        base: NidStateMap | None = None
        current: int | None = group_id
        while current is not None:
            cached = self._groups.get(current)
            if cached is not None:
                base = dict(cached)
                break
            chain.append(current)
            row = await self._db.fetchone(
                "SELECT prev_group FROM state_groups WHERE id = ?", (current,)
            )
            if row is None:
                raise KeyError(f"unknown state group {current}")
            current = row["prev_group"]
        state: NidStateMap = base if base is not None else {}
        for gid in reversed(chain):
            for row in await self._db.fetchall(
                "SELECT key_id, event_nid FROM state_group_entries WHERE group_id = ?",
                (gid,),
            ):
                if row["event_nid"] is None:
                    state.pop(row["key_id"], None)
                else:
                    state[row["key_id"]] = row["event_nid"]
        self._remember(group_id, state)
        return dict(state)

    async def ensure_keys_loaded(self, key_ids: set[int]) -> None:
        missing = [k for k in key_ids if k not in self._keys_by_id]
        if not missing:
            return
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in await self._db.fetchall(
                f"SELECT id, type, state_key FROM state_keys WHERE id IN ({marks})",
                chunk,
            ):
                key = (row["type"], row["state_key"])
                self._key_ids[key] = row["id"]
                self._keys_by_id[row["id"]] = key
