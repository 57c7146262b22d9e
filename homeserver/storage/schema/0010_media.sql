-- The media repository. The bytes live in the media store, named by their SHA-256
-- digest; these tables hold the metadata and count the rows that reference each blob.

-- One row per distinct content. `ref_count` counts the rows of `media` and
-- `media_thumbnails` whose sha256 is this digest; the blob is deleted when it reaches 0.
CREATE TABLE media_content (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    ref_count INTEGER NOT NULL,
    created_ts INTEGER NOT NULL
);

-- One row per mxc:// URI: local media (server_name is this server) or a cached copy of
-- remote media. `uploaded_ts` is NULL while an asynchronous upload is pending, and
-- `unused_expires_at` is when such a pending ID expires.
CREATE TABLE media (
    server_name TEXT NOT NULL,
    media_id TEXT NOT NULL,
    user_id TEXT,
    created_ts INTEGER NOT NULL,
    unused_expires_at INTEGER,
    uploaded_ts INTEGER,
    content_type TEXT,
    upload_name TEXT,
    size INTEGER,
    sha256 TEXT REFERENCES media_content (sha256),
    last_access_ts INTEGER,
    quarantined_by TEXT,
    PRIMARY KEY (server_name, media_id)
);
CREATE INDEX media_by_user ON media (user_id, created_ts);
CREATE INDEX media_pending ON media (unused_expires_at) WHERE uploaded_ts IS NULL;
CREATE INDEX media_by_sha256 ON media (sha256);

-- Generated thumbnails, keyed by the size and method they were made for.
CREATE TABLE media_thumbnails (
    server_name TEXT NOT NULL,
    media_id TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    method TEXT NOT NULL,
    animated INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    actual_width INTEGER NOT NULL,
    actual_height INTEGER NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL REFERENCES media_content (sha256),
    created_ts INTEGER NOT NULL,
    PRIMARY KEY (server_name, media_id, width, height, method, animated)
);

-- Cached URL previews, as the JSON object returned to clients.
CREATE TABLE url_previews (
    url TEXT PRIMARY KEY,
    fetched_ts INTEGER NOT NULL,
    expires_ts INTEGER NOT NULL,
    response TEXT NOT NULL
);
CREATE INDEX url_previews_expiry ON url_previews (expires_ts);
