/** Status of an app (docs/api.md § Status): every channel with its rollouts and the app's yanks. */
import { Hono } from 'hono';
import { requireRole } from '../../auth/authenticate.ts';
import { validate } from '../../http/validate.ts';
import { readChannelStates } from '../../storage/channel-state.ts';
import type { AppEnv } from '../../types.ts';
import { appParams, requireApp } from './common.ts';
import { channelView } from './views.ts';

export const status = new Hono<AppEnv>();

status.get('/apps/:app/status', requireRole('analyst'), validate('param', appParams), async (c) => {
  const { app } = c.req.valid('param');
  const record = await requireApp(c.env.DB, app);
  const states = await readChannelStates(c.env.DB, app);
  return c.json({ app, default_channel: record.default_channel, channels: states.map(channelView) });
});
