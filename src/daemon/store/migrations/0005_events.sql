-- 0005: a sandbox's event log (docs/api.md, "Events"): what happened to it and who asked
-- (created, paused, resumed, forked, destroyed, errors, the guest's own requests). seq counts
-- per sandbox from 1; the store keeps the newest STORE_EVENTS_KEEP of each, and the rows go with
-- their sandbox (the purge deletes it, the foreign key cascades).
CREATE TABLE sandbox_events (
    sandbox_id  TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (sandbox_id, seq)
) WITHOUT ROWID;
