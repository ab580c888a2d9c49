import type Database from 'better-sqlite3';
import { StoreError } from '../errors.js';

/*
 * Schema migrations, indexed by the user_version they lead to. Append new steps; never edit
 * one that has shipped. Tables are STRICT so a wrong type is an error, not a silent cast.
 */
const MIGRATIONS: readonly string[] = [
  // 1: directory, mailboxes, messages, change log, idempotency keys.
  `
  CREATE TABLE domains (
    name TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE accounts (
    address TEXT PRIMARY KEY,
    domain TEXT NOT NULL REFERENCES domains (name),
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX accounts_by_domain ON accounts (domain, address);

  CREATE TABLE aliases (
    address TEXT PRIMARY KEY,
    domain TEXT NOT NULL REFERENCES domains (name),
    targets TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX aliases_by_domain ON aliases (domain, address);

  CREATE TABLE routes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    match TEXT NOT NULL,
    domain TEXT NOT NULL REFERENCES domains (name),
    action TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX routes_by_match ON routes (match, seq);
  CREATE INDEX routes_by_domain ON routes (domain, seq);

  -- The last UIDVALIDITY given out per account. Kept when the account is removed, so a
  -- re-created account never hands a client a UIDVALIDITY it may have cached (RFC 3501 §2.3.1.1).
  CREATE TABLE uid_validity (
    account TEXT PRIMARY KEY,
    last INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE mailboxes (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES accounts (address),
    name TEXT NOT NULL,
    special_use TEXT,
    uid_validity INTEGER NOT NULL,
    uid_next INTEGER NOT NULL,
    highest_modseq INTEGER NOT NULL,
    subscribed INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    unseen INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account, name)
  ) STRICT;

  CREATE TABLE messages (
    mailbox_id TEXT NOT NULL REFERENCES mailboxes (id),
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    flags TEXT NOT NULL,
    seen INTEGER NOT NULL,
    blob_key TEXT NOT NULL,
    size INTEGER NOT NULL,
    internal_date INTEGER NOT NULL,
    structure TEXT NOT NULL,
    summary TEXT NOT NULL,
    header_text TEXT NOT NULL,
    body_text TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
  ) STRICT;

  CREATE TABLE changes (
    mailbox_id TEXT NOT NULL REFERENCES mailboxes (id),
    modseq INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('append', 'flags', 'expunge')),
    uid INTEGER NOT NULL,
    flags TEXT,
    at INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, modseq)
  ) STRICT;

  -- mailbox_id is not a foreign key: a key stays used after its mailbox is deleted.
  CREATE TABLE idempotency (
    account TEXT NOT NULL REFERENCES accounts (address),
    key TEXT NOT NULL,
    mailbox_id TEXT NOT NULL,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account, key)
  ) STRICT;
  `,
  // 2: leases (cross-process locks such as the POP3 maildrop lock).
  `
  CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT;
  `,
  // 3: idempotency keys are pruned by age (no job comes back after its queue dropped it).
  `
  CREATE INDEX idempotency_by_age ON idempotency (created_at);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the schema to SCHEMA_VERSION. Runs in one IMMEDIATE transaction and reads the
 * version inside it, so processes opening a new file at the same time migrate it once.
 */
export function migrate(db: Database.Database): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new StoreError(
        `the store's schema version ${version} is newer than this program's (${SCHEMA_VERSION}); upgrade Mailroom`,
      );
    }
    for (let next = version; next < SCHEMA_VERSION; next++) {
      db.exec(MIGRATIONS[next]!);
    }
    if (version !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
