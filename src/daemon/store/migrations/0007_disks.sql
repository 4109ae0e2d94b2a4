-- 0007: bring-your-own S3 disks (docs/api.md §3.9, docs/disks.md) and their mounts.
-- A disk's credentials are stored sealed only (AES-256-GCM under the operator's key file, the
-- disk id as associated data: src/daemon/disk/seal.h); nothing here is a secret in the clear.
-- A deleted disk keeps its row (deleted_at) for idempotent repeats and frees its name.
CREATE TABLE disks (
    id          TEXT PRIMARY KEY,                 -- disk_<ULID>
    user_id     TEXT NOT NULL REFERENCES users(id),
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind = 's3'),
    bucket      TEXT NOT NULL,
    endpoint    TEXT NOT NULL,                    -- http(s)://host[:port][/path], as given
    region      TEXT,                             -- NULL: not given (us-east-1 signs)
    path_style  INTEGER NOT NULL CHECK (path_style IN (0, 1)),
    sealed      BLOB NOT NULL,                    -- the credentials, sealed
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,                 -- last credential rotation (= created_at)
    deleted_at  INTEGER
) STRICT;
CREATE UNIQUE INDEX disks_live_name ON disks (user_id, name) WHERE deleted_at IS NULL;
CREATE INDEX disks_by_user ON disks (user_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

-- A mount of a disk in a sandbox, keyed by (sandbox, mount_path): one mount per path, the same
-- disk at several paths. Rows live until the sandbox is being destroyed: the trigger removes
-- them when it becomes destroying, destroyed or failed, in the same transaction as the state
-- change, so a disk can be deleted right after the sandboxes that held it were (its VM needs no
-- unmount: it is torn down).
CREATE TABLE sandbox_disks (
    sandbox_id  TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
    mount_path  TEXT NOT NULL,
    disk_id     TEXT NOT NULL REFERENCES disks(id),
    sub_path    TEXT,                             -- NULL: the whole bucket
    status      TEXT NOT NULL CHECK (status IN ('pending', 'mounted', 'error', 'unmounting')),
    error       TEXT,                             -- one line, when status is error
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (sandbox_id, mount_path)
) STRICT;
CREATE INDEX sandbox_disks_by_disk ON sandbox_disks (disk_id);

CREATE TRIGGER sandbox_disks_leave AFTER UPDATE OF status ON sandboxes
    WHEN NEW.status IN ('destroying', 'destroyed', 'failed')
BEGIN
    DELETE FROM sandbox_disks WHERE sandbox_id = NEW.id;
END;
