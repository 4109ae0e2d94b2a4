-- 0003: private networks (docs/api.md §3.8) and their members.
-- subnet: the network's /24 inside the host's networks pool ("10.89.3.0/24"); a deleted
-- network keeps its row (deleted_at) for idempotent repeats, and frees its name and subnet.
-- A member row lives while the sandbox is non-terminal: the trigger below removes it when the
-- sandbox becomes destroyed or failed, in the same transaction as the state change.
CREATE TABLE networks (
    id          TEXT PRIMARY KEY,                 -- net-<ULID>
    user_id     TEXT NOT NULL REFERENCES users(id),
    name        TEXT NOT NULL,
    subnet      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    deleted_at  INTEGER
) STRICT;
CREATE UNIQUE INDEX networks_live_name ON networks (user_id, name) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX networks_live_subnet ON networks (subnet) WHERE deleted_at IS NULL;
CREATE INDEX networks_by_user ON networks (user_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;

CREATE TABLE network_members (
    network_id  TEXT NOT NULL REFERENCES networks(id),
    sandbox_id  TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
    ip          TEXT NOT NULL,                    -- the sandbox's address on this network
    joined_at   INTEGER NOT NULL,
    PRIMARY KEY (network_id, sandbox_id)
) STRICT;
CREATE UNIQUE INDEX network_members_ip ON network_members (ip);
CREATE INDEX network_members_by_sandbox ON network_members (sandbox_id);

CREATE TRIGGER network_members_leave AFTER UPDATE OF status ON sandboxes
    WHEN NEW.status IN ('destroyed', 'failed')
BEGIN
    DELETE FROM network_members WHERE sandbox_id = NEW.id;
END;
