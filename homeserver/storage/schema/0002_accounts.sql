-- Account details beyond the core tables: user types and custom profile fields.

-- The `user_type` of shared-secret registration (for example "bot"); NULL for people.
ALTER TABLE users ADD COLUMN user_type TEXT;

-- Profile fields other than displayname and avatar_url (which live in `users`), each
-- value stored as JSON text. Spec: Client-Server API, "Profiles" (since v1.16).
CREATE TABLE profile_fields (
    user_id TEXT NOT NULL,
    field TEXT NOT NULL,
    value_json TEXT NOT NULL,
    PRIMARY KEY (user_id, field)
) WITHOUT ROWID;

CREATE INDEX registration_token_uses_token ON registration_token_uses (token);

-- Login accepts user IDs in any case, so `lower(user_id)` lookups need an index.
CREATE INDEX users_lower_id ON users (lower(user_id));
