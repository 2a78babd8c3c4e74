-- Removing artifact uploads that no registered release references (docs/storage.md § Unregistered
-- uploads, src/worker/storage/uploads.ts): by a publisher (DELETE …/uploads/…) or, once they are older
-- than UNREGISTERED_UPLOAD_TTL_HOURS, by the scheduler.

-- One row per removal of one R2 object (`version` is R2's id of that one upload). The row is claimed
-- in D1, only where no release references the key, before the object is deleted from R2, and marked
-- done after. Release registration refuses, in its own batch, an artifact whose key has a removal in
-- progress or whose exact object was removed: either the release is registered first (and the claim
-- then finds it and removes nothing) or the removal is (and the registration fails, asking for a
-- re-upload). Done rows are kept a day, far longer than any registration takes, then pruned.
CREATE TABLE upload_removals (
  key TEXT NOT NULL,
  version TEXT NOT NULL,
  app TEXT NOT NULL,
  reason TEXT NOT NULL CHECK (reason IN ('removed', 'expired')),
  actor TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT,
  uploaded TEXT NOT NULL,
  claimed_at TEXT NOT NULL,
  done_at TEXT,
  PRIMARY KEY (key, version)
);
-- Claims left in progress by a request that died (finished by the scheduler), and done rows to prune.
CREATE INDEX upload_removals_by_state ON upload_removals (done_at, claimed_at);

-- Where the scheduler's walk over `artifacts/` in R2 stands: one page per run during a pass, then a
-- pause until `resume_at`. `after` is the last key looked at (NULL: the pass starts from the top).
CREATE TABLE upload_sweep (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  after TEXT,
  resume_at TEXT NOT NULL
);
