-- The platform's schema starts here; each part adds a migration of its own.
CREATE TABLE platform_info (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
