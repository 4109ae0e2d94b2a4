-- 0009: the per-step timeline of the operation an event settles (create, resume, fork, pause;
-- docs/performance.md "Where the time goes"), as "step=ms ... total=ms"; '' for other events.
ALTER TABLE sandbox_events ADD COLUMN timeline TEXT NOT NULL DEFAULT '';
