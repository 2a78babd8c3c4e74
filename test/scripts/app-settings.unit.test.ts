import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { describeSettings } from '../../scripts/commands/app-settings.ts';
import { signWebhook } from '../../src/protocol/webhook.ts';

describe('the webhook secret hint of app settings', () => {
  it('tells the receiver to MAC "<timestamp>.<body>", which is what a delivery signs', async () => {
    const secret = 'n3W-secret_0123456789abcdefghijklmnopqrstuv';
    const text = describeSettings('demo', {
      webhook_url: 'https://hooks.example.com/updraft',
      default_plan: null,
      webhook_secret: secret,
    });
    const hint = /\(sha256=<hex HMAC-SHA256 of "(.+?)">/.exec(text)?.[1];
    expect(hint).toBe('<X-Updraft-Timestamp>.<body>');
    // A receiver that follows the hint literally gets the delivery's signature.
    const timestamp = 1795370400;
    const body = '{"event":"rollout.halt"}';
    const followed = hint?.replace('<X-Updraft-Timestamp>', String(timestamp)).replace('<body>', body) ?? '';
    const mac = createHmac('sha256', secret).update(followed).digest('hex');
    expect(`sha256=${mac}`).toBe(await signWebhook(secret, timestamp, body));
  });
});
