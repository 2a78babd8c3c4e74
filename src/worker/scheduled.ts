/** The cron handler (every minute). Owned by the control plane. */
export async function runScheduled(env: Env, now: Date): Promise<void> {
  void env;
  void now;
}
