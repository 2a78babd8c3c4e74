-- Telemetry (DESIGN §5): raw events keyed by their client-made id, hourly rollups, and each client's
-- latest known state. The queue consumer writes all three in one batch per delivery; see
-- docs/analytics.md for the metric definitions over these tables.

-- One row per accepted event. `id` is the client-made UUID: a redelivered or duplicate event hits
-- the primary key and is ignored, so it is counted once.
CREATE TABLE events (
  id TEXT PRIMARY KEY,
  app TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('check', 'download_started', 'download_succeeded', 'download_failed',
                                     'install_succeeded', 'install_failed', 'rollback')),
  client_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  from_version TEXT,
  to_version TEXT,
  -- The release the event is about: to_version for download_* and install_*, from_version for check
  -- and rollback. Rollups and metrics group by it.
  version TEXT NOT NULL,
  platform TEXT NOT NULL,
  arch TEXT NOT NULL,
  os_version TEXT,
  error_code TEXT,
  error_message TEXT,
  duration_ms INTEGER,
  -- Normalised RFC 3339 UTC with milliseconds (2026-11-21T18:00:00.000Z), so text order is time order.
  occurred_at TEXT NOT NULL,
  received_at TEXT NOT NULL
);
CREATE INDEX events_by_release ON events (app, channel, version, type, occurred_at);
CREATE INDEX events_by_time ON events (occurred_at);
CREATE INDEX events_by_client ON events (app, client_id, occurred_at);

-- Per-hour counts, written in the same batch as the event rows (only for events not seen before).
-- error_code is '' when the event has none, so it can be part of the key.
CREATE TABLE event_rollups_hourly (
  app TEXT NOT NULL,
  channel TEXT NOT NULL,
  version TEXT NOT NULL,
  type TEXT NOT NULL,
  platform TEXT NOT NULL,
  error_code TEXT NOT NULL DEFAULT '',
  hour TEXT NOT NULL, -- 2026-11-21T18:00:00Z
  count INTEGER NOT NULL,
  PRIMARY KEY (app, channel, version, type, platform, error_code, hour)
);

-- Each client's latest known version (from its newest event by occurred_at): install_succeeded and
-- rollback move it to to_version; every other event reports from_version, the installed one.
-- Adoption and active-client counts read this table.
CREATE TABLE clients (
  app TEXT NOT NULL,
  client_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  version TEXT NOT NULL,
  platform TEXT NOT NULL,
  arch TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  PRIMARY KEY (app, client_id)
);
CREATE INDEX clients_active ON clients (app, channel, last_seen);

-- Export progress of the retention job: raw events older than the retention are written to R2 as
-- gzip NDJSON partitions and only then deleted; one row per exported (app, day) partition file.
CREATE TABLE telemetry_exports (
  app TEXT NOT NULL,
  day TEXT NOT NULL, -- YYYY-MM-DD
  part INTEGER NOT NULL,
  r2_key TEXT NOT NULL,
  events INTEGER NOT NULL,
  exported_at TEXT NOT NULL,
  PRIMARY KEY (app, day, part)
);
