-- 0008: templates, custom images built from a Dockerfile in microVMs (docs/api.md §3.10,
-- docs/templates.md). A template is a chain of disk layers (files under <data_dir>/templates,
-- named by their cache keys) plus the golden snapshot creates restore; this table holds what the
-- API shows, the build queue and what the layer collector must keep. A deleted template keeps
-- its row (deleted_at) for idempotent repeats, for sandboxes created from it (their rootfs names
-- it) and frees its name.
CREATE TABLE templates (
    id           TEXT PRIMARY KEY,                -- tpl_<ULID>
    user_id      TEXT NOT NULL REFERENCES users(id),
    name         TEXT NOT NULL,
    base         TEXT NOT NULL,                   -- FROM after alias resolution: a catalog name,
                                                  -- tpl_<ULID>, or oci:<registry>/<repo>:<tag>
    dockerfile   TEXT NOT NULL,
    context      TEXT,                            -- ctx_<sha256 hex> or NULL (no COPY/ADD)
    options      TEXT NOT NULL DEFAULT '{}',      -- JSON: start_cmd, ready, no_cache
    status       TEXT NOT NULL CHECK (status IN ('pending', 'building', 'ready', 'failed',
                                                 'cancelled')),
    attempt      INTEGER NOT NULL DEFAULT 0,      -- the attempt running or last run; 0 = none yet
    error        TEXT,                            -- one line: why the last attempt failed
    top_layer    TEXT,                            -- cache key of the chain's top layer when ready
    layers       TEXT NOT NULL DEFAULT '[]',      -- JSON array of every layer key the template's
                                                  -- builds made or reused (the collector keeps them)
    ext4_size_bytes INTEGER NOT NULL DEFAULT 0,   -- bytes used in the file system when ready
    host_id      TEXT,                            -- the host that builds or built it
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,                         -- the current attempt's start
    built_at     INTEGER,                         -- when it became ready
    deleted_at   INTEGER
) STRICT;
CREATE UNIQUE INDEX templates_live_name ON templates (user_id, name) WHERE deleted_at IS NULL;
CREATE INDEX templates_by_user ON templates (user_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX templates_queue ON templates (status, created_at)
    WHERE status IN ('pending', 'building');

-- The build log, one row per line, per attempt (attempts count from 1).
CREATE TABLE template_logs (
    template_id  TEXT NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL CHECK (attempt >= 1),
    seq          INTEGER NOT NULL,                -- 0, 1, 2 … within the attempt
    ts           INTEGER NOT NULL,                -- unix ms
    level        TEXT NOT NULL CHECK (level IN ('info', 'error')),
    line         TEXT NOT NULL,
    PRIMARY KEY (template_id, attempt, seq)
) STRICT;
