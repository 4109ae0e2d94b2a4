-- 0002 (PostgreSQL): where a sandbox's snapshots live; see migrations/0002_snapshots.sql.
ALTER TABLE sandboxes ADD COLUMN snapshot_dir TEXT;
ALTER TABLE sandboxes ADD COLUMN base_dir TEXT;
CREATE INDEX sandboxes_snapshot_dir ON sandboxes (snapshot_dir) WHERE snapshot_dir IS NOT NULL;
CREATE INDEX sandboxes_base_dir ON sandboxes (base_dir) WHERE base_dir IS NOT NULL;
