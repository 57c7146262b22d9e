-- Settings fixed when the database is created, such as the server name.

CREATE TABLE server_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
