-- 0011: the host registry (docs/scale-out.md "Hosts") and the work queue: every hearthd that
-- runs VMs reports itself here at start and then every heartbeat; control planes read it for GET /v1/hosts, for
-- placement and to notice a host that stopped reporting. `drain` is the operator's flag and
-- survives reports; everything else is the host's own report.
CREATE TABLE hosts (
    id               TEXT PRIMARY KEY,               -- host_id (operator-assigned, unique)
    region           TEXT NOT NULL,
    labels           TEXT NOT NULL DEFAULT '',       -- "k=v,k2=v2", sorted by key
    address          TEXT NOT NULL DEFAULT '',       -- where other hosts reach it; '' = none
    version          TEXT NOT NULL DEFAULT '',
    rootfses         TEXT NOT NULL DEFAULT '',       -- catalog images present, comma-separated
    mem_mib          INTEGER NOT NULL,               -- guest memory it offers in all
    free_mib         INTEGER NOT NULL,               -- guest memory still free at the report
    vcpus            INTEGER NOT NULL,               -- CPUs it offers guests
    committed_vcpus  INTEGER NOT NULL,               -- vCPUs of the VMs it runs
    vm_count         INTEGER NOT NULL,
    drain            INTEGER NOT NULL DEFAULT 0 CHECK (drain IN (0, 1)),
    started_at       INTEGER NOT NULL,               -- its current process's start
    heartbeat_at     INTEGER NOT NULL                -- its last report
) STRICT;

-- the work queue (docs/scale-out.md "Work queue"): what a control plane asks a host to do
-- (today: create a sandbox placed there). A host claims its queued jobs oldest first, runs
-- them, and writes the result; the asking control plane reads it. A job names its host, so a
-- host claims only its own; a dead host's unfinished jobs are failed by the others.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,                -- job_<ULID>
    host_id      TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('create')),
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    user_id      TEXT NOT NULL,                   -- the caller the job acts for
    key_id       TEXT NOT NULL,
    admin        INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    request      TEXT NOT NULL,                   -- the operation's input (a JSON body)
    status_code  INTEGER NOT NULL DEFAULT 0,      -- the result: an HTTP status
    result       TEXT NOT NULL DEFAULT '',        -- and its JSON (JSend data)
    sandbox_id   TEXT NOT NULL DEFAULT '',        -- the sandbox it made, when it made one
    created_at   INTEGER NOT NULL,
    claimed_at   INTEGER,
    finished_at  INTEGER
) STRICT;
CREATE INDEX jobs_queued ON jobs (host_id, created_at) WHERE state = 'queued';
CREATE INDEX jobs_open ON jobs (host_id) WHERE state IN ('queued', 'running');
