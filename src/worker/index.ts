import { app } from './app.ts';
import { dispatchCheck } from './routes/check.ts';
import { runScheduled } from './scheduler/scheduled.ts';
import { consumeEvents } from './telemetry/queue.ts';

export default {
  // The check is answered before the router; everything else, and any check the dispatch leaves, by it.
  fetch(request, env, ctx) {
    return dispatchCheck(request, env) ?? app.fetch(request, env, ctx);
  },
  queue(batch, env) {
    return consumeEvents(batch, env);
  },
  scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduled(env, new Date(controller.scheduledTime)));
  },
} satisfies ExportedHandler<Env>;
