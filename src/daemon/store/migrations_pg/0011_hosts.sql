-- 0011 (PostgreSQL): the host registry and the work queue; see migrations/0011_hosts.sql.
CREATE TABLE hosts (
    id               TEXT PRIMARY KEY,
    region           TEXT NOT NULL,
    labels           TEXT NOT NULL DEFAULT '',
    address          TEXT NOT NULL DEFAULT '',
    version          TEXT NOT NULL DEFAULT '',
    rootfses         TEXT NOT NULL DEFAULT '',
    mem_mib          BIGINT NOT NULL,
    free_mib         BIGINT NOT NULL,
    vcpus            BIGINT NOT NULL,
    committed_vcpus  BIGINT NOT NULL,
    vm_count         BIGINT NOT NULL,
    drain            INTEGER NOT NULL DEFAULT 0 CHECK (drain IN (0, 1)),
    started_at       BIGINT NOT NULL,
    heartbeat_at     BIGINT NOT NULL
);

CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    host_id      TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('create')),
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    user_id      TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    admin        INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    request      TEXT NOT NULL,
    status_code  INTEGER NOT NULL DEFAULT 0,
    result       TEXT NOT NULL DEFAULT '',
    sandbox_id   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    claimed_at   BIGINT,
    finished_at  BIGINT
);
CREATE INDEX jobs_queued ON jobs (host_id, created_at) WHERE state = 'queued';
CREATE INDEX jobs_open ON jobs (host_id) WHERE state IN ('queued', 'running');
