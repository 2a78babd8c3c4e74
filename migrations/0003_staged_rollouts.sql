-- Staged rollouts (DESIGN §6, docs/rollouts.md): a plan per rollout, the scheduler's last judgement,
-- app-level defaults and webhook settings, and an outbox of webhook deliveries.

-- rollouts.plan_json (from 0001) holds the plan: {"steps_bp": [...], "bake_seconds": n, "gates": {...}}.
-- step: index into steps_bp of the current step; step_started_at: when its bake clock (re)started.
ALTER TABLE rollouts ADD COLUMN step INTEGER;
ALTER TABLE rollouts ADD COLUMN step_started_at TEXT;
-- The scheduler's last judgement: {"at", "action", "reason", "figures"}; rewritten each run without
-- bumping the channel revision (it changes nothing clients see).
ALTER TABLE rollouts ADD COLUMN judgement_json TEXT;

-- The plan used by `promote --plan default`, and the webhook every scheduler action is posted to.
ALTER TABLE apps ADD COLUMN default_plan_json TEXT;
-- HMAC-SHA256 key for X-Updraft-Signature, random, shown once when the webhook is set.
ALTER TABLE apps ADD COLUMN webhook_secret TEXT;

-- Outbox: a delivery is written in the same D1 batch as the action it reports, then attempted at
-- once and retried with backoff by later scheduler runs. Failures never block or undo a decision.
CREATE TABLE webhook_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  app TEXT NOT NULL,
  url TEXT NOT NULL,
  event TEXT NOT NULL, -- rollout.advance, rollout.complete, rollout.halt
  body TEXT NOT NULL, -- the exact JSON posted (signed as sent)
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  last_error TEXT,
  last_status INTEGER,
  delivered_at TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (delivered_at, next_attempt_at);
