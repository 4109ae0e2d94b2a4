-- 0010 (PostgreSQL): snapshots on S3; see migrations/0010_snapshot_objects.sql.
CREATE TABLE snapshot_objects (
    dir            TEXT PRIMARY KEY,
    manifest_key   TEXT NOT NULL,
    host_id        TEXT NOT NULL DEFAULT '',
    bytes          BIGINT NOT NULL DEFAULT 0,
    uploaded_bytes BIGINT NOT NULL DEFAULT 0,
    local_bytes    BIGINT NOT NULL DEFAULT 0,
    attempts       BIGINT NOT NULL DEFAULT 0,
    last_error     TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    durable_at     BIGINT,
    upload_ms      BIGINT NOT NULL DEFAULT 0,
    local          BOOLEAN NOT NULL DEFAULT TRUE,
    last_used_at   BIGINT NOT NULL
);
CREATE INDEX snapshot_objects_pending ON snapshot_objects (created_at) WHERE durable_at IS NULL;
