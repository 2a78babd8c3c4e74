import { app } from './app.ts';
import { consumeEvents } from './queue.ts';
import { runScheduled } from './scheduled.ts';

export default {
  fetch: app.fetch,
  queue(batch, env) {
    return consumeEvents(batch, env);
  },
  scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduled(env, new Date(controller.scheduledTime)));
  },
} satisfies ExportedHandler<Env>;
