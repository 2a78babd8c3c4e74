import { applyD1Migrations, type D1Migration } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { telemetryDatabases } from '../../../src/worker/storage/telemetry-dbs.ts';

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** docs/analytics.md, whose SQL blocks a test runs against the API's numbers. */
      ANALYTICS_DOC: string;
      /** The second telemetry database vitest.config.ts binds for tests (wrangler.toml binds none). */
      TELEMETRY_2: D1Database;
    }
  }
}

// Setup files may run more than once; applyD1Migrations skips what is already applied. Every telemetry
// database gets the same migrations as DB (docs/decisions.md): vitest.config.ts binds TELEMETRY_2.
for (const { db } of telemetryDatabases(env)) await applyD1Migrations(db, env.TEST_MIGRATIONS);
