-- Node agents, where servers are placed, and idle timeouts in seconds.
INSERT INTO id_counters (name, value) VALUES ('nodes', 0);

CREATE TABLE nodes (
    id               BIGINT PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    token_hash       TEXT NOT NULL,             -- SHA-256 hex of the agent's token (gsp_nt_...)
    address          TEXT NOT NULL DEFAULT '',  -- where the platform reaches the agent
    node_token       TEXT NOT NULL DEFAULT '',  -- what the platform shows the agent
    runtime          TEXT NOT NULL DEFAULT '',  -- 'process' or 'docker'
    cpu_total_millis BIGINT NOT NULL DEFAULT 0,
    memory_total_mib BIGINT NOT NULL DEFAULT 0,
    free_ports       BIGINT NOT NULL DEFAULT 0,
    last_seen_ms     BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL
);

CREATE TABLE placements (
    server_id BIGINT PRIMARY KEY,
    node_id   BIGINT NOT NULL,
    endpoints TEXT NOT NULL DEFAULT '{}'        -- JSON: {"telnet":"0.0.0.0:4000", ...}
);
CREATE INDEX placements_by_node ON placements (node_id);

ALTER TABLE templates ADD COLUMN idle_seconds BIGINT;
