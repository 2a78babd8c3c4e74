-- Control-plane schema: D1 is the source of truth (DESIGN §1). See docs/storage.md for example rows.
-- Times are RFC 3339 UTC strings; booleans are 0/1; *_json columns hold JSON text.

CREATE TABLE apps (
  name TEXT PRIMARY KEY,
  default_channel TEXT NOT NULL,
  rules_json TEXT NOT NULL DEFAULT '[]',
  -- Bumped by every app-level change (rules, channel list); the optimistic-concurrency token of the app.
  revision INTEGER NOT NULL DEFAULT 1 CHECK (revision >= 1),
  webhook_url TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE channels (
  app TEXT NOT NULL REFERENCES apps (name),
  name TEXT NOT NULL,
  public INTEGER NOT NULL CHECK (public IN (0, 1)),
  -- The revision of the channel snapshot; set together with issued_at/expires in the same statement,
  -- so the signed snapshot of a revision is a pure function of the rows at that revision.
  revision INTEGER NOT NULL CHECK (revision >= 1),
  issued_at TEXT NOT NULL,
  expires TEXT NOT NULL,
  -- The highest revision known to be written to KV; lower than revision while a projection is pending.
  projected_revision INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  PRIMARY KEY (app, name)
);
CREATE INDEX channels_by_expiry ON channels (expires);

CREATE TABLE releases (
  app TEXT NOT NULL REFERENCES apps (name),
  version TEXT NOT NULL,
  -- Sorts like semver precedence under plain string comparison (see src/worker/storage/version-key.ts).
  version_key TEXT NOT NULL,
  manifest_jws TEXT NOT NULL,
  release_sha256 TEXT NOT NULL,
  published_at TEXT NOT NULL,
  mandatory INTEGER NOT NULL CHECK (mandatory IN (0, 1)),
  critical INTEGER NOT NULL CHECK (critical IN (0, 1)),
  requires TEXT NOT NULL,
  notes TEXT NOT NULL,
  artifacts_json TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (app, version)
);
CREATE INDEX releases_by_version_key ON releases (app, version_key);

CREATE TABLE rollouts (
  app TEXT NOT NULL,
  channel TEXT NOT NULL,
  version TEXT NOT NULL,
  percent_bp INTEGER NOT NULL CHECK (percent_bp BETWEEN 0 AND 10000),
  salt TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('active', 'paused', 'halted', 'complete')),
  plan_json TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (app, channel, version),
  FOREIGN KEY (app, channel) REFERENCES channels (app, name),
  FOREIGN KEY (app, version) REFERENCES releases (app, version)
);

CREATE TABLE yanks (
  app TEXT NOT NULL,
  version TEXT NOT NULL,
  yank_jws TEXT NOT NULL,
  yank_sha256 TEXT NOT NULL,
  rollback_to TEXT,
  reason TEXT NOT NULL,
  yanked_at TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (app, version),
  FOREIGN KEY (app, version) REFERENCES releases (app, version)
);

CREATE TABLE keysets (
  version INTEGER PRIMARY KEY CHECK (version >= 1),
  jws TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'publisher', 'analyst')),
  token_sha256 TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT
);

CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  app TEXT,
  target TEXT,
  before_json TEXT,
  after_json TEXT
);
CREATE INDEX audit_by_app ON audit (app, id);

-- Always empty. A batch that must fail when an optimistic UPDATE matched no row follows it with
-- `INSERT INTO revision_guard (ok) SELECT 0 WHERE changes() = 0`: the CHECK fails and D1 rolls the
-- whole batch back (src/worker/storage/revisions.ts).
CREATE TABLE revision_guard (
  ok INTEGER NOT NULL CONSTRAINT revision_guard_failed CHECK (ok = 1)
);
