import { describe, expect, it } from 'vitest';
import { signWebhook } from '../../src/protocol/webhook.ts';

describe('signWebhook', () => {
  it('is HMAC-SHA256 keyed with the secret text over "<timestamp>.<body>", as docs/rollouts.md says', async () => {
    // Computed independently with node:crypto, as the receiver snippet in docs/rollouts.md does:
    // createHmac('sha256', 'updraft-test-secret').update('1795370400.{"text":"5% → 25%"}').digest('hex')
    const body = '{"text":"5% → 25%"}';
    expect(await signWebhook('updraft-test-secret', 1795370400, body)).toBe(
      'sha256=451133afcec8a6a6ffd362e7e22cbae6087c34cc4241de693d6046bd1ff613e2',
    );
    expect(await signWebhook('updraft-test-secret', 1795370401, body)).not.toBe(
      await signWebhook('updraft-test-secret', 1795370400, body),
    );
  });
});
