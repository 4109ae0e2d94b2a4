-- 0007 (PostgreSQL): bring-your-own S3 disks and their mounts; see migrations/0007_disks.sql.
CREATE TABLE disks (
    id          TEXT PRIMARY KEY,                 -- disk_<ULID>
    user_id     TEXT NOT NULL REFERENCES users(id),
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind = 's3'),
    bucket      TEXT NOT NULL,
    endpoint    TEXT NOT NULL,                    -- http(s)://host[:port][/path], as given
    region      TEXT,                             -- NULL: not given (us-east-1 signs)
    path_style  INTEGER NOT NULL CHECK (path_style IN (0, 1)),
    sealed      BYTEA NOT NULL,                   -- the credentials, sealed
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,                  -- last credential rotation (= created_at)
    deleted_at  BIGINT
);
CREATE UNIQUE INDEX disks_live_name ON disks (user_id, name) WHERE deleted_at IS NULL;
CREATE INDEX disks_by_user ON disks (user_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE sandbox_disks (
    sandbox_id  TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
    mount_path  TEXT NOT NULL,
    disk_id     TEXT NOT NULL REFERENCES disks(id),
    sub_path    TEXT,                             -- NULL: the whole bucket
    status      TEXT NOT NULL CHECK (status IN ('pending', 'mounted', 'error', 'unmounting')),
    error       TEXT,                             -- one line, when status is error
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (sandbox_id, mount_path)
);
CREATE INDEX sandbox_disks_by_disk ON sandbox_disks (disk_id);

CREATE FUNCTION sandbox_disks_leave() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sandbox_disks WHERE sandbox_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER sandbox_disks_leave AFTER UPDATE OF status ON sandboxes
    FOR EACH ROW WHEN (NEW.status IN ('destroying', 'destroyed', 'failed'))
    EXECUTE FUNCTION sandbox_disks_leave();
