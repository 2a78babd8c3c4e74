-- Release health over millions of events (docs/analytics.md; measured in BENCHMARKS.md). Each
-- per-release query reads one index range and never the table: the columns it needs are in the
-- index, and the partial indexes hold only the event types the query looks at. The queries name
-- their index (INDEXED BY), so a plan cannot silently fall back to a scan and a sort.

-- Rollbacks and exposure: install_succeeded and rollback events in client order, so distinct
-- clients are counted from the index alone.
CREATE INDEX events_exposure ON events (app, channel, version, client_id, type, occurred_at)
  WHERE type IN ('install_succeeded', 'rollback');

-- Install duration percentiles: the samples in duration order, so the k-th smallest is a walk along
-- the index instead of a sort of every sample.
CREATE INDEX events_install_durations ON events (app, channel, version, duration_ms, occurred_at)
  WHERE type = 'install_succeeded' AND duration_ms IS NOT NULL;

-- Top error codes: failures already grouped by code.
CREATE INDEX events_errors ON events (app, channel, version, error_code, type, occurred_at)
  WHERE type IN ('install_failed', 'download_failed') AND error_code IS NOT NULL;

-- Adoption and active clients: clients by version, so counting the clients active in the last 24 h
-- per version reads the index in version order (no table rows, no sort).
CREATE INDEX clients_by_version ON clients (app, channel, version, last_seen);
