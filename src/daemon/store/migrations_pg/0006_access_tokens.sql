-- 0006 (PostgreSQL): delegated sandbox access tokens; see migrations/0006_access_tokens.sql.
CREATE TABLE sandbox_tokens (
    sandbox_id  TEXT PRIMARY KEY REFERENCES sandboxes(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,                  -- the sandbox's owner, whom the token acts for
    hash        BYTEA NOT NULL UNIQUE CHECK (octet_length(hash) = 32),
    hint        TEXT NOT NULL,                  -- "…" and the last 4 characters, for display
    created_at  BIGINT NOT NULL,
    rotated_at  BIGINT                          -- NULL until the first rotate
);

CREATE FUNCTION sandbox_tokens_die() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sandbox_tokens WHERE sandbox_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER sandbox_tokens_die AFTER UPDATE OF status ON sandboxes
    FOR EACH ROW WHEN (NEW.status IN ('destroying', 'destroyed'))
    EXECUTE FUNCTION sandbox_tokens_die();
