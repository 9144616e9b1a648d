-- Game templates and the servers made from them, with every state change
-- (billing reads these transitions).
INSERT INTO id_counters (name, value) VALUES ('templates', 0), ('servers', 0);

CREATE TABLE templates (
    id             BIGINT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    runtime        TEXT NOT NULL,        -- 'image' (docker) or 'command' (process)
    launch         TEXT NOT NULL,        -- the image, or the command line
    ports          TEXT NOT NULL,        -- JSON: [{"name":"telnet","protocol":"tcp"}, ...]
    cpu_millis     BIGINT NOT NULL,      -- 1000 = one core
    memory_mib     BIGINT NOT NULL,
    price_per_hour BIGINT NOT NULL,      -- milli-credits
    idle_minutes   BIGINT NOT NULL,      -- hibernate after this long without players
    created_at     BIGINT NOT NULL
);

CREATE TABLE servers (
    id          BIGINT PRIMARY KEY,
    owner_id    BIGINT NOT NULL,
    template_id BIGINT NOT NULL,
    name        TEXT NOT NULL,
    state       TEXT NOT NULL,           -- 'running', 'hibernated', 'deleted'
    created_at  BIGINT NOT NULL,
    deleted_at  BIGINT
);
CREATE INDEX servers_by_owner ON servers (owner_id);

CREATE TABLE server_events (
    server_id BIGINT NOT NULL,
    seq       BIGINT NOT NULL,
    state     TEXT NOT NULL,
    at        BIGINT NOT NULL,
    cause     TEXT NOT NULL,             -- who or what: 'user:3', 'idle', 'billing'
    PRIMARY KEY (server_id, seq)
);
