-- The consumer's scratch space (src/worker/storage/telemetry.ts): a delivery's events are bound to
-- D1 once, copied here, and the rollups, client rows and raw events are all written from here in the
-- same transaction, which empties it again. Outside a consumer's batch it is always empty.
-- (Binding the rows to each of those statements instead sent them to D1 four times over.)
CREATE TABLE event_batch (
  seq INTEGER PRIMARY KEY, -- position in the delivery: later wins a tie on occurred_at
  id TEXT NOT NULL,
  app TEXT NOT NULL,
  type TEXT NOT NULL,
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
  installed TEXT, -- the version the client runs after the event; NULL when the event does not say
  hour TEXT NOT NULL, -- the rollup bucket, 2026-11-21T18:00:00Z
  fresh INTEGER NOT NULL -- 1 when no stored event has this id yet
);
