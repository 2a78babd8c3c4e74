-- Telemetry across D1 databases (DESIGN §11, docs/operations.md § Capacity): each app's events,
-- rollups, client rows and export records live in one D1 database, the binding named here: 'DB' (this
-- control database, as for every app made before this migration and in a deployment that binds no
-- TELEMETRY_* database) or a `TELEMETRY_*` binding of wrangler.toml. Chosen when the app is created
-- (POST /v1/admin/apps: named, or the bound telemetry database with the fewest apps) and never changed,
-- so binding another database moves no existing app. Every database gets this same migrations folder
-- (docs/decisions.md): in a telemetry database the control tables simply stay empty.
ALTER TABLE apps ADD COLUMN telemetry_db TEXT NOT NULL DEFAULT 'DB'
  CHECK (telemetry_db = 'DB' OR telemetry_db GLOB 'TELEMETRY_[A-Z0-9_]*');
