-- Tokens limited to apps (DESIGN §4, issue 15): `apps_json` is the JSON array of the app names a
-- token may act on, sorted and without duplicates (e.g. '["demo"]'); NULL, as for every token made
-- before this migration, is a token for every app and for the deployment as a whole. A limited token
-- gets 403 `app_forbidden` on any other app and 403 `scope_forbidden` on deployment-wide routes
-- (creating apps, tokens, keys; export and import): src/worker/auth.ts.
ALTER TABLE tokens ADD COLUMN apps_json TEXT
  CHECK (apps_json IS NULL OR (json_valid(apps_json) AND json_type(apps_json) = 'array'
                               AND json_array_length(apps_json) >= 1));
