-- 0006: delegated sandbox access tokens (docs/api.md §3.13): at most one per sandbox, stored as
-- the SHA-256 of the whole `hst_` secret, never the secret. Revoking deletes the row. A token
-- dies with its sandbox: the trigger deletes it in the same transaction that moves the sandbox
-- to destroying or destroyed, and the purge's delete cascades. Forks never copy it.
CREATE TABLE sandbox_tokens (
    sandbox_id  TEXT PRIMARY KEY REFERENCES sandboxes(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,                  -- the sandbox's owner, whom the token acts for
    hash        BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
    hint        TEXT NOT NULL,                  -- "…" and the last 4 characters, for display
    created_at  INTEGER NOT NULL,
    rotated_at  INTEGER                         -- NULL until the first rotate
) STRICT;

CREATE TRIGGER sandbox_tokens_die AFTER UPDATE OF status ON sandboxes
    WHEN NEW.status IN ('destroying', 'destroyed')
BEGIN
    DELETE FROM sandbox_tokens WHERE sandbox_id = NEW.id;
END;
