-- Release health reads clients, not every event (docs/analytics.md; BENCHMARKS.md § Release health).
--
-- Exposure kept per client instead of counted from events. A release's exposure is the distinct clients known to
-- have run it: an install_succeeded to it before the window's end, or a rollback from it in the
-- window. Counting them from events walked every install of the release (a third of a release's
-- health over a million events); this table holds one row per client and release, written by the
-- consumer with the events (src/worker/storage/telemetry-sql.ts), so the count walks clients, not
-- events, and the rollbacks have an index of their own.
--
-- installed_at: the earliest install_succeeded to the release that telemetry holds (NULL when only a
-- rollback from it is known); last_at: the newest install_succeeded or rollback, by which retention
-- drops the row once no event about it is left (src/worker/storage/telemetry-export.ts).
CREATE TABLE release_clients (
  app TEXT NOT NULL,
  channel TEXT NOT NULL,
  version TEXT NOT NULL,
  client_id TEXT NOT NULL,
  installed_at TEXT,
  last_at TEXT NOT NULL,
  PRIMARY KEY (app, channel, version, client_id)
) WITHOUT ROWID;
CREATE INDEX release_clients_by_last ON release_clients (last_at);

INSERT INTO release_clients (app, channel, version, client_id, installed_at, last_at)
SELECT app, channel, version, client_id,
  min(CASE WHEN type = 'install_succeeded' THEN occurred_at END), max(occurred_at)
FROM events
WHERE type IN ('install_succeeded', 'rollback')
GROUP BY app, channel, version, client_id;

-- Rollbacks from a release in client order with their times: distinct clients in a window, and
-- whether a client rolled back in it, from the index alone. Replaces events_exposure, which held
-- every install as well.
CREATE INDEX events_rollbacks ON events (app, channel, version, client_id, occurred_at)
  WHERE type = 'rollback';
DROP INDEX events_exposure;

-- Crash-free users: the session reports that counted a crash (a few in a hundred), in client order,
-- so the distinct clients with a crashed session are read without walking every report. The
-- sessions themselves are summed from the hourly rollups (docs/analytics.md § Sessions).
CREATE INDEX events_crashed_sessions ON events (app, channel, version, client_id, occurred_at)
  WHERE type = 'session' AND sessions_crashed > 0;

-- Install durations: how many of each hour's events carry a duration (the percentiles' samples),
-- kept with the hour's count by the consumer, so a window's number of samples is read per hour
-- instead of walked (docs/analytics.md § duration). Filled here from the events still stored; the
-- hours whose events were exported before are never read from it (the query reads those from events).
ALTER TABLE event_rollups_hourly ADD COLUMN timed INTEGER NOT NULL DEFAULT 0;
UPDATE event_rollups_hourly AS r SET timed = t.n
FROM (
  SELECT app, channel, version, type, platform, coalesce(error_code, '') AS error_code,
    substr(occurred_at, 1, 13) || ':00:00Z' AS hour, count(*) AS n
  FROM events
  WHERE duration_ms IS NOT NULL
  GROUP BY 1, 2, 3, 4, 5, 6, 7
) AS t
WHERE r.app = t.app AND r.channel = t.channel AND r.version = t.version AND r.type = t.type
  AND r.platform = t.platform AND r.error_code = t.error_code AND r.hour = t.hour;
