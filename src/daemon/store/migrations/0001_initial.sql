-- 0001_initial: users, API keys, sandboxes and their child lists.
-- Times are INTEGER ms since the Unix epoch (UTC); NULL means "never".

CREATE TABLE users (
    id          TEXT PRIMARY KEY,                 -- the user name (docs/api.md §5.1)
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,               -- key_<ULID>
    user_id       TEXT NOT NULL REFERENCES users(id),
    hash          BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),  -- SHA-256 of the hk_ secret
    prefix        TEXT NOT NULL,                  -- first characters of the secret, for display
    label         TEXT NOT NULL DEFAULT '',
    admin         INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
) STRICT;
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
    vcpu                      INTEGER NOT NULL,
    mem_mib                   INTEGER NOT NULL,
    disk_mib                  INTEGER NOT NULL,
    rootfs                    TEXT NOT NULL,
    region                    TEXT NOT NULL,
    ip                        TEXT,               -- NULL when no address is held
    created_at                INTEGER NOT NULL,
    running_at                INTEGER,
    paused_at                 INTEGER,
    last_resumed_at           INTEGER,
    destroyed_at              INTEGER,
    spawn_ms                  REAL,
    ingress_enabled           INTEGER NOT NULL DEFAULT 0 CHECK (ingress_enabled IN (0, 1)),
    created_by                TEXT NOT NULL REFERENCES api_keys(id),
    forked_from               TEXT,               -- no foreign key: the source may be purged
    auto_pause_after_seconds  INTEGER,            -- NULL when auto-pause is off
    start_paused              INTEGER NOT NULL DEFAULT 0 CHECK (start_paused IN (0, 1)),
    bw_quota_bytes            INTEGER NOT NULL DEFAULT -1,  -- -1 = unmetered
    bw_used_bytes             INTEGER NOT NULL DEFAULT 0,
    bw_ingress_bytes          INTEGER NOT NULL DEFAULT 0,
    bw_capped                 INTEGER NOT NULL DEFAULT 0 CHECK (bw_capped IN (0, 1)),
    -- host-side fields, never shown to API clients
    host_id                   TEXT,
    run_dir                   TEXT,
    qemu_pid                  INTEGER,
    qemu_start_time           INTEGER,            -- /proc/<pid>/stat starttime, against pid reuse
    -- durable intent: the state an operation in progress is driving towards
    target_state              TEXT CHECK (target_state IN ('creating', 'running', 'pausing',
                                  'paused', 'resuming', 'forking', 'error', 'destroying',
                                  'destroyed', 'failed')),
    intent_started_at         INTEGER,
    updated_at                INTEGER NOT NULL
) STRICT;

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
    key         TEXT NOT NULL,
    value       BLOB NOT NULL,                    -- secret: never listed; the daemon fetches it
    PRIMARY KEY (sandbox_id, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE sandbox_egress (
    sandbox_id  TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
    pos         INTEGER NOT NULL,
    rule        TEXT NOT NULL,
    PRIMARY KEY (sandbox_id, pos)
) STRICT, WITHOUT ROWID;

CREATE TABLE sandbox_ssh_keys (
    sandbox_id  TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
    pos         INTEGER NOT NULL,
    identity    TEXT NOT NULL,                    -- "<type> <base64>": what de-duplication compares
    canonical   TEXT NOT NULL,                    -- "<type> <base64>[ <comment>]"
    PRIMARY KEY (sandbox_id, pos),
    UNIQUE (sandbox_id, identity)
) STRICT, WITHOUT ROWID;
