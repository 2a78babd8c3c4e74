-- Standby yanks (DESIGN §6, docs/rollouts.md § Automatic rollback): a yank statement signed with the
-- release key at promote time for a rollout whose plan says on_breach: rollback. Sealed: never
-- served, in no snapshot, no R2 object. The scheduler publishes it (copies it into `yanks`, in the
-- same batch that halts the rollout) when a gate breach is clear; the rollout completing, a promote
-- that replaces the plan, or a manual yank of the version deletes it.
-- One per rollout (app, channel, version): each channel's plan carries its own.
CREATE TABLE standby_yanks (
  app TEXT NOT NULL,
  channel TEXT NOT NULL,
  version TEXT NOT NULL,
  yank_jws TEXT NOT NULL,
  yank_sha256 TEXT NOT NULL,
  rollback_to TEXT, -- null: the yank only withdraws the release (no baseline to go back to)
  created_at TEXT NOT NULL,
  PRIMARY KEY (app, channel, version)
);
