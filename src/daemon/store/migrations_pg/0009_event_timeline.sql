-- 0009 (PostgreSQL): the per-step timeline of an event; see migrations/0009_event_timeline.sql.
ALTER TABLE sandbox_events ADD COLUMN timeline TEXT NOT NULL DEFAULT '';
