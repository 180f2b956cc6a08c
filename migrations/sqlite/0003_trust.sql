-- Trust: who may do what (tokens, stored only as SHA-256 hashes), an audit
-- trail that cannot be rewritten (append-only, hash-chained), and the
-- stored answers that make a retried POST safe (idempotency keys).

CREATE TABLE tokens (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  name       TEXT NOT NULL UNIQUE
             CHECK (length(name) BETWEEN 1 AND 64 AND name NOT GLOB '*[^A-Za-z0-9._-]*'),
  role       TEXT NOT NULL CHECK ((role = 'reader' OR role = 'editor' OR role = 'admin')),
  hash       TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
  created_at TEXT NOT NULL,
  revoked_at TEXT
);

-- One row per created, changed or deleted record, written in the same
-- transaction as the change. hash = SHA-256 of the previous row's hash and
-- this row's canonical JSON, so an edit anywhere breaks the chain from there.
CREATE TABLE audit (
  seq        INTEGER PRIMARY KEY CHECK (seq >= 1),
  at         TEXT NOT NULL,
  actor      TEXT NOT NULL,
  action     TEXT NOT NULL CHECK ((action = 'create' OR action = 'update' OR action = 'delete')),
  entity     TEXT NOT NULL CHECK ((entity = 'patients' OR entity = 'courses' OR entity = 'outcomes' OR entity = 'toxicities')),
  entity_id  INTEGER NOT NULL,
  before     TEXT,
  after      TEXT,
  reason     TEXT,
  request_id TEXT NOT NULL,
  prev_hash  TEXT NOT NULL CHECK (length(prev_hash) = 64),
  hash       TEXT NOT NULL CHECK (length(hash) = 64)
);
CREATE INDEX audit_by_entity ON audit (entity, entity_id, seq);
CREATE INDEX audit_by_actor ON audit (actor, seq);
CREATE INDEX audit_by_time ON audit (at, seq);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;

-- The first answer to a POST with an Idempotency-Key, per token.
CREATE TABLE idempotency (
  actor        TEXT NOT NULL,
  key          TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status       INTEGER NOT NULL,
  location     TEXT,
  body         TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  PRIMARY KEY (actor, key)
);
CREATE INDEX idempotency_by_age ON idempotency (created_at);
