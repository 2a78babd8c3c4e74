/** Every scheduler action queues a webhook in its own batch, delivered in the same run. */
import { describe, expect, it } from 'vitest';
import { publish } from './support/fixtures.ts';
import { HOUR, MINUTE, plan, promotePlanned, runAt, seed, VERSION } from './support/scheduler-fixtures.ts';
import { appWithWebhook, deliveries } from './support/webhook-fixtures.ts';

describe('scheduler webhooks', () => {
  it('posts a Slack-compatible text for each action', async () => {
    const { app, inbox } = await appWithWebhook();
    await publish(app, '1.0.0');
    await publish(app, VERSION);
    const start = await promotePlanned(
      app,
      plan({ steps_bp: [500, 2500, 10_000], gates: { min_installs: 10 } }),
    );

    await seed(app, { installs: 20 }, start, start + 30 * MINUTE);
    await runAt(start + 30 * MINUTE); // a wait posts nothing
    expect(await deliveries(app)).toEqual([]);

    await runAt(start + HOUR);
    const queued = await deliveries(app);
    expect(queued).toEqual([expect.objectContaining({ event: 'rollout.advance', url: inbox.url })]);
    const posted = await inbox.received();
    expect(posted).toHaveLength(1);
    const body = JSON.parse(posted[0]?.body ?? '{}');
    expect(body).toMatchObject({
      event: 'rollout.advance',
      app,
      channel: 'stable',
      version: VERSION,
      from_bp: 500,
      to_bp: 2500,
      reason: 'baked 1h with 20 installs and no gate clearly breached',
      figures: { installs: 20, failures: 0 },
      text: `${app} ${VERSION} on stable: advanced 5% → 25% (20 installs, failure rate 0% (0–16%))`,
    });

    // The next step halts on failures: the text says why.
    await seed(app, { installs: 20, failures: 20 }, start + HOUR, start + 90 * MINUTE);
    await runAt(start + 90 * MINUTE);
    const texts = (await inbox.received()).map((r) => JSON.parse(r.body).text);
    expect(texts[1]).toMatch(
      new RegExp(
        `^${app} ${VERSION} on stable: halted at 25%: failure rate 50% \\(\\d+–\\d+%\\) is clearly over the 2% limit \\(20 installs\\)$`,
      ),
    );
  });
});
