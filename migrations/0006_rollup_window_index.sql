-- Installs and failures count the whole hours of their window from the hourly rollups and only the
-- cut hours at either end from events (docs/analytics.md). This index holds the rollups by type and
-- hour with every column that count reads, so a window is one index range per type and never the
-- table, for one release or for every release of the channel.
CREATE INDEX event_rollups_window ON event_rollups_hourly (app, channel, type, hour, version, count);
