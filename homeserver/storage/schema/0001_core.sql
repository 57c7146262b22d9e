-- Accounts, rooms, events, state and the per-user streams.

CREATE TABLE users (
    user_id TEXT PRIMARY KEY,
    password_hash TEXT,
    created_ts INTEGER NOT NULL,
    admin INTEGER NOT NULL DEFAULT 0,
    deactivated INTEGER NOT NULL DEFAULT 0,
    displayname TEXT,
    avatar_url TEXT
);

CREATE TABLE devices (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    display_name TEXT,
    last_seen_ts INTEGER,
    last_seen_ip TEXT,
    PRIMARY KEY (user_id, device_id)
);

-- Access tokens are stored as SHA-256 digests, never in clear.
CREATE TABLE access_tokens (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    created_ts INTEGER NOT NULL
);
CREATE INDEX access_tokens_device ON access_tokens (user_id, device_id);

CREATE TABLE rooms (
    room_id TEXT PRIMARY KEY,
    room_version TEXT NOT NULL,
    creator TEXT NOT NULL,
    is_public INTEGER NOT NULL DEFAULT 0,
    created_ts INTEGER NOT NULL
);

-- Every event, local or remote. `nid` is a compact numeric ID used by the state tables;
-- `stream_ordering` is the position in the event stream that sync tokens count.
CREATE TABLE events (
    nid INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    room_id TEXT NOT NULL,
    stream_ordering INTEGER NOT NULL UNIQUE,
    depth INTEGER NOT NULL,
    type TEXT NOT NULL,
    state_key TEXT,
    sender TEXT NOT NULL,
    origin_server_ts INTEGER NOT NULL,
    json TEXT NOT NULL,
    unsigned TEXT,
    redacted_by TEXT,
    -- The sending device and its transaction ID, for unsigned.transaction_id.
    sender_device TEXT,
    txn_id TEXT,
    state_group_before INTEGER,
    state_group_after INTEGER
);
CREATE INDEX events_room_stream ON events (room_id, stream_ordering);
CREATE INDEX events_room_topo ON events (room_id, depth, stream_ordering);

-- Transaction IDs of client sends, so that a retried PUT returns the same event.
CREATE TABLE event_txn_ids (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created_ts INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_id, txn_id)
) WITHOUT ROWID;

-- Interned (type, state_key) pairs used by the state tables.
CREATE TABLE state_keys (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    state_key TEXT NOT NULL,
    UNIQUE (type, state_key)
);

-- A state group is the full state of a room at some point. A group with a prev_group
-- stores only its differences from that group; one without stores every entry.
CREATE TABLE state_groups (
    id INTEGER PRIMARY KEY,
    prev_group INTEGER,
    chain_length INTEGER NOT NULL
);

-- event_nid is NULL where a delta removes an entry.
CREATE TABLE state_group_entries (
    group_id INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    event_nid INTEGER,
    PRIMARY KEY (group_id, key_id)
) WITHOUT ROWID;

CREATE TABLE room_current_state (
    room_id TEXT PRIMARY KEY,
    state_group INTEGER NOT NULL,
    max_depth INTEGER NOT NULL
);

CREATE TABLE forward_extremities (
    room_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (room_id, event_id)
) WITHOUT ROWID;

-- Current membership of every user known in every room, mirrored from room state.
CREATE TABLE room_memberships (
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    membership TEXT NOT NULL,
    event_id TEXT NOT NULL,
    stream_ordering INTEGER NOT NULL,
    forgotten INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;
CREATE INDEX room_memberships_user ON room_memberships (user_id, membership);

CREATE TABLE room_aliases (
    room_alias TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    creator TEXT NOT NULL
);
CREATE INDEX room_aliases_room ON room_aliases (room_id);

CREATE TABLE account_data (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    type TEXT NOT NULL,
    content TEXT NOT NULL,
    stream_id INTEGER NOT NULL,
    PRIMARY KEY (user_id, room_id, type)
) WITHOUT ROWID;
CREATE INDEX account_data_stream ON account_data (user_id, stream_id);

CREATE TABLE receipts (
    room_id TEXT NOT NULL,
    receipt_type TEXT NOT NULL,
    user_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    data TEXT NOT NULL,
    stream_id INTEGER NOT NULL,
    PRIMARY KEY (room_id, receipt_type, user_id, thread_id)
) WITHOUT ROWID;
CREATE INDEX receipts_stream ON receipts (room_id, stream_id);

CREATE TABLE filters (
    user_id TEXT NOT NULL,
    filter_id INTEGER NOT NULL,
    filter_json TEXT NOT NULL,
    PRIMARY KEY (user_id, filter_id)
) WITHOUT ROWID;

CREATE TABLE presence (
    user_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    status_msg TEXT,
    last_active_ts INTEGER NOT NULL,
    currently_active INTEGER NOT NULL DEFAULT 0,
    stream_id INTEGER NOT NULL
);
CREATE INDEX presence_stream ON presence (stream_id);

CREATE TABLE registration_token_uses (
    token TEXT NOT NULL,
    user_id TEXT NOT NULL,
    used_ts INTEGER NOT NULL
);
