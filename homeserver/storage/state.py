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
from dataclasses import dataclass, field
from typing import Mapping

from homeserver.storage.database import Database, Transaction

logger = logging.getLogger(__name__)

StateKey = tuple[str, str]
# A state map as stored: interned key id -> event nid.
NidStateMap = dict[int, int]

SNAPSHOT_INTERVAL = 100
_GROUP_CACHE_SIZE = 2_000


@dataclass
class GroupRows:
    """State rows planned for one transaction."""

    keys: list[tuple[int, str, str]] = field(default_factory=list)
    groups: list[tuple[int, int | None, int]] = field(default_factory=list)
    entries: list[tuple[int, int, int | None]] = field(default_factory=list)
    group_ids: list[int] = field(default_factory=list)


class StateStore:
    """Reads and writes state groups; caches interned keys and recent groups."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._key_ids: dict[StateKey, int] = {}
        self._keys_by_id: dict[int, StateKey] = {}
        self._groups: OrderedDict[int, NidStateMap] = OrderedDict()
        self._chain_lengths: dict[int, int] = {}
        self._next_key_id = 1
        self._next_group_id = 1

    async def load_keys(self) -> None:
        for row in await self._db.fetchall("SELECT id, type, state_key FROM state_keys"):
            key = (row["type"], row["state_key"])
            self._key_ids[key] = row["id"]
            self._keys_by_id[row["id"]] = key

    def key_for_id(self, key_id: int) -> StateKey:
        return self._keys_by_id[key_id]

    def key_id(self, key: StateKey) -> int | None:
        return self._key_ids.get(key)

    async def load_counters(self) -> None:
        """Read the highest key and group IDs, so new ones can be assigned in memory."""
        self._next_key_id = 1 + await self._db.fetchvalue(
            "SELECT MAX(id) FROM state_keys", (), 0
        )
        self._next_group_id = 1 + await self._db.fetchvalue(
            "SELECT MAX(id) FROM state_groups", (), 0
        )

    def plan_key(self, key: StateKey, new_keys: list[tuple[int, str, str]]) -> int:
        """Return the ID of `key`, assigning one (appended to `new_keys`) if it is new.

        The caller inserts `new_keys` in its transaction, or calls `forget_keys` with
        them if the transaction rolls back.
        """
        key_id = self._key_ids.get(key)
        if key_id is not None:
            return key_id
        key_id = self._next_key_id
        self._next_key_id += 1
        self._key_ids[key] = key_id
        self._keys_by_id[key_id] = key
        new_keys.append((key_id, key[0], key[1]))
        return key_id

    def forget_keys(self, new_keys: list[tuple[int, str, str]]) -> None:
        for key_id, event_type, state_key in new_keys:
            self._key_ids.pop((event_type, state_key), None)
            self._keys_by_id.pop(key_id, None)

    async def plan_group(
        self,
        prev_group: int | None,
        delta: Mapping[int, int | None],
        full_state: NidStateMap,
        rows: GroupRows,
    ) -> int:
        """Assign a new group equal to `full_state` and append its rows to `rows`.

        `delta` contains the entries that differ from `prev_group` (None removes an entry).
        The group is a snapshot when there is no previous group or the chain would grow
        past `SNAPSHOT_INTERVAL`; otherwise only the delta is stored.
        """
        chain_length = 0
        if prev_group is not None:
            chain_length = await self._chain_length(prev_group) + 1
        group_id = self._next_group_id
        self._next_group_id += 1
        if prev_group is None or chain_length >= SNAPSHOT_INTERVAL:
            rows.groups.append((group_id, None, 0))
            rows.entries.extend((group_id, k, v) for k, v in full_state.items())
            chain_length = 0
        else:
            rows.groups.append((group_id, prev_group, chain_length))
            rows.entries.extend((group_id, k, v) for k, v in delta.items())
        rows.group_ids.append(group_id)
        self._chain_lengths[group_id] = chain_length
        self._remember(group_id, dict(full_state))
        return group_id

    async def write(self, txn: Transaction, rows: GroupRows) -> None:
        """Insert the keys, groups and entries planned for one transaction."""
        if rows.keys:
            await txn.executemany(
                "INSERT INTO state_keys (id, type, state_key) VALUES (?, ?, ?)",
                rows.keys,
            )
        if rows.groups:
            await txn.executemany(
                "INSERT INTO state_groups (id, prev_group, chain_length)"
                " VALUES (?, ?, ?)",
                rows.groups,
            )
        if rows.entries:
            await txn.executemany(
                "INSERT INTO state_group_entries (group_id, key_id, event_nid)"
                " VALUES (?, ?, ?)",
                rows.entries,
            )

    def discard(self, rows: GroupRows) -> None:
        """Forget what was planned for a transaction that rolled back."""
        self.forget_keys(rows.keys)
        self.forget_groups(rows.group_ids)

    async def _chain_length(self, group_id: int) -> int:
        cached = self._chain_lengths.get(group_id)
        if cached is not None:
            return cached
        row = await self._db.fetchone(
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
