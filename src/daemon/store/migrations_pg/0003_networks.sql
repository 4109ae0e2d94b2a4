-- 0003 (PostgreSQL): private networks and their members; see migrations/0003_networks.sql.
-- The trigger that removes a member when its sandbox becomes destroyed or failed is a plpgsql
-- function run in the same transaction as the state change, as SQLite's trigger is.
CREATE TABLE networks (
    id          TEXT PRIMARY KEY,                 -- net-<ULID>
    user_id     TEXT NOT NULL REFERENCES users(id),
    name        TEXT NOT NULL,
    subnet      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    deleted_at  BIGINT
);
CREATE UNIQUE INDEX networks_live_name ON networks (user_id, name) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX networks_live_subnet ON networks (subnet) WHERE deleted_at IS NULL;
CREATE INDEX networks_by_user ON networks (user_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;

CREATE TABLE network_members (
    network_id  TEXT NOT NULL REFERENCES networks(id),
    sandbox_id  TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
    ip          TEXT NOT NULL,                    -- the sandbox's address on this network
    joined_at   BIGINT NOT NULL,
    PRIMARY KEY (network_id, sandbox_id)
);
CREATE UNIQUE INDEX network_members_ip ON network_members (ip);
CREATE INDEX network_members_by_sandbox ON network_members (sandbox_id);

CREATE FUNCTION network_members_leave() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM network_members WHERE sandbox_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER network_members_leave AFTER UPDATE OF status ON sandboxes
    FOR EACH ROW WHEN (NEW.status IN ('destroyed', 'failed'))
    EXECUTE FUNCTION network_members_leave();
