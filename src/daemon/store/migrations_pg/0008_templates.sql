-- 0008 (PostgreSQL): templates and their build logs; see migrations/0008_templates.sql.
CREATE TABLE templates (
    id           TEXT PRIMARY KEY,                -- tpl_<ULID>
    user_id      TEXT NOT NULL REFERENCES users(id),
    name         TEXT NOT NULL,
    base         TEXT NOT NULL,                   -- FROM after alias resolution
    dockerfile   TEXT NOT NULL,
    context      TEXT,                            -- ctx_<sha256 hex> or NULL (no COPY/ADD)
    options      TEXT NOT NULL DEFAULT '{}',      -- JSON: start_cmd, ready, no_cache
    status       TEXT NOT NULL CHECK (status IN ('pending', 'building', 'ready', 'failed',
                                                 'cancelled')),
    attempt      BIGINT NOT NULL DEFAULT 0,       -- the attempt running or last run; 0 = none yet
    error        TEXT,                            -- one line: why the last attempt failed
    top_layer    TEXT,                            -- cache key of the chain's top layer when ready
    layers       TEXT NOT NULL DEFAULT '[]',      -- JSON array of every layer key kept
    ext4_size_bytes BIGINT NOT NULL DEFAULT 0,    -- bytes used in the file system when ready
    host_id      TEXT,                            -- the host that builds or built it
    created_at   BIGINT NOT NULL,
    started_at   BIGINT,                          -- the current attempt's start
    built_at     BIGINT,                          -- when it became ready
    deleted_at   BIGINT
);
CREATE UNIQUE INDEX templates_live_name ON templates (user_id, name) WHERE deleted_at IS NULL;
CREATE INDEX templates_by_user ON templates (user_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX templates_queue ON templates (status, created_at)
    WHERE status IN ('pending', 'building');

CREATE TABLE template_logs (
    template_id  TEXT NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    attempt      BIGINT NOT NULL CHECK (attempt >= 1),
    seq          BIGINT NOT NULL,                 -- 0, 1, 2 … within the attempt
    ts           BIGINT NOT NULL,                 -- unix ms
    level        TEXT NOT NULL CHECK (level IN ('info', 'error')),
    line         TEXT NOT NULL,
    PRIMARY KEY (template_id, attempt, seq)
);
