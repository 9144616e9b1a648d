-- The stores of a GSP world: accounts (shared by every world in the
-- database), characters and world saves (per world, keyed by world name).
--
-- Portable SQL: this file runs unchanged on SQLite and PostgreSQL. Hence
-- BIGINT/TEXT/DOUBLE PRECISION only, ids handed out by the `id_counters`
-- table inside the creating transaction (no AUTOINCREMENT/SERIAL), and JSON
-- stored as TEXT.

-- Next ids, advanced with `UPDATE ... RETURNING` as the first statement of
-- the transaction that uses them (which also takes the write lock early).
CREATE TABLE id_counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO id_counters (name, value) VALUES ('accounts', 0);

-- Accounts. `name` as created, `name_key` its lowercase form: names are
-- unique in any capitalisation. `password_hash` is an argon2id PHC string.
CREATE TABLE accounts (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX accounts_name_key ON accounts (name_key);

-- Resume tokens: only their SHA-256 (hex) is stored.
CREATE TABLE resume_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX resume_tokens_account ON resume_tokens (account_id);

-- Characters, one per account and world. No foreign key on purpose: a
-- character row can never make a world save fail.
CREATE TABLE characters (
    world TEXT NOT NULL,
    account_id BIGINT NOT NULL,
    pos_x DOUBLE PRECISION,
    pos_y DOUBLE PRECISION,
    pos_z DOUBLE PRECISION,
    room TEXT,
    attributes TEXT NOT NULL,
    saved_ms BIGINT NOT NULL,
    PRIMARY KEY (world, account_id)
);

-- One row per world: the last committed save generation.
CREATE TABLE world_meta (
    world TEXT PRIMARY KEY,
    generation BIGINT NOT NULL,
    tick BIGINT NOT NULL,
    saved_ms BIGINT NOT NULL
);

-- Persistent entities. Floats are DOUBLE PRECISION (an f32 round-trips
-- exactly); `body_kind` NULL means no body.
CREATE TABLE world_entities (
    world TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    kind BIGINT NOT NULL,
    pos_x DOUBLE PRECISION,
    pos_y DOUBLE PRECISION,
    pos_z DOUBLE PRECISION,
    rot_x DOUBLE PRECISION,
    rot_y DOUBLE PRECISION,
    rot_z DOUBLE PRECISION,
    rot_w DOUBLE PRECISION,
    vel_x DOUBLE PRECISION,
    vel_y DOUBLE PRECISION,
    vel_z DOUBLE PRECISION,
    body_kind BIGINT,
    shape_0 DOUBLE PRECISION,
    shape_1 DOUBLE PRECISION,
    shape_2 DOUBLE PRECISION,
    shape_3 DOUBLE PRECISION,
    density DOUBLE PRECISION,
    friction DOUBLE PRECISION,
    restitution DOUBLE PRECISION,
    attributes TEXT NOT NULL,
    PRIMARY KEY (world, entity_key)
);

-- Each mod's `gsp.storage`, as JSON.
CREATE TABLE world_mod_storage (
    world TEXT NOT NULL,
    mod_name TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (world, mod_name)
);
