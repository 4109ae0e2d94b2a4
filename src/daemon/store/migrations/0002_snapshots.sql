-- 0002: where a sandbox's snapshots live (host-side, never shown to API clients).
-- snapshot_dir: the snapshot a paused (or error) sandbox resumes from.
-- base_dir: the snapshot its disk layer is a qcow2 child of, and whose RAM file a restored VM
-- maps copy-on-write; NULL when its disk sits on the rootfs image alone (a cold boot).
-- A snapshot directory is kept while any live row names it in either column
-- (docs/snapshots.md, "Lifetime").
ALTER TABLE sandboxes ADD COLUMN snapshot_dir TEXT;
ALTER TABLE sandboxes ADD COLUMN base_dir TEXT;
CREATE INDEX sandboxes_snapshot_dir ON sandboxes (snapshot_dir) WHERE snapshot_dir IS NOT NULL;
CREATE INDEX sandboxes_base_dir ON sandboxes (base_dir) WHERE base_dir IS NOT NULL;
