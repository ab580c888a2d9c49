import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import {
  AlreadyExistsError,
  ConflictError,
  DomainNotEmptyError,
  InvalidNameError,
  NotFoundError,
  StoreError,
} from '../errors.js';
import {
  type Account,
  type Alias,
  type AppendResult,
  type Change,
  type ChangeKind,
  type Domain,
  type FlagOperation,
  type FlagUpdate,
  type ListMessagesOptions,
  type Mailbox,
  type CopyResult,
  type MessageMeta,
  type MessageState,
  type MessageRecord,
  type NewMessage,
  type Route,
  type RouteAction,
  type SpecialUse,
  type Store,
} from '../types.js';
import {
  HIERARCHY_DELIMITER,
  INBOX,
  SEEN,
  checkSpecialUse,
  normalizeAddress,
  normalizeDomain,
  normalizeFlags,
  normalizeMailboxName,
  normalizeRouteAction,
  normalizeRouteMatch,
  normalizeTargets,
  sameFlags,
  tryNormalizeAddress,
  tryNormalizeDomain,
  tryNormalizeMailboxName,
} from '../names.js';
import {
  DEFAULT_MAILBOXES,
  applyFlags,
  checkCount,
  checkFlagOperation,
  checkIdempotencyKey,
  checkLease,
  checkListOptions,
  checkNewMessage,
  checkPasswordHash,
  checkUid,
  checkUids,
  nextUidValidity,
} from '../checks.js';
import { migrate } from './schema.js';

export interface SqliteStoreOptions {
  /** Clock in ms since the epoch; createdAt, change times and UIDVALIDITY come from it. */
  now?: () => number;
}

interface MailboxRow {
  id: string;
  account: string;
  name: string;
  special_use: string | null;
  uid_validity: number;
  uid_next: number;
  highest_modseq: number;
  subscribed: number;
  messages: number;
  unseen: number;
  created_at: number;
}

interface MessageMetaRow {
  mailbox_id: string;
  uid: number;
  modseq: number;
  flags: string;
  blob_key: string;
  size: number;
  internal_date: number;
  structure: string;
  summary: string;
}

interface MessageRow extends MessageMetaRow {
  header_text: string;
  body_text: string;
}

interface FlagRow {
  uid: number;
  modseq: number;
  flags: string;
  seen: number;
}

interface ChangeRow {
  modseq: number;
  kind: ChangeKind;
  uid: number;
  flags: string | null;
  at: number;
}

interface RouteRow {
  id: string;
  match: string;
  domain: string;
  action: string;
  created_at: number;
}

const META_COLUMNS = 'mailbox_id, uid, modseq, flags, blob_key, size, internal_date, structure, summary';

/**
 * How long a delivery's idempotency key is kept: longer than any job can come back (the
 * queue gives a job up after its tries; SQS keeps one 14 days at most), as the DynamoDB
 * store keeps the tombstone of an expunged message's claim.
 */
const IDEMPOTENCY_RETENTION_MS = 15 * 24 * 60 * 60 * 1000;
/** Keys past their time are deleted by a keyed append at most this often per process. */
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Directory and MailStore on one SQLite file (WAL). Several processes may open the same
 * file: every write that takes more than one statement runs in one IMMEDIATE transaction,
 * so the read of UIDNEXT/HIGHESTMODSEQ and the write that bumps them cannot interleave
 * with another process's, and busy_timeout makes a second writer wait instead of failing.
 */
