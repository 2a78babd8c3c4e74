-- Which updater an event or a client row comes from (DESIGN §9): `sdk` for Updraft's own SDK (every
-- event before this migration), or the adapter that observed it: electron, tauri, sparkle, squirrel,
-- expo. Observed events (adapter checks, downloads of adapter URLs) are made by the Worker itself
-- (src/worker/adapters/observe.ts) and stored through the same consumer as the SDK's.
ALTER TABLE events ADD COLUMN kind TEXT NOT NULL DEFAULT 'sdk';
ALTER TABLE clients ADD COLUMN kind TEXT NOT NULL DEFAULT 'sdk';
ALTER TABLE event_batch ADD COLUMN kind TEXT NOT NULL DEFAULT 'sdk';
