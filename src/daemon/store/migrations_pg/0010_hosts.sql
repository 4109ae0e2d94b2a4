-- 0010 (PostgreSQL): the host registry; see migrations/0010_hosts.sql.
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