export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #now: () => number;
  readonly #statements = new Map<string, Database.Statement>();
  #nextPruneAt = 0;

  private constructor(db: Database.Database, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  /** Opens (creating or migrating as needed) the store in the file at `path`. */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    const db = new Database(path);
    try {
      // busy_timeout first: switching to WAL takes a lock another process may hold.
      db.pragma('busy_timeout = 5000');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      migrate(db);
    } catch (err) {
      db.close();
      throw translate(err);
    }
    return new SqliteStore(db, options.now ?? Date.now);
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  // ---------------------------------------------------------------- domains

  async addDomain(name: string): Promise<Domain> {
    const domain = normalizeDomain(name);
    return this.#write(() => {
      if (this.#get('SELECT 1 FROM domains WHERE name = ?', domain)) {
        throw new AlreadyExistsError(`domain ${domain} already exists`);
      }
      const createdAt = this.#now();
      this.#run('INSERT INTO domains (name, created_at) VALUES (?, ?)', domain, createdAt);
      return { name: domain, createdAt };
    });
  }

  async getDomain(name: string): Promise<Domain | undefined> {
    const domain = tryNormalizeDomain(name);
    if (domain === undefined) return undefined;
    return this.#read(() => {
      const row = this.#get<{ name: string; created_at: number }>(
        'SELECT * FROM domains WHERE name = ?',
        domain,
      );
      return row && { name: row.name, createdAt: row.created_at };
    });
  }

  async listDomains(): Promise<Domain[]> {
    return this.#read(() =>
      this.#all<{ name: string; created_at: number }>('SELECT * FROM domains ORDER BY name').map((row) => ({
        name: row.name,
        createdAt: row.created_at,
      })),
    );
  }

  async removeDomain(name: string): Promise<void> {
    const domain = normalizeDomain(name);
    this.#write(() => {
      this.#requireDomain(domain);
      for (const table of ['accounts', 'aliases', 'routes']) {
        if (this.#get(`SELECT 1 FROM ${table} WHERE domain = ? LIMIT 1`, domain)) {
          throw new DomainNotEmptyError(`domain ${domain} still has ${table}; remove them first`);
        }
      }
      this.#run('DELETE FROM domains WHERE name = ?', domain);
    });
  }

  // --------------------------------------------------------------- accounts

  async addAccount(address: string, passwordHash: string): Promise<Account> {
    const { address: account, domain } = normalizeAddress(address);
    checkPasswordHash(passwordHash);
    return this.#write(() => {
      this.#requireDomain(domain);
      this.#requireUnusedAddress(account);
      const createdAt = this.#now();
      this.#run(
        'INSERT INTO accounts (address, domain, password_hash, created_at) VALUES (?, ?, ?, ?)',
        account,
        domain,
        passwordHash,
        createdAt,
      );
      for (const { name, specialUse } of DEFAULT_MAILBOXES) this.#insertMailbox(account, name, specialUse);
      return { address: account, domain, createdAt };
    });
  }

  async getAccount(address: string): Promise<Account | undefined> {
    const account = tryNormalizeAddress(address);
    if (account === undefined) return undefined;
    return this.#read(() => {
      const row = this.#get<{ address: string; domain: string; created_at: number }>(
        'SELECT address, domain, created_at FROM accounts WHERE address = ?',
        account,
      );
      return row && { address: row.address, domain: row.domain, createdAt: row.created_at };
    });
  }

  async listAccounts(domain: string): Promise<Account[]> {
    const name = tryNormalizeDomain(domain);
    if (name === undefined) return [];
    return this.#read(() =>
      this.#all<{ address: string; domain: string; created_at: number }>(
        'SELECT address, domain, created_at FROM accounts WHERE domain = ? ORDER BY address',
        name,
      ).map((row) => ({ address: row.address, domain: row.domain, createdAt: row.created_at })),
    );
  }

  async getPasswordHash(address: string): Promise<string | undefined> {
    const account = tryNormalizeAddress(address);
    if (account === undefined) return undefined;
    return this.#read(
      () =>
        this.#get<{ password_hash: string }>('SELECT password_hash FROM accounts WHERE address = ?', account)
          ?.password_hash,
    );
  }

  async setPasswordHash(address: string, passwordHash: string): Promise<void> {
    const { address: account } = normalizeAddress(address);
    checkPasswordHash(passwordHash);
    this.#write(() => {
      if (
        this.#run('UPDATE accounts SET password_hash = ? WHERE address = ?', passwordHash, account)
          .changes === 0
      ) {
        throw new NotFoundError(`no account ${account}`);
      }
    });
  }

  async removeAccount(address: string): Promise<void> {
    const { address: account } = normalizeAddress(address);
    this.#write(() => {
      this.#requireAccount(account);
      const inAccount = 'mailbox_id IN (SELECT id FROM mailboxes WHERE account = ?)';
      this.#run(`DELETE FROM changes WHERE ${inAccount}`, account);
      this.#run(`DELETE FROM messages WHERE ${inAccount}`, account);
      this.#run('DELETE FROM mailboxes WHERE account = ?', account);
      this.#run('DELETE FROM idempotency WHERE account = ?', account);
      this.#run('DELETE FROM accounts WHERE address = ?', account);
    });
  }

  // ---------------------------------------------------------------- aliases

  async addAlias(address: string, targets: string[]): Promise<Alias> {
    const { address: alias, domain } = normalizeAddress(address);
    const normalized = normalizeTargets(targets, `alias ${alias}`);
    return this.#write(() => {
      this.#requireDomain(domain);
      this.#requireUnusedAddress(alias);
      const createdAt = this.#now();
      this.#run(
        'INSERT INTO aliases (address, domain, targets, created_at) VALUES (?, ?, ?, ?)',
        alias,
        domain,
        JSON.stringify(normalized),
        createdAt,
      );
      return { address: alias, domain, targets: normalized, createdAt };
    });
  }

  async getAlias(address: string): Promise<Alias | undefined> {
    const alias = tryNormalizeAddress(address);
    if (alias === undefined) return undefined;
    return this.#read(() => {
      const row = this.#get<AliasRow>('SELECT * FROM aliases WHERE address = ?', alias);
      return row && toAlias(row);
    });
  }

  async listAliases(domain: string): Promise<Alias[]> {
    const name = tryNormalizeDomain(domain);
    if (name === undefined) return [];
    return this.#read(() =>
      this.#all<AliasRow>('SELECT * FROM aliases WHERE domain = ? ORDER BY address', name).map(toAlias),
    );
  }

  async removeAlias(address: string): Promise<void> {
    const { address: alias } = normalizeAddress(address);
    this.#write(() => {
      if (this.#run('DELETE FROM aliases WHERE address = ?', alias).changes === 0) {
        throw new NotFoundError(`no alias ${alias}`);
      }
    });
  }

  // ----------------------------------------------------------------- routes

  async addRoute(match: string, action: RouteAction): Promise<Route> {
    const { address, domain } = normalizeRouteMatch(match);
    const normalized = normalizeRouteAction(action);
    return this.#write(() => {
      this.#requireDomain(domain);
      const route: Route = {
        id: randomUUID(),
        match: address,
        domain,
        action: normalized,
        createdAt: this.#now(),
      };
      this.#run(
        'INSERT INTO routes (id, match, domain, action, created_at) VALUES (?, ?, ?, ?, ?)',
        route.id,
        route.match,
        route.domain,
        JSON.stringify(route.action),
        route.createdAt,
      );
      return route;
    });
  }

  async routesFor(match: string): Promise<Route[]> {
    let address: string;
    try {
      address = normalizeRouteMatch(match).address;
    } catch {
      return [];
    }
    return this.#read(() =>
      this.#all<RouteRow>('SELECT * FROM routes WHERE match = ? ORDER BY seq', address).map(toRoute),
    );
  }

  async listRoutes(domain: string): Promise<Route[]> {
    const name = tryNormalizeDomain(domain);
    if (name === undefined) return [];
    return this.#read(() =>
      this.#all<RouteRow>('SELECT * FROM routes WHERE domain = ? ORDER BY seq', name).map(toRoute),
    );
  }

  async removeRoute(domain: string, id: string): Promise<void> {
    const name = normalizeDomain(domain);
    this.#write(() => {
      if (this.#run('DELETE FROM routes WHERE domain = ? AND id = ?', name, String(id)).changes === 0) {
        throw new NotFoundError(`no route ${JSON.stringify(id)} in domain ${name}`);
      }
    });
  }

  // -------------------------------------------------------------- mailboxes

  async listMailboxes(account: string): Promise<Mailbox[]> {
    const owner = tryNormalizeAddress(account);
    if (owner === undefined) return [];
    return this.#read(() =>
      this.#all<MailboxRow>(
        `SELECT * FROM mailboxes WHERE account = ? ORDER BY name <> '${INBOX}', name`,
        owner,
      ).map(toMailbox),
    );
  }

  async getMailbox(account: string, name: string): Promise<Mailbox | undefined> {
    const owner = tryNormalizeAddress(account);
    const mailbox = tryNormalizeMailboxName(name);
    if (owner === undefined || mailbox === undefined) return undefined;
    return this.#read(() => {
      const row = this.#findMailbox(owner, mailbox);
      return row && toMailbox(row);
    });
  }

  async createMailbox(
    account: string,
    name: string,
    options: { specialUse?: SpecialUse } = {},
  ): Promise<Mailbox> {
    const { address: owner } = normalizeAddress(account);
    const mailbox = normalizeMailboxName(name);
    const specialUse = checkSpecialUse(options.specialUse);
    return this.#write(() => {
      this.#requireAccount(owner);
      if (this.#findMailbox(owner, mailbox))
        throw new AlreadyExistsError(`mailbox ${JSON.stringify(mailbox)} already exists`);
      return toMailbox(this.#insertMailbox(owner, mailbox, specialUse));
    });
  }

  async deleteMailbox(account: string, name: string): Promise<void> {
    const { address: owner } = normalizeAddress(account);
    const mailbox = normalizeMailboxName(name);
    // RFC 3501 §6.3.4: it is an error to attempt to delete INBOX.
    if (mailbox === INBOX) throw new InvalidNameError('INBOX cannot be deleted');
    this.#write(() => {
      // Children ("a/b" when deleting "a") stay: they are mailboxes of their own.
      const row = this.#requireMailbox(owner, mailbox);
      this.#run('DELETE FROM changes WHERE mailbox_id = ?', row.id);
      this.#run('DELETE FROM messages WHERE mailbox_id = ?', row.id);
      this.#run('DELETE FROM mailboxes WHERE id = ?', row.id);
    });
  }

  async renameMailbox(account: string, from: string, to: string): Promise<Mailbox> {
    const { address: owner } = normalizeAddress(account);
    const source = normalizeMailboxName(from);
    const target = normalizeMailboxName(to);
    if (source !== INBOX && target.startsWith(source + HIERARCHY_DELIMITER)) {
      throw new InvalidNameError(
        `cannot rename mailbox ${JSON.stringify(source)} into itself (${JSON.stringify(target)})`,
      );
    }
    return this.#write(() => {
      const row = this.#requireMailbox(owner, source);
      if (this.#findMailbox(owner, target))
        throw new AlreadyExistsError(`mailbox ${JSON.stringify(target)} already exists`);
      if (source === INBOX) {
        // RFC 3501 §6.3.5: renaming INBOX moves all its messages to a new mailbox with the
        // new name and leaves INBOX empty; INBOX's children are not renamed. The mailbox row
        // (id, UIDs, UIDVALIDITY, change log) takes the new name, which is one write however
        // many messages there are, and a fresh INBOX is created with a new UIDVALIDITY.
        this.#run('UPDATE mailboxes SET name = ?, special_use = NULL WHERE id = ?', target, row.id);
        this.#insertMailbox(owner, INBOX, null);
      } else {
        const prefix = source + HIERARCHY_DELIMITER;
        const children = this.#all<{ id: string; name: string }>(
          'SELECT id, name FROM mailboxes WHERE account = ? AND substr(name, 1, ?) = ?',
          owner,
          prefix.length,
          prefix,
        );
        const renames = children.map((child) => ({
          id: child.id,
          name: normalizeMailboxName(target + child.name.slice(source.length)),
        }));
        for (const rename of renames) {
          if (this.#findMailbox(owner, rename.name)) {
            throw new AlreadyExistsError(`mailbox ${JSON.stringify(rename.name)} already exists`);
          }
        }
        this.#run('UPDATE mailboxes SET name = ? WHERE id = ?', target, row.id);
        for (const rename of renames)
          this.#run('UPDATE mailboxes SET name = ? WHERE id = ?', rename.name, rename.id);
      }
      return toMailbox(this.#get<MailboxRow>('SELECT * FROM mailboxes WHERE id = ?', row.id)!);
    });
  }

  async setSubscribed(account: string, name: string, subscribed: boolean): Promise<void> {
    const { address: owner } = normalizeAddress(account);
    const mailbox = normalizeMailboxName(name);
    this.#write(() => {
      const row = this.#requireMailbox(owner, mailbox);
      this.#run('UPDATE mailboxes SET subscribed = ? WHERE id = ?', subscribed ? 1 : 0, row.id);
    });
  }

  // --------------------------------------------------------------- messages

  async appendMessage(
    account: string,
    mailbox: string,
    message: NewMessage,
    options: { idempotencyKey?: string } = {},
  ): Promise<AppendResult> {
    const { address: owner } = normalizeAddress(account);
    const name = normalizeMailboxName(mailbox);
    checkNewMessage(message);
    const flags = normalizeFlags(message.flags ?? []);
    const key = options.idempotencyKey;
    checkIdempotencyKey(key);
    return this.#write(() => {
      const box = this.#requireMailbox(owner, name);
      // A key is the mailbox's own (by id: a mailbox made again under the name is a new one).
      const scoped = key === undefined ? undefined : `${box.id}\n${key}`;
      if (scoped !== undefined) {
        const earlier = this.#get<{ mailbox_id: string; uid: number; modseq: number }>(
          'SELECT mailbox_id, uid, modseq FROM idempotency WHERE account = ? AND key = ?',
          owner,
          scoped,
        );
        if (earlier)
          return { mailboxId: earlier.mailbox_id, uid: earlier.uid, modseq: earlier.modseq, duplicate: true };
      }
      const uid = box.uid_next;
      const modseq = box.highest_modseq + 1;
      const seen = flags.includes(SEEN);
      const at = this.#now();
      this.#run(
        `INSERT INTO messages (mailbox_id, uid, modseq, flags, seen, blob_key, size, internal_date,
           structure, summary, header_text, body_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        box.id,
        uid,
        modseq,
        JSON.stringify(flags),
        seen ? 1 : 0,
        message.blobKey,
        message.size,
        message.internalDate,
        JSON.stringify(message.structure),
        JSON.stringify(message.summary),
        message.headerText,
        message.bodyText,
      );
      this.#logChange(box.id, modseq, 'append', uid, flags, at);
      this.#run(
        `UPDATE mailboxes SET uid_next = ?, highest_modseq = ?, messages = messages + 1, unseen = unseen + ?
         WHERE id = ?`,
        uid + 1,
        modseq,
        seen ? 0 : 1,
        box.id,
      );
      if (scoped !== undefined) {
        if (at >= this.#nextPruneAt) {
          this.#nextPruneAt = at + PRUNE_INTERVAL_MS;
          this.#run('DELETE FROM idempotency WHERE created_at < ?', at - IDEMPOTENCY_RETENTION_MS);
        }
        this.#run(
          'INSERT INTO idempotency (account, key, mailbox_id, uid, modseq, created_at) VALUES (?, ?, ?, ?, ?, ?)',
          owner,
          scoped,
          box.id,
          uid,
          modseq,
          at,
        );
      }
      return { mailboxId: box.id, uid, modseq, duplicate: false };
    });
  }

  async getMessage(account: string, mailbox: string, uid: number): Promise<MessageRecord | undefined> {
    const { address: owner } = normalizeAddress(account);
    const name = normalizeMailboxName(mailbox);
    checkUid(uid);
    return this.#read(() => {
      const box = this.#requireMailbox(owner, name);
      const row = this.#get<MessageRow>(
        'SELECT * FROM messages WHERE mailbox_id = ? AND uid = ?',
        box.id,
        uid,
      );
      return row && { ...toMessageMeta(row), headerText: row.header_text, bodyText: row.body_text };
    });
  }

  async listMessages(
    account: string,
    mailbox: string,
    options: ListMessagesOptions = {},
  ): Promise<MessageMeta[]> {
    const { address: owner } = normalizeAddress(account);
    const name = normalizeMailboxName(mailbox);
    const range = checkListOptions(options);
    const { fromUid, toUid } = range;
    const limit = range.limit ?? -1; // SQLite: a negative LIMIT is no limit
    return this.#read(() => {
      const box = this.#requireMailbox(owner, name);
      return this.#all<MessageMetaRow>(
        `SELECT ${META_COLUMNS} FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid LIMIT ?`,
        box.id,
        fromUid,
        toUid,
        limit,
      ).map(toMessageMeta);
    });
  }

  async listMessageStates(
    account: string,
    mailbox: string,
    options: ListMessagesOptions = {},
  ): Promise<MessageState[]> {
    const { address: owner } = normalizeAddress(account);
    const name = normalizeMailboxName(mailbox);
    const range = checkListOptions(options);
    const { fromUid, toUid } = range;
    const limit = range.limit ?? -1;
    return this.#read(() => {
      const box = this.#requireMailbox(owner, name);
      const rows = this.#all<{ uid: number; modseq: number; flags: string; size: number }>(
        'SELECT uid, modseq, flags, size FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid LIMIT ?',
        box.id,
        fromUid,
        toUid,
        limit,
      );
      // A mailbox has a handful of distinct flag sets: parse each once, not once per message.
      const parsed = new Map<string, string[]>();
      return rows.map((row) => {
        let flags = parsed.get(row.flags);
        if (!flags) {
          flags = JSON.parse(row.flags) as string[];
          parsed.set(row.flags, flags);
        }
        return { uid: row.uid, modseq: row.modseq, flags, size: row.size };
      });
    });
  }

  async copyMessages(account: string, from: string, uids: number[], to: string): Promise<CopyResult> {
    const { address: owner } = normalizeAddress(account);
    const source = normalizeMailboxName(from);
    const target = normalizeMailboxName(to);
    const wanted = checkUids(uids);
    return this.#write(() => {
      const src = this.#requireMailbox(owner, source);
      const dst = this.#requireMailbox(owner, target);
      if (wanted.length === 0) return { uidValidity: dst.uid_validity, mapping: [] };
      const rows = this.#all<{ uid: number; flags: string; seen: number }>(
        `SELECT uid, flags, seen FROM messages WHERE mailbox_id = ? AND uid IN (${wanted.map(() => '?').join(',')})
         ORDER BY uid`,
        src.id,
        ...wanted,
      );
      let uid = dst.uid_next;
      let modseq = dst.highest_modseq;
      let unseen = 0;
      const at = this.#now();
      const mapping: [number, number][] = [];
      for (const row of rows) {
        modseq++;
        this.#run(
          `INSERT INTO messages (mailbox_id, uid, modseq, flags, seen, blob_key, size, internal_date,
             structure, summary, header_text, body_text)
           SELECT ?, ?, ?, flags, seen, blob_key, size, internal_date, structure, summary, header_text, body_text
           FROM messages WHERE mailbox_id = ? AND uid = ?`,
          dst.id,
          uid,
          modseq,
          src.id,
          row.uid,
        );
        this.#logChange(dst.id, modseq, 'append', uid, JSON.parse(row.flags) as string[], at);
        if (!row.seen) unseen++;
        mapping.push([row.uid, uid]);
        uid++;
      }
      this.#run(
        `UPDATE mailboxes SET uid_next = ?, highest_modseq = ?, messages = messages + ?, unseen = unseen + ?
         WHERE id = ?`,
        uid,
        modseq,
        mapping.length,
        unseen,
        dst.id,
      );
      return { uidValidity: dst.uid_validity, mapping };
    });
  }

  async updateFlags(
    account: string,
    mailbox: string,
    uids: number[],
    operation: FlagOperation,
    flags: string[],
    options: { unchangedSince?: number } = {},
  ): Promise<{ updated: FlagUpdate[]; skipped: number[] }> {
    const { address: owner } = normalizeAddress(account);
    const name = normalizeMailboxName(mailbox);
    const wanted = checkUids(uids);
    const given = normalizeFlags(flags);
    checkFlagOperation(operation);
    const { unchangedSince } = options;
    if (unchangedSince !== undefined) checkCount(unchangedSince, 'unchangedSince');
    return this.#write(() => {
      const box = this.#requireMailbox(owner, name);
      const rows = this.#all<FlagRow>(
        'SELECT uid, modseq, flags, seen FROM messages WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid',
        box.id,
        JSON.stringify(wanted),
      );
      const updated: FlagUpdate[] = [];
      const skipped: number[] = [];
      let modseq = box.highest_modseq;
      let unseenDelta = 0;
      const at = this.#now();
      for (const row of rows) {
        // RFC 7162 §3.1.3: a message changed after UNCHANGEDSINCE is left alone and reported.
        if (unchangedSince !== undefined && row.modseq > unchangedSince) {
          skipped.push(row.uid);
          continue;
        }
        const current = JSON.parse(row.flags) as string[];
        const next = applyFlags(current, operation, given);
        if (sameFlags(current, next)) continue;
        modseq += 1;
        const seen = next.includes(SEEN) ? 1 : 0;
        unseenDelta += row.seen - seen;
        this.#run(
          'UPDATE messages SET flags = ?, seen = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?',
          JSON.stringify(next),
          seen,
          modseq,
          box.id,
          row.uid,
        );
        this.#logChange(box.id, modseq, 'flags', row.uid, next, at);
        updated.push({ uid: row.uid, modseq, flags: next });
      }
      if (updated.length > 0) {
        this.#run(
          'UPDATE mailboxes SET highest_modseq = ?, unseen = unseen + ? WHERE id = ?',
          modseq,
          unseenDelta,
          box.id,
        );
      }
      return { updated, skipped };
    });
  }

  async expunge(account: string, mailbox: string, uids: number[]): Promise<number[]> {
    const { address: owner } = normalizeAddress(account);
    const name = normalizeMailboxName(mailbox);
    const wanted = checkUids(uids);
    return this.#write(() => {
      const box = this.#requireMailbox(owner, name);
      const rows = this.#all<{ uid: number; seen: number }>(
        'SELECT uid, seen FROM messages WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid',
        box.id,
        JSON.stringify(wanted),
      );
      if (rows.length === 0) return [];
      let modseq = box.highest_modseq;
      let unseen = 0;
      const at = this.#now();
      for (const row of rows) {
        modseq += 1;
        unseen += row.seen ? 0 : 1;
        this.#run('DELETE FROM messages WHERE mailbox_id = ? AND uid = ?', box.id, row.uid);
        this.#logChange(box.id, modseq, 'expunge', row.uid, undefined, at);
      }
      // uid_next is left alone: UIDs are never reused (RFC 3501 §2.3.1.1).
      this.#run(
        'UPDATE mailboxes SET highest_modseq = ?, messages = messages - ?, unseen = unseen - ? WHERE id = ?',
        modseq,
        rows.length,
        unseen,
        box.id,
      );
      return rows.map((row) => row.uid);
    });
  }

  async changesSince(
    account: string,
    mailbox: string,
    sinceModseq: number,
    limit?: number,
  ): Promise<Change[]> {
    const { address: owner } = normalizeAddress(account);
    const name = normalizeMailboxName(mailbox);
    checkCount(sinceModseq, 'sinceModseq');
    if (limit !== undefined) checkCount(limit, 'limit');
    return this.#read(() => {
      const box = this.#requireMailbox(owner, name);
      return this.#all<ChangeRow>(
        'SELECT modseq, kind, uid, flags, at FROM changes WHERE mailbox_id = ? AND modseq > ? ORDER BY modseq LIMIT ?',
        box.id,
        sinceModseq,
        limit ?? -1,
      ).map((row) => {
        const change: Change = { modseq: row.modseq, kind: row.kind, uid: row.uid, at: row.at };
        if (row.flags !== null) change.flags = JSON.parse(row.flags) as string[];
        return change;
      });
    });
  }

  async acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    checkLease(name, owner);
    checkCount(ttlMs, 'ttlMs');
    return this.#write(() => {
      const now = Date.now();
      // One statement: insert, or take over an expired lease, or extend our own.
      const result = this.#run(
        `INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
         WHERE leases.owner = excluded.owner OR leases.expires_at <= ?`,
        name,
        owner,
        now + ttlMs,
        now,
      );
      return result.changes === 1;
    });
  }

  async releaseLease(name: string, owner: string): Promise<void> {
    checkLease(name, owner);
    this.#write(() => {
      this.#run('DELETE FROM leases WHERE name = ? AND owner = ?', name, owner);
    });
  }

  // ---------------------------------------------------------------- helpers

  #statement(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #get<T>(sql: string, ...params: unknown[]): T | undefined {
    return this.#statement(sql).get(...params) as T | undefined;
  }

  #all<T>(sql: string, ...params: unknown[]): T[] {
    return this.#statement(sql).all(...params) as T[];
  }

  #run(sql: string, ...params: unknown[]): Database.RunResult {
    return this.#statement(sql).run(...params);
  }

  /** Runs fn in an IMMEDIATE transaction: the write lock is taken before the first read. */
  #write<T>(fn: () => T): T {
    try {
      return this.#db.transaction(fn).immediate();
    } catch (err) {
      throw translate(err);
    }
  }

  /** Runs fn in a read transaction, so its statements see one snapshot. */
  #read<T>(fn: () => T): T {
    try {
      return this.#db.transaction(fn).deferred();
    } catch (err) {
      throw translate(err);
    }
  }

  #requireDomain(domain: string): void {
    if (!this.#get('SELECT 1 FROM domains WHERE name = ?', domain))
      throw new NotFoundError(`no domain ${domain}`);
  }

  #requireAccount(account: string): void {
    if (!this.#get('SELECT 1 FROM accounts WHERE address = ?', account))
      throw new NotFoundError(`no account ${account}`);
  }

  /** An address is an account or an alias, never both. */
  #requireUnusedAddress(address: string): void {
    if (this.#get('SELECT 1 FROM accounts WHERE address = ?', address)) {
      throw new AlreadyExistsError(`${address} is already an account`);
    }
    if (this.#get('SELECT 1 FROM aliases WHERE address = ?', address)) {
      throw new AlreadyExistsError(`${address} is already an alias`);
    }
  }

  /** Mailboxes are only ever looked up by (account, name): an id or a path cannot cross accounts. */
  #findMailbox(account: string, name: string): MailboxRow | undefined {
    return this.#get<MailboxRow>('SELECT * FROM mailboxes WHERE account = ? AND name = ?', account, name);
  }

  #requireMailbox(account: string, name: string): MailboxRow {
    const row = this.#findMailbox(account, name);
    if (row) return row;
    this.#requireAccount(account);
    throw new NotFoundError(`no mailbox ${JSON.stringify(name)}`);
  }

  #insertMailbox(account: string, name: string, specialUse: SpecialUse | null): MailboxRow {
    const row: MailboxRow = {
      id: randomUUID(),
      account,
      name,
      special_use: specialUse,
      uid_validity: this.#nextUidValidity(account),
      uid_next: 1,
      // RFC 7162 §3.1.1: HIGHESTMODSEQ is a positive number, even for an empty mailbox.
      highest_modseq: 1,
      subscribed: 1,
      messages: 0,
      unseen: 0,
      created_at: this.#now(),
    };
    this.#run(
      `INSERT INTO mailboxes (id, account, name, special_use, uid_validity, uid_next, highest_modseq,
         subscribed, messages, unseen, created_at)
       VALUES (@id, @account, @name, @special_use, @uid_validity, @uid_next, @highest_modseq,
         @subscribed, @messages, @unseen, @created_at)`,
      row,
    );
    return row;
  }

  /** The next UIDVALIDITY of this account (see nextUidValidity), recorded so it is never given twice. */
  #nextUidValidity(account: string): number {
    const last =
      this.#get<{ last: number }>('SELECT last FROM uid_validity WHERE account = ?', account)?.last ?? 0;
    const value = nextUidValidity(account, this.#now(), last);
    this.#run(
      'INSERT INTO uid_validity (account, last) VALUES (?, ?) ON CONFLICT (account) DO UPDATE SET last = excluded.last',
      account,
      value,
    );
    return value;
  }

  #logChange(
    mailboxId: string,
    modseq: number,
    kind: ChangeKind,
    uid: number,
    flags: string[] | undefined,
    at: number,
  ) {
    this.#run(
      'INSERT INTO changes (mailbox_id, modseq, kind, uid, flags, at) VALUES (?, ?, ?, ?, ?, ?)',
      mailboxId,
      modseq,
      kind,
      uid,
      flags === undefined ? null : JSON.stringify(flags),
      at,
    );
  }
}

interface AliasRow {
  address: string;
  domain: string;
  targets: string;
  created_at: number;
}

function toAlias(row: AliasRow): Alias {
  return {
    address: row.address,
    domain: row.domain,
    targets: JSON.parse(row.targets) as string[],
    createdAt: row.created_at,
  };
}

function toRoute(row: RouteRow): Route {
  return {
    id: row.id,
    match: row.match,
    domain: row.domain,
    action: JSON.parse(row.action) as RouteAction,
    createdAt: row.created_at,
  };
}

function toMailbox(row: MailboxRow): Mailbox {
  return {
    id: row.id,
    account: row.account,
    name: row.name,
    specialUse: row.special_use as SpecialUse | null,
    uidValidity: row.uid_validity,
    uidNext: row.uid_next,
    highestModseq: row.highest_modseq,
    subscribed: row.subscribed === 1,
    messages: row.messages,
    unseen: row.unseen,
    createdAt: row.created_at,
  };
}

function toMessageMeta(row: MessageMetaRow): MessageMeta {
  return {
    mailboxId: row.mailbox_id,
    uid: row.uid,
    modseq: row.modseq,
    flags: JSON.parse(row.flags) as string[],
    blobKey: row.blob_key,
    size: row.size,
    internalDate: row.internal_date,
    structure: JSON.parse(row.structure) as MessageMeta['structure'],
    summary: JSON.parse(row.summary) as MessageMeta['summary'],
  };
}

/** SQLite's errors become the store's own (the Powertools idempotency pattern). */
function translate(err: unknown): unknown {
  if (err instanceof StoreError || !(err instanceof Database.SqliteError)) return err;
  if (err.code.startsWith('SQLITE_BUSY') || err.code.startsWith('SQLITE_LOCKED')) {
    return new ConflictError('the store is busy: another process held the write lock too long; retry', {
      cause: err,
    });
  }
  if (err.code.startsWith('SQLITE_CONSTRAINT')) {
    return new ConflictError(`the store refused a write (${err.code}); retry`, { cause: err });
  }
  return new StoreError(`SQLite: ${err.message} (${err.code})`, { cause: err });
}
