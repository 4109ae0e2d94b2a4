-- 0001_initial (PostgreSQL): users, API keys, sandboxes and their child lists. The same tables,
-- columns, constraints and indexes as migrations/0001_initial.sql in PostgreSQL's dialect:
-- BIGINT for SQLite's 64-bit INTEGER, BYTEA for BLOB, DOUBLE PRECISION for REAL; flags stay
-- integers checked IN (0, 1) so both backends read and write them alike.
-- Times are BIGINT ms since the Unix epoch (UTC); NULL means "never".

CREATE TABLE users (
    id          TEXT PRIMARY KEY,                 -- the user name (docs/api.md §5.1)
    created_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,               -- key_<ULID>
    user_id       TEXT NOT NULL REFERENCES users(id),
    hash          BYTEA NOT NULL UNIQUE CHECK (octet_length(hash) = 32),  -- SHA-256 of the secret
    prefix        TEXT NOT NULL,                  -- first characters of the secret, for display
    label         TEXT NOT NULL DEFAULT '',
    admin         INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);
CREATE INDEX api_keys_by_user ON api_keys (user_id, created_at DESC, id DESC);

CREATE TABLE sandboxes (
    id                        TEXT PRIMARY KEY,   -- sb-<ULID>
    user_id                   TEXT NOT NULL REFERENCES users(id),
    name                      TEXT NOT NULL,
    hostname                  TEXT NOT NULL,      -- derived from name; unique among live rows
    status                    TEXT NOT NULL CHECK (status IN ('creating', 'running', 'pausing',
                                  'paused', 'resuming', 'forking', 'error', 'destroying',
                                  'destroyed', 'failed')),
    shape                     TEXT NOT NULL,
    vcpu                      BIGINT NOT NULL,
    mem_mib                   BIGINT NOT NULL,
    disk_mib                  BIGINT NOT NULL,
    rootfs                    TEXT NOT NULL,
    region                    TEXT NOT NULL,
    ip                        TEXT,               -- NULL when no address is held
    created_at                BIGINT NOT NULL,
    running_at                BIGINT,
    paused_at                 BIGINT,
    last_resumed_at           BIGINT,
    destroyed_at              BIGINT,
    spawn_ms                  DOUBLE PRECISION,
    ingress_enabled           INTEGER NOT NULL DEFAULT 0 CHECK (ingress_enabled IN (0, 1)),
    created_by                TEXT NOT NULL REFERENCES api_keys(id),
    forked_from               TEXT,               -- no foreign key: the source may be purged
    auto_pause_after_seconds  BIGINT,             -- NULL when auto-pause is off
    start_paused              INTEGER NOT NULL DEFAULT 0 CHECK (start_paused IN (0, 1)),
    bw_quota_bytes            BIGINT NOT NULL DEFAULT -1,  -- -1 = unmetered
    bw_used_bytes             BIGINT NOT NULL DEFAULT 0,
    bw_ingress_bytes          BIGINT NOT NULL DEFAULT 0,
    bw_capped                 INTEGER NOT NULL DEFAULT 0 CHECK (bw_capped IN (0, 1)),
    -- host-side fields, never shown to API clients
    host_id                   TEXT,
    run_dir                   TEXT,
    qemu_pid                  BIGINT,
    qemu_start_time           BIGINT,             -- /proc/<pid>/stat starttime, against pid reuse
    -- durable intent: the state an operation in progress is driving towards
    target_state              TEXT CHECK (target_state IN ('creating', 'running', 'pausing',
                                  'paused', 'resuming', 'forking', 'error', 'destroying',
                                  'destroyed', 'failed')),
    intent_started_at         BIGINT,
    updated_at                BIGINT NOT NULL
);

-- name uniqueness per user, by derived hostname, among non-terminal sandboxes only
CREATE UNIQUE INDEX sandboxes_live_hostname ON sandboxes (user_id, hostname)
    WHERE status NOT IN ('destroyed', 'failed');
-- an address belongs to one sandbox at a time
CREATE UNIQUE INDEX sandboxes_ip ON sandboxes (ip) WHERE ip IS NOT NULL;
-- list order (newest first, id breaks ties), with and without a status filter
CREATE INDEX sandboxes_by_user ON sandboxes (user_id, created_at DESC, id DESC);
CREATE INDEX sandboxes_by_user_status ON sandboxes (user_id, status, created_at DESC, id DESC);
-- what start-up reconciliation walks
CREATE INDEX sandboxes_unsettled ON sandboxes (created_at, id)
    WHERE target_state IS NOT NULL OR status NOT IN ('destroyed', 'failed');

CREATE TABLE sandbox_envs (
    sandbox_id  TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
    key         TEXT COLLATE "C" NOT NULL,        -- listed sorted bytewise, as in SQLite
    value       BYTEA NOT NULL,                   -- secret: never listed; the daemon fetches it
    PRIMARY KEY (sandbox_id, key)
);

CREATE TABLE sandbox_egress (
    sandbox_id  TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
    pos         BIGINT NOT NULL,
    rule        TEXT NOT NULL,
    PRIMARY KEY (sandbox_id, pos)
);

CREATE TABLE sandbox_ssh_keys (
    sandbox_id  TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
    pos         BIGINT NOT NULL,
    identity    TEXT NOT NULL,                    -- "<type> <base64>": what de-duplication compares
    canonical   TEXT NOT NULL,                    -- "<type> <base64>[ <comment>]"
    PRIMARY KEY (sandbox_id, pos),
    UNIQUE (sandbox_id, identity)
);
