-- 0010: the host registry (docs/scale-out.md "Hosts"): every hearthd that runs VMs reports
-- itself here at start and then every heartbeat; control planes read it for GET /v1/hosts, for
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
