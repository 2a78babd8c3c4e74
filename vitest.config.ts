import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

// A fresh online key per run: tests read it from env and publish its public half in the keys document.
function onlineKeyJwk(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  return JSON.stringify(privateKey.export({ format: 'jwk' }));
}

/**
 * End-to-end tests with the real clients of DESIGN §9 and the packed packages (the `clients` project):
 * electron-updater's own code, Tauri's signer with minisign, `npm run pack`'s tarballs on Node 20,
 * Bun and Deno, the CLI publishing for those updaters and rotating keys, and an Expo app's staged
 * rollout, halt and yank read with Expo's own libraries; and the two longest CLI runs against
 * `wrangler dev` (export/import between two servers, channels and rules), which kept `npm test` past
 * ten minutes.
 */
const CLIENTS_TESTS = [
  'test/e2e/electron-updater.e2e.test.ts',
  'test/e2e/tauri-signature.e2e.test.ts',
  'test/e2e/packages.e2e.test.ts',
  'test/e2e/publish-updaters.e2e.test.ts',
  'test/e2e/keys-rotate.e2e.test.ts',
  'test/e2e/expo.e2e.test.ts',
  'test/e2e/backup.e2e.test.ts',
  'test/e2e/channels-rules.e2e.test.ts',
];
/**
 * Fleets of simulated SDK clients against `wrangler dev` over many rounds (`updraft simulate`'s
 * machinery): minutes of traffic, run with the soak by CI after `npm test`, which they would push
 * past ten minutes.
 */
const FLEET_TESTS = ['test/e2e/fleet.e2e.test.ts'];

export default defineConfig(async () => {
  const migrations = await readD1Migrations('./migrations');
  const secrets = { UPDRAFT_ADMIN_TOKEN: 'test-bootstrap-admin-token', UPDRAFT_ONLINE_KEY: onlineKeyJwk() };
  // wrangler.toml declares these as required secrets; say they exist so the pool does not warn per file.
  Object.assign(process.env, secrets);
  return {
    test: {
      projects: [
        {
          plugins: [
            cloudflareTest(({ inject }) => ({
              wrangler: { configPath: './wrangler.toml' },
              miniflare: {
                // A second telemetry database, for tests only (test/worker/telemetry-databases.integration.test.ts,
                // whose apps name it); new apps are pinned to DB, as wrangler.toml's (none bound) would be.
                d1Databases: { TELEMETRY_2: 'updraft-telemetry-2' },
                bindings: {
                  NEW_APP_TELEMETRY_DB: 'DB',
                  TEST_MIGRATIONS: migrations,
                  // test/worker/analytics-sql.integration.test.ts runs the SQL blocks of docs/analytics.md.
                  ANALYTICS_DOC: readFileSync('docs/analytics.md', 'utf8'),
                  // The real HTTP server webhooks are posted to (test/support/webhook-receiver.ts).
                  WEBHOOK_RECEIVER: inject('webhookReceiver'),
                  ...secrets,
                },
              },
            })),
          ],
          test: {
            name: 'workers',
            include: ['test/worker/**/*.test.ts', 'test/protocol/**/*.test.ts', 'test/security/**/*.test.ts'],
            setupFiles: ['test/worker/support/apply-migrations.ts'],
            globalSetup: ['test/support/webhook-receiver.ts'],
            // Tests that wait for the queue consumer allow it up to 20 s (vi.waitFor); the default 5 s
            // per test cut them short on a busy machine (CI at load 5 timed out adapters-gates).
            testTimeout: 30_000,
          },
        },
        {
          test: {
            name: 'node',
            include: [
              'test/scripts/**/*.test.ts',
              'test/e2e/**/*.test.ts',
              'test/dashboard/**/*.test.ts',
              'test/client/**/*.test.ts',
            ],
            exclude: [...CLIENTS_TESTS, ...FLEET_TESTS],
            environment: 'node',
            testTimeout: 120_000,
            hookTimeout: 120_000,
          },
        },
        {
          // The real updaters and the packed packages against `wrangler dev`: `npm run test:clients`, run
          // by CI after `npm test` (it needs Debian's minisign, and keeps `npm test` under ten minutes).
          test: {
            name: 'clients',
            include: CLIENTS_TESTS,
            environment: 'node',
            testTimeout: 120_000,
            hookTimeout: 300_000,
          },
        },
        {
          // The dashboard and the packed SDK in Chromium against `wrangler dev`: `npm run test:browser`, not
          // part of `npm test`.
          test: {
            name: 'browser',
            include: ['test/browser/**/*.test.ts'],
            environment: 'node',
            testTimeout: 120_000,
            hookTimeout: 300_000,
          },
        },
        {
          // 30 s of mixed traffic against `wrangler dev` (test/soak/), `npm run dev` itself with its
          // every-minute cron (test/soak/npm-run-dev.e2e.test.ts) and the simulated fleets:
          // `npm run test:soak`, run by CI after `npm test` rather than inside it.
          test: {
            name: 'soak',
            include: ['test/soak/**/*.test.ts', ...FLEET_TESTS],
            environment: 'node',
            testTimeout: 180_000,
            hookTimeout: 180_000,
          },
        },
      ],
    },
  };
});
