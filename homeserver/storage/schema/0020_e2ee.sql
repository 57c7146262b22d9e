-- End-to-end encryption: device keys, one-time and fallback keys, cross-signing keys
-- and signatures, the device-list and to-device streams, and server-side key backups.
-- Every key is stored as the JSON the client uploaded; the server only checks signatures.

-- The identity keys of each device, as uploaded to /keys/upload, without signatures
-- made later by cross-signing keys (those live in e2e_cross_signing_signatures).
CREATE TABLE e2e_device_keys (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    key_json TEXT NOT NULL,
    uploaded_ts INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_id)
) WITHOUT ROWID;

-- One-time keys; a claim deletes the row it hands out.
CREATE TABLE e2e_one_time_keys (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_id TEXT NOT NULL,
    key_json TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id, algorithm, key_id)
) WITHOUT ROWID;

-- At most one fallback key per device and algorithm; `used` is set once it was claimed.
CREATE TABLE e2e_fallback_keys (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_id TEXT NOT NULL,
    key_json TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, device_id, algorithm)
) WITHOUT ROWID;

-- The current master, self-signing and user-signing key of each user.
CREATE TABLE e2e_cross_signing_keys (
    user_id TEXT NOT NULL,
    key_type TEXT NOT NULL,
    public_key TEXT NOT NULL,
    key_json TEXT NOT NULL,
    uploaded_ts INTEGER NOT NULL,
    PRIMARY KEY (user_id, key_type)
) WITHOUT ROWID;

-- Signatures uploaded through /keys/signatures/upload. The target is a device (target_key_id
-- is the device ID) or a master key (target_key_id is its unpadded base64 public key).
CREATE TABLE e2e_cross_signing_signatures (
    signer_user_id TEXT NOT NULL,
    signer_key_id TEXT NOT NULL,
    target_user_id TEXT NOT NULL,
    target_key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (target_user_id, target_key_id, signer_user_id, signer_key_id)
) WITHOUT ROWID;
CREATE INDEX e2e_cross_signing_signatures_signer
    ON e2e_cross_signing_signatures (signer_user_id, signer_key_id);

-- The device_lists stream: one row each time a user's devices or keys changed.
CREATE TABLE device_list_changes (
    stream_id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    changed_ts INTEGER NOT NULL
);
CREATE INDEX device_list_changes_user ON device_list_changes (user_id, stream_id);

-- The to_device stream: messages waiting for a local device. A row is deleted once the
-- device has synced with a token past its stream_id.
CREATE TABLE device_inbox (
    stream_id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    type TEXT NOT NULL,
    content TEXT NOT NULL,
    created_ts INTEGER NOT NULL
);
CREATE INDEX device_inbox_device ON device_inbox (user_id, device_id, stream_id);

-- Messages for users on other servers, kept for a federation sender.
CREATE TABLE device_federation_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    destination TEXT NOT NULL,
    sender TEXT NOT NULL,
    type TEXT NOT NULL,
    message_id TEXT NOT NULL,
    messages TEXT NOT NULL,
    created_ts INTEGER NOT NULL
);
CREATE INDEX device_federation_outbox_destination
    ON device_federation_outbox (destination, id);

-- Transaction IDs of /sendToDevice, per sending device, so that a retry sends nothing.
CREATE TABLE to_device_txn_ids (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    created_ts INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_id, txn_id)
) WITHOUT ROWID;

-- Server-side key backup versions. Deleted versions keep their row (deleted = 1) so that
-- version numbers are never reused and a repeated DELETE succeeds.
CREATE TABLE e2e_room_keys_versions (
    user_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    algorithm TEXT NOT NULL,
    auth_data TEXT NOT NULL,
    etag INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, version)
) WITHOUT ROWID;

-- The backed-up Megolm sessions; session_data is encrypted by the client.
CREATE TABLE e2e_room_keys (
    user_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    room_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    first_message_index INTEGER NOT NULL,
    forwarded_count INTEGER NOT NULL,
    is_verified INTEGER NOT NULL,
    session_data TEXT NOT NULL,
    PRIMARY KEY (user_id, version, room_id, session_id)
) WITHOUT ROWID;
