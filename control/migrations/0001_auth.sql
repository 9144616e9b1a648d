-- Users, their sessions, API keys and second factors.
-- Ids come from id_counters (UPDATE ... RETURNING inside the inserting
-- transaction), the same on SQLite and PostgreSQL.
CREATE TABLE id_counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO id_counters (name, value) VALUES ('users', 0), ('api_keys', 0);

CREATE TABLE users (
    id            BIGINT PRIMARY KEY,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL UNIQUE,   -- lowercase, for lookups
    password_hash TEXT,                   -- argon2id PHC; NULL: OIDC only
    role          TEXT NOT NULL,          -- 'admin' or 'customer'
    totp_secret   TEXT,                   -- base32; NULL while TOTP is off
    totp_last_step BIGINT,                -- the last time step accepted (no replays)
    created_at    BIGINT NOT NULL
);

CREATE TABLE recovery_codes (
    user_id   BIGINT NOT NULL,
    code_hash TEXT NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,      -- SHA-256 of the cookie's token
    user_id       BIGINT NOT NULL,
    csrf          TEXT NOT NULL,
    second_factor BIGINT NOT NULL,       -- 1: passed (or not needed); 0: owed (BIGINT: sqlx Any cannot read SQLite booleans)
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE api_keys (
    id           BIGINT PRIMARY KEY,
    user_id      BIGINT NOT NULL,
    name         TEXT NOT NULL,
    shown_prefix TEXT NOT NULL,          -- the first characters, to recognise it
    key_hash     TEXT NOT NULL UNIQUE,   -- SHA-256 of the whole key
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
CREATE INDEX api_keys_by_user ON api_keys (user_id);
