-- Session telemetry (DESIGN §5, issue 14): a `session` event is one client's hourly count of the
-- sessions it ran on one version, by how they ended. It is an event like the others, keyed by its
-- client-made id (the SDK derives it from client, version and hour), so the consumer's set-based
-- batch path (event_batch, migrations/0005) stores a duplicated or replayed report once and moves the
-- rollups only for fresh rows. The four counts are columns of `events` (NULL for other types).
--
-- `events.type` has a CHECK listing the types, and SQLite cannot alter a CHECK: the table is rebuilt
-- with the same columns in the same order (0002, then 0008's kind) plus the four counts, and its
-- indexes (0002, 0004) are made again under their names, which the analytics queries name.
CREATE TABLE events_0010 (
  id TEXT PRIMARY KEY,
  app TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('check', 'download_started', 'download_succeeded', 'download_failed',
                                     'install_succeeded', 'install_failed', 'rollback', 'session')),
  client_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  from_version TEXT,
  to_version TEXT,
  version TEXT NOT NULL,
  platform TEXT NOT NULL,
  arch TEXT NOT NULL,
  os_version TEXT,
  error_code TEXT,
  error_message TEXT,
  duration_ms INTEGER,
  occurred_at TEXT NOT NULL,
  received_at TEXT NOT NULL,
  kind TEXT NOT NULL DEFAULT 'sdk',
  -- Only for type = 'session': sessions of the hour that ended ok, errored, crashed, abnormal.
  sessions_ok INTEGER,
  sessions_errored INTEGER,
  sessions_crashed INTEGER,
  sessions_abnormal INTEGER
);
INSERT INTO events_0010 (id, app, type, client_id, channel, from_version, to_version, version, platform,
  arch, os_version, error_code, error_message, duration_ms, occurred_at, received_at, kind)
SELECT id, app, type, client_id, channel, from_version, to_version, version, platform,
  arch, os_version, error_code, error_message, duration_ms, occurred_at, received_at, kind
FROM events;
DROP TABLE events;
ALTER TABLE events_0010 RENAME TO events;

CREATE INDEX events_by_release ON events (app, channel, version, type, occurred_at);
CREATE INDEX events_by_time ON events (occurred_at);
CREATE INDEX events_by_client ON events (app, client_id, occurred_at);
CREATE INDEX events_exposure ON events (app, channel, version, client_id, type, occurred_at)
  WHERE type IN ('install_succeeded', 'rollback');
CREATE INDEX events_install_durations ON events (app, channel, version, duration_ms, occurred_at)
  WHERE type = 'install_succeeded' AND duration_ms IS NOT NULL;
CREATE INDEX events_errors ON events (app, channel, version, error_code, type, occurred_at)
  WHERE type IN ('install_failed', 'download_failed') AND error_code IS NOT NULL;

-- Crash-free sessions and users of a release: its session reports in client order with every count,
-- so distinct clients and the sums are read from the index alone (docs/analytics.md, health-sessions).
CREATE INDEX events_sessions ON events (app, channel, version, client_id, occurred_at, sessions_ok,
  sessions_errored, sessions_crashed, sessions_abnormal)
  WHERE type = 'session';

ALTER TABLE event_batch ADD COLUMN sessions_ok INTEGER;
ALTER TABLE event_batch ADD COLUMN sessions_errored INTEGER;
ALTER TABLE event_batch ADD COLUMN sessions_crashed INTEGER;
ALTER TABLE event_batch ADD COLUMN sessions_abnormal INTEGER;

-- The hourly rollups keep session counts too (0 for other types). For `session` rows, `count` is the
-- number of reports, i.e. the distinct clients of that hour (one report per client, version and
-- hour), and `crashed_clients` those of them with a crashed session. Distinct clients over a window
-- of several hours cannot be summed from hours; crash-free users reads the raw reports.
ALTER TABLE event_rollups_hourly ADD COLUMN sessions_ok INTEGER NOT NULL DEFAULT 0;
ALTER TABLE event_rollups_hourly ADD COLUMN sessions_errored INTEGER NOT NULL DEFAULT 0;
ALTER TABLE event_rollups_hourly ADD COLUMN sessions_crashed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE event_rollups_hourly ADD COLUMN sessions_abnormal INTEGER NOT NULL DEFAULT 0;
ALTER TABLE event_rollups_hourly ADD COLUMN crashed_clients INTEGER NOT NULL DEFAULT 0;
