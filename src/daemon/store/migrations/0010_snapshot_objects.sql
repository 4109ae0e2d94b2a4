-- 0010: snapshots on S3 (docs/snapshots.md "Snapshots on S3"). One row per snapshot directory
-- the host uploads (keyed by its local path, the same text as sandboxes.snapshot_dir). The
-- snapshot is durable in the object store only once durable_at is set, which happens after its
-- manifest object was written (the manifest is written last). Only a durable snapshot may be
-- evicted from the local cache (local = 0) or resumed from S3; a failed upload keeps
-- durable_at NULL, counts attempts and keeps the last error, and the local copy stays.
CREATE TABLE snapshot_objects (
    dir            TEXT PRIMARY KEY,
    manifest_key   TEXT NOT NULL,
    host_id        TEXT NOT NULL DEFAULT '',
    bytes          INTEGER NOT NULL DEFAULT 0,   -- plain bytes of the snapshot's data chunks
    uploaded_bytes INTEGER NOT NULL DEFAULT 0,   -- of those, sent or found present so far
    local_bytes    INTEGER NOT NULL DEFAULT 0,   -- what the local copy takes on disk
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    durable_at     INTEGER,                      -- NULL: not (yet) durable
    upload_ms      INTEGER NOT NULL DEFAULT 0,   -- pause to durable
    local          INTEGER NOT NULL DEFAULT 1,   -- 1: the directory is on this host's disk
    last_used_at   INTEGER NOT NULL              -- LRU order of the local cache
);
CREATE INDEX snapshot_objects_pending ON snapshot_objects (created_at) WHERE durable_at IS NULL;
