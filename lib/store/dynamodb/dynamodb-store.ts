import { createHash, randomBytes } from 'node:crypto';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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
import {
  AlreadyExistsError,
  ConflictError,
  DomainNotEmptyError,
  InvalidNameError,
  NotFoundError,
} from '../errors.js';
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
  tryNormalizeDomain,
  tryNormalizeMailboxName,
  type ParsedAddress,
} from '../names.js';
import type {
  Account,
  Alias,
  AppendResult,
  Change,
  ChangeKind,
  CopyResult,
  Domain,
  FlagOperation,
  FlagUpdate,
  ListMessagesOptions,
  Mailbox,
  MessageMeta,
  MessageRecord,
  MessageState,
  NewMessage,
  Route,
  RouteAction,
  SpecialUse,
  Store,
} from '../types.js';
import { decodeMeta, decodeText, encodeContent, type EncodedContent, type TextFields } from './content.js';
import {
  ACCOUNT_PREFIX,
  ALIAS_PREFIX,
  DELETING_PREFIX,
  DOMAINS,
  MAILBOX_PREFIX,
  ROUTE_ID_PREFIX,
  UID_VALIDITY_SK,
  accountKey,
  aliasKey,
  boxPk,
  changeSk,
  contentKey,
  deletingKey,
  domainKey,
  domainPk,
  leaseKey,
  mailboxKey,
  routeIdKey,
  routeKey,
  routeMatchPrefix,
  stateKey,
  stateSk,
  uidValidityKey,
  userPk,
  type ContentKind,
  type Key,
} from './keys.js';
import { Cancelled, MAX_TRANSACTION_ITEMS, RETRY, Table, backoff, type TxOp } from './table.js';

export interface DynamoDbStoreOptions {
  tableName: string;
  /** The client to use; the caller keeps it (close() leaves it open). */
  client?: DynamoDBClient;
  /** Settings for a client of the store's own (close() destroys it), when no client is given. */
  clientConfig?: DynamoDBClientConfig;
  /** Clock in ms since the epoch; createdAt, change times and UIDVALIDITY come from it. */
  now?: () => number;
  /**
   * Reads a message's search text from its raw message. Given, the store keeps no text of
   * its own for messages whose text does not fit inline (content.ts): 3 of the 4 KB a 50 KB
   * message would write. SEARCH TEXT/BODY then reads those messages' raw bytes, as an IMAP
   * server without a full-text index reads its message files.
   */
  readText?: (blobKey: string) => Promise<TextFields>;
}

/** How long past its end an abandoned lease item stays before TTL may collect it. */
const LEASE_TTL_SLACK_S = 3600;
/** Attempts of one optimistic write (read, then write on condition that nothing changed). */
const MAX_ATTEMPTS = 40;
/** Mailboxes renamed or moved per transaction: two items each (delete the old key, put the new). */
const MAILBOXES_PER_TRANSACTION = MAX_TRANSACTION_ITEMS / 2;
const MAX_ROUTE_ID_BYTES = 200;
/**
 * How long the tombstone of an expunged message's claim is kept: longer than any job can
 * come back (SQS keeps a message 14 days at most, counted from its first send also after a
 * redrive from the dead-letter queue). DynamoDB's TTL deletes it after.
 */
const TOMBSTONE_MS = 15 * 24 * 60 * 60 * 1000;

/** The account item exists: taken, or left behind by a removal that did not finish. */
const ACCOUNT_TAKEN = Symbol('account taken');
/** The account item had gone already: someone else finished its removal. */
const ACCOUNT_GONE = Symbol('account gone');

interface DomainItem extends Key {
  name: string;
  createdAt: number;
  /** Accounts, aliases and routes of the domain: removeDomain refuses while this is not 0. */
  members: number;
}

interface AccountItem extends Key {
  address: string;
  domain: string;
  passwordHash: string;
  createdAt: number;
  /** Set while removeAccount runs (and after a crash in it): the account is gone for readers. */
  removing?: boolean;
}

interface AliasItem extends Key {
  address: string;
  domain: string;
  targets: string[];
  createdAt: number;
}

interface RouteItem extends Key {
  id: string;
  match: string;
  domain: string;
  action: RouteAction;
  createdAt: number;
}

/** A mailbox as the port describes it, under its key. */
type MailboxItem = Key & Mailbox;

interface StateItem extends Key {
  uid: number;
  modseq: number;
  /** The MODSEQ of the append, fixed once published: changesSince finds appends by it. */
  amod: number;
  /** JSON array: a mailbox has a handful of distinct flag sets, each parsed once per listing. */
  flags: string;
  /** The flags of the append (JSON), kept from the first flag change on; until then `flags`. */
  aflags?: string;
  size: number;
  /** Content id: the message's metadata and text items are K#<cid>#M<n> and K#<cid>#T<n>. */
  cid: string;
  /** When it was appended, ms since the epoch. */
  at: number;
  /** Number of metadata and text parts, when not 1 (textParts 0: inline or in the raw message). */
  metaParts?: number;
  textParts?: number;
}

interface ContentItem extends Key {
  data: Uint8Array;
  /** The first metadata part only: the search text, deflated, when it fits beside the metadata. */
  text?: Uint8Array;
}

/** The first metadata item of an append, which claims its content id and names the UID it is to take. */
interface ClaimItem extends ContentItem {
  uid: number;
  at: number;
}

/** What is left of a claim when its message is expunged: no content, the UID and MODSEQ it had. */
interface TombstoneItem extends Key {
  uid: number;
  amod: number;
  expiresAt: number;
}

/**
 * [modseq, kind, uid, flags or null]; an expunge adds the append it undoes (its MODSEQ,
 * flags and time), so changesSince still reports that append.
 */
type ChangeEntry =
  [number, ChangeKind, number, string[] | null] | [number, 'expunge', number, null, number, string[], number];

interface ChangeItem extends Key {
  at: number;
  /** JSON array of ChangeEntry, MODSEQs consecutive, the last one in the sort key. */
  changes: string;
}

interface DeletingItem extends Key {
  id: string;
  name: string;
  at: number;
}

interface UidValidityItem extends Key {
  last: number;
}

let lastRouteMs = 0;
let routeSequence = 0;

/**
 * A route id that sorts by creation in this process (time, then a counter) and is unique
 * across processes (random tail): listRoutes and routesFor return routes oldest first in
 * the order of their sort keys.
 */
function newRouteId(): string {
  const now = Date.now();
  if (now > lastRouteMs) {
    lastRouteMs = now;
    routeSequence = 0;
  } else {
    routeSequence += 1;
  }
  return (
    lastRouteMs.toString(16).padStart(12, '0') +
    routeSequence.toString(16).padStart(4, '0') +
    randomBytes(4).toString('hex')
  );
}

/** Mailbox and content ids: 128 random bits, 22 characters. */
function newId(): string {
  return randomBytes(16).toString('base64url');
}

/** The content id of a delivery with an idempotency key: the same for every delivery of that key. */
function keyedContentId(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 22);
}

function tryParseAddress(address: string): ParsedAddress | undefined {
  try {
    return normalizeAddress(address);
  } catch {
    return undefined;
  }
}

function keyOf(item: Key): Key {
  return { pk: item.pk, sk: item.sk };
}

/** The UIDs a client may name: below UIDNEXT (a message at UIDNEXT or above is pending). */
function published(box: Pick<Mailbox, 'uidNext'>, uids: readonly number[]): number[] {
  return uids.filter((uid) => uid < box.uidNext);
}

function byUid(a: StateItem, b: StateItem): number {
  return a.uid - b.uid;
}

/** The content items of a message: its metadata parts, then its text parts. */
function contentLayout(state: Pick<StateItem, 'metaParts' | 'textParts'>): [ContentKind, number][] {
  const layout: [ContentKind, number][] = [];
  for (let part = 0; part < (state.metaParts ?? 1); part++) layout.push(['M', part]);
  for (let part = 0; part < (state.textParts ?? 1); part++) layout.push(['T', part]);
  return layout;
}

/** Parses flag JSON once per distinct flag set. */
class FlagParser {
  readonly #parsed = new Map<string, string[]>();

  parse(json: string): string[] {
    let flags = this.#parsed.get(json);
    if (flags === undefined) {
      flags = JSON.parse(json) as string[];
      this.#parsed.set(json, flags);
    }
    return flags;
  }
}

/**
 * Directory and MailStore on one DynamoDB table (docs/dynamodb.md). Every call is a bounded
 * number of single-partition reads and at most one transaction per step; writes to a
 * mailbox are optimistic: read the mailbox item, then write on condition that its
 * HIGHESTMODSEQ has not moved, and read again when it has.
 */
export class DynamoDbStore implements Store {
  readonly #table: Table;
  readonly #client: DynamoDBClient;
  readonly #ownsClient: boolean;
  readonly #now: () => number;
  readonly #readText: ((blobKey: string) => Promise<TextFields>) | undefined;

  constructor(options: DynamoDbStoreOptions) {
    this.#ownsClient = options.client === undefined;
    this.#client = options.client ?? new DynamoDBClient(options.clientConfig ?? {});
    // No marshalling options: a DocumentClient keeps them on the client's shared config, so
    // the store must not depend on them (and never writes an undefined attribute).
    this.#table = new Table(DynamoDBDocumentClient.from(this.#client), options.tableName);
    this.#now = options.now ?? Date.now;
    this.#readText = options.readText;
  }

  async close(): Promise<void> {
    if (this.#ownsClient) this.#client.destroy();
  }

  // ---------------------------------------------------------------- domains

  async addDomain(name: string): Promise<Domain> {
    const domain = normalizeDomain(name);
    const item: DomainItem = { ...domainKey(domain), name: domain, createdAt: this.#now(), members: 0 };
    if (!(await this.#table.put(item, { exists: false }))) {
      throw new AlreadyExistsError(`domain ${domain} already exists`);
    }
    return toDomain(item);
  }

  async getDomain(name: string): Promise<Domain | undefined> {
    const domain = tryNormalizeDomain(name);
    if (domain === undefined) return undefined;
    const item = await this.#table.get<DomainItem>(domainKey(domain));
    return item && toDomain(item);
  }

  async listDomains(): Promise<Domain[]> {
    const items = await this.#table.query<DomainItem>({ pk: DOMAINS, prefix: 'D#' });
    return items.map(toDomain);
  }

  async removeDomain(name: string): Promise<void> {
    const domain = normalizeDomain(name);
    // The members counter moves in the same transactions as the accounts, aliases and routes.
    if (await this.#table.delete(domainKey(domain), { eq: { members: 0 } })) return;
    const item = await this.#table.get<DomainItem>(domainKey(domain));
    if (!item) throw new NotFoundError(`no domain ${domain}`);
    throw new DomainNotEmptyError(
      `domain ${domain} still has ${item.members} accounts, aliases or routes; remove them first`,
    );
  }

  // --------------------------------------------------------------- accounts

  async addAccount(address: string, passwordHash: string): Promise<Account> {
    const owner = normalizeAddress(address);
    checkPasswordHash(passwordHash);
    for (let leftovers = 0; ; leftovers++) {
      try {
        return await this.#retrying(() => this.#tryAddAccount(owner, passwordHash));
      } catch (err) {
        if (!(err instanceof Cancelled && err.reason === ACCOUNT_TAKEN)) throw err;
        const item = await this.#table.get<AccountItem>(accountKey(owner.domain, owner.address));
        if (item && !item.removing) throw new AlreadyExistsError(`${owner.address} is already an account`);
        // A removal that a crash interrupted: finish it, then add the account afresh.
        if (leftovers > 0) throw new ConflictError(`${owner.address} is being removed; retry`);
        if (item) await this.#finishRemoval(owner);
      }
    }
  }

  async #tryAddAccount(owner: ParsedAddress, passwordHash: string): Promise<Account> {
    const counter = await this.#table.get<UidValidityItem>(uidValidityKey(owner.address));
    const now = this.#now();
    let last = counter?.last ?? 0;
    const boxes = DEFAULT_MAILBOXES.map(({ name, specialUse }) => {
      last = nextUidValidity(owner.address, now, last);
      return this.#newMailbox(owner.address, name, specialUse, last, now);
    });
    const item: AccountItem = {
      ...accountKey(owner.domain, owner.address),
      address: owner.address,
      domain: owner.domain,
      passwordHash,
      createdAt: now,
    };
    await this.#table.transact([
      this.#joinDomain(owner.domain),
      {
        check: aliasKey(owner.domain, owner.address),
        if: { exists: false },
        onFail: new AlreadyExistsError(`${owner.address} is already an alias`),
      },
      { put: item, if: { exists: false }, onFail: ACCOUNT_TAKEN },
      uidValidityUpdate(owner.address, counter, last),
      ...boxes.map((box): TxOp => ({ put: box, if: { exists: false }, onFail: RETRY })),
    ]);
    return toAccount(item);
  }

  async getAccount(address: string): Promise<Account | undefined> {
    const item = await this.#findAccount(address);
    return item && toAccount(item);
  }

  async listAccounts(domain: string): Promise<Account[]> {
    const name = tryNormalizeDomain(domain);
    if (name === undefined) return [];
    const items = await this.#table.query<AccountItem>({ pk: domainPk(name), prefix: ACCOUNT_PREFIX });
    return items.filter((item) => !item.removing).map(toAccount);
  }

  async getPasswordHash(address: string): Promise<string | undefined> {
    return (await this.#findAccount(address))?.passwordHash;
  }

  async setPasswordHash(address: string, passwordHash: string): Promise<void> {
    const owner = normalizeAddress(address);
    checkPasswordHash(passwordHash);
    const updated = await this.#table.update(
      accountKey(owner.domain, owner.address),
      { set: { passwordHash } },
      { all: [{ exists: true }, { missing: 'removing' }] },
    );
    if (!updated) throw new NotFoundError(`no account ${owner.address}`);
  }

  /**
   * In steps, each of which a retry (or addAccount of the same address) repeats safely:
   * mark the account as being removed (readers no longer see it), take its mailboxes out
   * of its namespace 50 to a transaction, sweep their messages, delete the rest of its
   * partition, and last the account item itself.
   */
  async removeAccount(address: string): Promise<void> {
    const owner = normalizeAddress(address);
    const marked = await this.#table.update(
      accountKey(owner.domain, owner.address),
      { set: { removing: true } },
      { exists: true },
    );
    if (!marked) throw new NotFoundError(`no account ${owner.address}`);
    await this.#finishRemoval(owner);
  }

  async #finishRemoval(owner: ParsedAddress): Promise<void> {
    const pk = userPk(owner.address);
    for (let attempt = 0; ;) {
      const boxes = await this.#table.query<Pick<MailboxItem, 'pk' | 'sk' | 'id' | 'name'>>({
        pk,
        prefix: MAILBOX_PREFIX,
        limit: MAILBOXES_PER_TRANSACTION,
        attributes: ['pk', 'sk', 'id', 'name'],
      });
      if (boxes.length === 0) break;
      try {
        await this.#table.transact(
          boxes.flatMap((box) => this.#startDeletion(owner.address, box.id, box.name, keyOf(box))),
        );
      } catch (err) {
        // A mailbox changed name or went meanwhile: list again.
        if (!(err instanceof Cancelled && err.reason === RETRY)) throw err;
        await backoff(++attempt, MAX_ATTEMPTS);
      }
    }
    await this.#finishDeletions(owner.address);
    for await (const page of this.#table.pages<Key>({ pk, attributes: ['pk', 'sk'] })) {
      // The UIDVALIDITY counter outlives the account (RFC 3501 §2.3.1.1).
      await this.#table.batchWrite(
        page.filter((item) => item.sk !== UID_VALIDITY_SK).map((item) => ({ delete: keyOf(item) })),
      );
    }
    try {
      await this.#retrying(() =>
        this.#table.transact([
          {
            delete: accountKey(owner.domain, owner.address),
            if: { eq: { removing: true } },
            onFail: ACCOUNT_GONE,
          },
          this.#leaveDomain(owner.domain),
        ]),
      );
    } catch (err) {
      // Another call finished the same removal first.
      if (!(err instanceof Cancelled && err.reason === ACCOUNT_GONE)) throw err;
    }
  }

  // ---------------------------------------------------------------- aliases

  async addAlias(address: string, targets: string[]): Promise<Alias> {
    const { address: alias, domain } = normalizeAddress(address);
    const normalized = normalizeTargets(targets, `alias ${alias}`);
    const item: AliasItem = {
      ...aliasKey(domain, alias),
      address: alias,
      domain,
      targets: normalized,
      createdAt: this.#now(),
    };
    await this.#retrying(() =>
      this.#table.transact([
        this.#joinDomain(domain),
        {
          check: accountKey(domain, alias),
          if: { exists: false },
          onFail: new AlreadyExistsError(`${alias} is already an account`),
        },
        { put: item, if: { exists: false }, onFail: new AlreadyExistsError(`${alias} is already an alias`) },
      ]),
    );
    return toAlias(item);
  }

  async getAlias(address: string): Promise<Alias | undefined> {
    const parsed = tryParseAddress(address);
    if (parsed === undefined) return undefined;
    const item = await this.#table.get<AliasItem>(aliasKey(parsed.domain, parsed.address));
    return item && toAlias(item);
  }

  async listAliases(domain: string): Promise<Alias[]> {
    const name = tryNormalizeDomain(domain);
    if (name === undefined) return [];
    const items = await this.#table.query<AliasItem>({ pk: domainPk(name), prefix: ALIAS_PREFIX });
    return items.map(toAlias);
  }

  async removeAlias(address: string): Promise<void> {
    const { address: alias, domain } = normalizeAddress(address);
    await this.#retrying(() =>
      this.#table.transact([
        {
          delete: aliasKey(domain, alias),
          if: { exists: true },
          onFail: new NotFoundError(`no alias ${alias}`),
        },
        this.#leaveDomain(domain),
      ]),
    );
  }

  // ----------------------------------------------------------------- routes

  async addRoute(match: string, action: RouteAction): Promise<Route> {
    const { address, domain } = normalizeRouteMatch(match);
    const route: Route = {
      id: newRouteId(),
      match: address,
      domain,
      action: normalizeRouteAction(action),
      createdAt: this.#now(),
    };
    await this.#retrying(() =>
      this.#table.transact([
        this.#joinDomain(domain),
        { put: { ...routeKey(domain, address, route.id), ...route }, if: { exists: false } },
        { put: { ...routeIdKey(domain, route.id), ...route }, if: { exists: false } },
      ]),
    );
    return route;
  }

  async routesFor(match: string): Promise<Route[]> {
    let parsed: ParsedAddress;
    try {
      parsed = normalizeRouteMatch(match);
    } catch {
      return [];
    }
    const items = await this.#table.query<RouteItem>({
      pk: domainPk(parsed.domain),
      prefix: routeMatchPrefix(parsed.address),
    });
    return items.map(toRoute);
  }

  async listRoutes(domain: string): Promise<Route[]> {
    const name = tryNormalizeDomain(domain);
    if (name === undefined) return [];
    const items = await this.#table.query<RouteItem>({ pk: domainPk(name), prefix: ROUTE_ID_PREFIX });
    return items.map(toRoute);
  }

  async removeRoute(domain: string, id: string): Promise<void> {
    const name = normalizeDomain(domain);
    const routeId = String(id);
    const missing = () => new NotFoundError(`no route ${JSON.stringify(id)} in domain ${name}`);
    if (Buffer.byteLength(routeId) > MAX_ROUTE_ID_BYTES) throw missing();
    const item = await this.#table.get<RouteItem>(routeIdKey(name, routeId));
    if (!item) throw missing();
    await this.#retrying(() =>
      this.#table.transact([
        { delete: routeIdKey(name, routeId), if: { exists: true }, onFail: missing() },
        { delete: routeKey(name, item.match, routeId) },
        this.#leaveDomain(name),
      ]),
    );
  }

  // -------------------------------------------------------------- mailboxes

  async listMailboxes(account: string): Promise<Mailbox[]> {
    const owner = tryParseAddress(account);
    if (owner === undefined) return [];
    // Sort key order is UTF-8 byte order, as SQLite's; INBOX goes first.
    const items = await this.#table.query<MailboxItem>({ pk: userPk(owner.address), prefix: MAILBOX_PREFIX });
    const boxes = items.map(toMailbox);
    return [...boxes.filter((box) => box.name === INBOX), ...boxes.filter((box) => box.name !== INBOX)];
  }

  async getMailbox(account: string, name: string): Promise<Mailbox | undefined> {
    const owner = tryParseAddress(account);
    const mailbox = tryNormalizeMailboxName(name);
    if (owner === undefined || mailbox === undefined) return undefined;
    const item = await this.#table.get<MailboxItem>(mailboxKey(owner.address, mailbox));
    return item && toMailbox(item);
  }

  async createMailbox(
    account: string,
    name: string,
    options: { specialUse?: SpecialUse } = {},
  ): Promise<Mailbox> {
    const owner = normalizeAddress(account);
    const mailbox = normalizeMailboxName(name);
    const specialUse = checkSpecialUse(options.specialUse);
    return this.#retrying(async () => {
      const counter = await this.#table.get<UidValidityItem>(uidValidityKey(owner.address));
      const now = this.#now();
      const uidValidity = nextUidValidity(owner.address, now, counter?.last ?? 0);
      const item = this.#newMailbox(owner.address, mailbox, specialUse, uidValidity, now);
      await this.#table.transact([
        this.#accountCheck(owner),
        uidValidityUpdate(owner.address, counter, uidValidity),
        {
          put: item,
          if: { exists: false },
          onFail: new AlreadyExistsError(`mailbox ${JSON.stringify(mailbox)} already exists`),
        },
      ]);
      return toMailbox(item);
    });
  }

  /**
   * Takes the mailbox out of the account's namespace (its name is free at once, and no
   * write can commit into it any more) leaving a deletion marker, sweeps its partition, and
   * removes the marker. After a crash the marker stays: repeating the call finishes it.
   */
  async deleteMailbox(account: string, name: string): Promise<void> {
    const owner = normalizeAddress(account);
    const mailbox = normalizeMailboxName(name);
    // RFC 3501 §6.3.4: it is an error to attempt to delete INBOX.
    if (mailbox === INBOX) throw new InvalidNameError('INBOX cannot be deleted');
    const found = await this.#retrying(async () => {
      const item = await this.#table.get<MailboxItem>(mailboxKey(owner.address, mailbox));
      // Children ("a/b" when deleting "a") stay: they are mailboxes of their own.
      if (item) await this.#table.transact(this.#startDeletion(owner.address, item.id, mailbox, keyOf(item)));
      return item;
    });
    // This deletion, and any earlier one of the same name that a crash interrupted.
    const finished = await this.#finishDeletions(owner.address, mailbox);
    if (found || finished > 0) return;
    await this.#requireAccount(owner);
    throw new NotFoundError(`no mailbox ${JSON.stringify(mailbox)}`);
  }

  /** The two items that take a mailbox out of the namespace and remember to sweep it. */
  #startDeletion(account: string, id: string, name: string, key: Key): TxOp[] {
    const marker: DeletingItem = { ...deletingKey(account, id), id, name, at: this.#now() };
    return [{ delete: key, if: { eq: { id } }, onFail: RETRY }, { put: marker }];
  }

  /** Finishes the deletions left to do in this account (only those of `name` when given). */
  async #finishDeletions(account: string, name?: string): Promise<number> {
    const markers = await this.#table.query<DeletingItem>({
      pk: userPk(account),
      prefix: DELETING_PREFIX,
    });
    let finished = 0;
    for (const marker of markers) {
      if (name !== undefined && marker.name !== name) continue;
      await this.#finishDeletion(account, marker.id);
      finished++;
    }
    return finished;
  }

  async #finishDeletion(account: string, id: string): Promise<void> {
    for await (const page of this.#table.pages<Key>({ pk: boxPk(id), attributes: ['pk', 'sk'] })) {
      await this.#table.batchWrite(page.map((item) => ({ delete: keyOf(item) })));
    }
    await this.#table.delete(deletingKey(account, id));
  }

  /**
   * A mailbox item is keyed by its name, so a rename moves items: children first, 50 to a
   * transaction, the mailbox itself last. A tree of up to 50 mailboxes moves in one
   * transaction; a bigger one in steps, and after a crash the children already moved stay
   * moved: repeating the rename moves the rest and then the mailbox.
   */
  async renameMailbox(account: string, from: string, to: string): Promise<Mailbox> {
    const owner = normalizeAddress(account);
    const source = normalizeMailboxName(from);
    const target = normalizeMailboxName(to);
    if (source !== INBOX && target.startsWith(source + HIERARCHY_DELIMITER)) {
      throw new InvalidNameError(
        `cannot rename mailbox ${JSON.stringify(source)} into itself (${JSON.stringify(target)})`,
      );
    }
    return this.#retrying(async () => {
      const parent = await this.#requireMailbox(owner, source);
      if ((await this.#table.get(mailboxKey(owner.address, target))) !== undefined) {
        throw new AlreadyExistsError(`mailbox ${JSON.stringify(target)} already exists`);
      }
      return source === INBOX
        ? this.#renameInbox(owner, parent, target)
        : this.#renameTree(owner, parent, source, target);
    });
  }

  /**
   * RFC 3501 §6.3.5: renaming INBOX moves all its messages to a new mailbox with the new
   * name and leaves INBOX empty; INBOX's children are not renamed. The mailbox item (id,
   * UIDs, UIDVALIDITY, change log) takes the new name, which is one write however many
   * messages there are, and a fresh INBOX takes its place with a new UIDVALIDITY.
   */
  async #renameInbox(owner: ParsedAddress, inbox: MailboxItem, target: string): Promise<Mailbox> {
    const counter = await this.#table.get<UidValidityItem>(uidValidityKey(owner.address));
    const now = this.#now();
    const uidValidity = nextUidValidity(owner.address, now, counter?.last ?? 0);
    const moved: MailboxItem = {
      ...inbox,
      ...mailboxKey(owner.address, target),
      name: target,
      specialUse: null,
    };
    await this.#table.transact([
      {
        put: this.#newMailbox(owner.address, INBOX, null, uidValidity, now),
        if: { eq: unchanged(inbox) },
        onFail: RETRY,
      },
      {
        put: moved,
        if: { exists: false },
        onFail: new AlreadyExistsError(`mailbox ${JSON.stringify(target)} already exists`),
      },
      uidValidityUpdate(owner.address, counter, uidValidity),
    ]);
    return toMailbox(moved);
  }

  async #renameTree(
    owner: ParsedAddress,
    parent: MailboxItem,
    source: string,
    target: string,
  ): Promise<Mailbox> {
    const prefix = source + HIERARCHY_DELIMITER;
    const [children, taken] = await Promise.all([
      this.#table.query<MailboxItem>({ pk: userPk(owner.address), prefix: MAILBOX_PREFIX + prefix }),
      this.#table.query<Pick<MailboxItem, 'name'>>({
        pk: userPk(owner.address),
        prefix: MAILBOX_PREFIX + target + HIERARCHY_DELIMITER,
        attributes: ['name'],
      }),
    ]);
    const takenNames = new Set(taken.map((item) => item.name));
    const moves = children.map((child) => ({
      item: child,
      name: normalizeMailboxName(target + child.name.slice(source.length)),
    }));
    for (const move of moves) {
      if (takenNames.has(move.name)) {
        throw new AlreadyExistsError(`mailbox ${JSON.stringify(move.name)} already exists`);
      }
    }
    moves.push({ item: parent, name: target });
    let renamed: MailboxItem = parent;
    for (let i = 0; i < moves.length; i += MAILBOXES_PER_TRANSACTION) {
      const ops: TxOp[] = [];
      for (const move of moves.slice(i, i + MAILBOXES_PER_TRANSACTION)) {
        const item: MailboxItem = { ...move.item, ...mailboxKey(owner.address, move.name), name: move.name };
        ops.push(
          { delete: keyOf(move.item), if: { eq: unchanged(move.item) }, onFail: RETRY },
          {
            put: item,
            if: { exists: false },
            onFail: new AlreadyExistsError(`mailbox ${JSON.stringify(move.name)} already exists`),
          },
        );
        renamed = item;
      }
      await this.#table.transact(ops);
    }
    return toMailbox(renamed);
  }

  async setSubscribed(account: string, name: string, subscribed: boolean): Promise<void> {
    const owner = normalizeAddress(account);
    const mailbox = normalizeMailboxName(name);
    const updated = await this.#table.update(
      mailboxKey(owner.address, mailbox),
      { set: { subscribed: subscribed === true } },
      { exists: true },
    );
    if (updated) return;
    await this.#requireAccount(owner);
    throw new NotFoundError(`no mailbox ${JSON.stringify(mailbox)}`);
  }

  // --------------------------------------------------------------- messages

  /**
   * No transaction (docs/dynamodb.md, "Appending without a transaction"): the message's first
   * metadata item is put on condition that it does not exist, which claims the content id
   * and names the UID the message is to take; then its state item at that UID, on condition
   * that it does not exist; then the mailbox item is moved past it, on condition that
   * UIDNEXT and HIGHESTMODSEQ are still what they were. Readers see the messages below
   * UIDNEXT only, so until that last write the message is pending and no one sees it; a
   * writer that finds a pending message at UIDNEXT publishes it before its own. With an
   * idempotency key the content id comes from the key, so another delivery of the same key
   * into this mailbox finds the claim and follows it to the message.
   */
  async appendMessage(
    account: string,
    mailbox: string,
    message: NewMessage,
    options: { idempotencyKey?: string } = {},
  ): Promise<AppendResult> {
    const owner = normalizeAddress(account);
    const name = normalizeMailboxName(mailbox);
    checkNewMessage(message);
    const flags = normalizeFlags(message.flags ?? []);
    const key = options.idempotencyKey;
    checkIdempotencyKey(key);
    let box = await this.#requireMailbox(owner, name);
    const content = await encodeContent(message, { textElsewhere: this.#readText !== undefined });
    const cid = key === undefined ? newId() : keyedContentId(key);
    const at = this.#now();
    /** The mailbox (id) our claim is in, and the UID it names. */
    let claimedIn: string | undefined;
    let uid = 0;
    /** Whether this call wrote the claim, tried to write a state item, and wrote one. */
    let claimed = false;
    let tried = false;
    let stored = false;
    try {
      for (let attempt = 0; ; attempt++) {
        if (attempt > 0) {
          await backoff(attempt, MAX_ATTEMPTS);
          box = await this.#requireMailbox(owner, name);
        }
        if (claimedIn !== box.id) {
          const [first, ...rest] = contentItems(box.id, cid, content);
          if (rest.length > 0) await this.#table.batchWrite(rest.map((item) => ({ put: item })));
          const claim: ClaimItem = { ...first!, uid: box.uidNext, at };
          claimed = await this.#table.put(claim, { exists: false });
          const current = claimed ? claim : await this.#table.get<ClaimItem | TombstoneItem>(keyOf(claim));
          // Gone between the two calls (its mailbox swept, or TTL): claim again.
          if (current === undefined) continue;
          // This job's message was delivered, then expunged: do not deliver it again.
          if (!('data' in current)) {
            return { mailboxId: box.id, uid: current.uid, modseq: current.amod, duplicate: true };
          }
          claimedIn = box.id;
          uid = current.uid;
        }
        const state =
          claimed && attempt === 0 ? undefined : await this.#table.get<StateItem>(stateKey(box.id, uid));
        if (state?.cid === cid) {
          // Ours: published already, or pending at UIDNEXT.
          const modseq = uid < box.uidNext ? state.amod : await this.#publish(box, state);
          if (modseq !== undefined) return { mailboxId: box.id, uid, modseq, duplicate: !stored };
        } else if (uid === box.uidNext && state !== undefined) {
          // Another append's, pending: publish it, then take the next UID.
          await this.#publish(box, state);
        } else if (uid === box.uidNext) {
          const item = stateItem(box.id, uid, box.highestModseq + 1, {
            flags: JSON.stringify(flags),
            size: message.size,
            cid,
            at,
            ...partCounts(content),
          });
          tried = true;
          if (await this.#table.put(item, { exists: false })) {
            stored = true;
            const modseq = await this.#publish(box, item);
            if (modseq !== undefined) return { mailboxId: box.id, uid, modseq, duplicate: false };
          }
        } else {
          // The UID named went to another message (an earlier delivery of this key died
          // before its state): name UIDNEXT instead.
          const moved = await this.#table.update(
            contentKey(box.id, cid, 'M', 0),
            { set: { uid: box.uidNext } },
            { eq: { uid } },
          );
          if (moved) uid = box.uidNext;
          else claimedIn = undefined;
        }
        if (attempt + 1 >= MAX_ATTEMPTS) {
          throw new ConflictError(`mailbox ${JSON.stringify(name)} is too busy; retry`);
        }
      }
    } catch (err) {
      // An append without a key leaves nothing behind, unless a state may point at its
      // content (a put that failed without an answer may have been written); a keyed one
      // keeps its claim for the retry.
      if (key === undefined && claimed && !tried) {
        await this.#dropContent(box.id, [{ cid, ...partCounts(content) }]);
      }
      throw err;
    }
  }

  /**
   * Publishes `state`, pending at the mailbox's UIDNEXT: gives it the next MODSEQ if a write
   * took its MODSEQ meanwhile, then moves UIDNEXT and HIGHESTMODSEQ past it (and counts it).
   * Its MODSEQ, or undefined when another write came first (read the mailbox again). `state`
   * must have been read after `box`.
   */
  async #publish(box: MailboxItem, state: StateItem): Promise<number | undefined> {
    let modseq = state.modseq;
    if (modseq <= box.highestModseq) {
      modseq = box.highestModseq + 1;
      const renumbered = await this.#table.update(
        keyOf(state),
        { set: { modseq, amod: modseq } },
        { eq: { cid: state.cid, modseq: state.modseq } },
      );
      if (!renumbered) return undefined;
    }
    const seen = (JSON.parse(state.flags) as string[]).includes(SEEN);
    const published = await this.#table.update(
      keyOf(box),
      { set: { uidNext: state.uid + 1, highestModseq: modseq }, add: { messages: 1, unseen: seen ? 0 : 1 } },
      { eq: { id: box.id, uidNext: state.uid, highestModseq: box.highestModseq } },
    );
    return published ? modseq : undefined;
  }

  /** The mailbox, after publishing the append pending at its UIDNEXT, if there is one. */
  async #settled(owner: ParsedAddress, name: string): Promise<MailboxItem> {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await backoff(attempt, MAX_ATTEMPTS);
      const box = await this.#requireMailbox(owner, name);
      const pending = await this.#table.get<StateItem>(stateKey(box.id, box.uidNext));
      if (pending === undefined) return box;
      await this.#publish(box, pending);
      if (attempt + 1 >= MAX_ATTEMPTS) {
        throw new ConflictError(`mailbox ${JSON.stringify(name)} is too busy; retry`);
      }
    }
  }

  async getMessage(account: string, mailbox: string, uid: number): Promise<MessageRecord | undefined> {
    const owner = normalizeAddress(account);
    const name = normalizeMailboxName(mailbox);
    checkUid(uid);
    const box = await this.#requireMailbox(owner, name);
    if (uid >= box.uidNext) return undefined;
    const state = await this.#table.get<StateItem>(stateKey(box.id, uid));
    if (!state) return undefined;
    const parts = await this.#content(box.id, [state], contentLayout);
    const found = parts.get(state.cid);
    // Expunged between the two reads.
    if (!found) return undefined;
    const meta = decodeMeta(found.M);
    return {
      ...toMeta(box.id, state, JSON.parse(state.flags) as string[], meta),
      ...(await this.#text(found, meta.blobKey)),
    };
  }

  /** The search text: in text parts, inline in the first metadata item, or in the raw message. */
  async #text(found: StoredContent, blobKey: string): Promise<TextFields> {
    if (found.T.length > 0) return decodeText(found.T);
    if (found.inline !== undefined) return decodeText([found.inline]);
    if (this.#readText !== undefined) return this.#readText(blobKey);
    return { headerText: '', bodyText: '' };
  }

  async listMessages(
    account: string,
    mailbox: string,
    options: ListMessagesOptions = {},
  ): Promise<MessageMeta[]> {
    const owner = normalizeAddress(account);
    const name = normalizeMailboxName(mailbox);
    const range = checkListOptions(options);
    const box = await this.#requireMailbox(owner, name);
    const states = await this.#states(box, range);
    const parts = await this.#content(box.id, states, (state) =>
      contentLayout({ metaParts: state.metaParts, textParts: 0 }),
    );
    return states.flatMap((state) => {
      const found = parts.get(state.cid);
      return found ? [toMeta(box.id, state, JSON.parse(state.flags) as string[], decodeMeta(found.M))] : [];
    });
  }

  async listMessageStates(
    account: string,
    mailbox: string,
    options: ListMessagesOptions = {},
  ): Promise<MessageState[]> {
    const owner = normalizeAddress(account);
    const name = normalizeMailboxName(mailbox);
    const range = checkListOptions(options);
    const box = await this.#requireMailbox(owner, name);
    const flags = new FlagParser();
    return (await this.#states(box, range, ['uid', 'modseq', 'flags', 'size'])).map((state) => ({
      uid: state.uid,
      modseq: state.modseq,
      flags: flags.parse(state.flags),
      size: state.size,
    }));
  }

  /**
   * The content is copied first (new content ids in the target's partition, outside the
   * transaction); then one transaction puts the new state items and moves the target's
   * UIDNEXT and HIGHESTMODSEQ past them (changesSince finds them by their append MODSEQ).
   */
  async copyMessages(account: string, from: string, uids: number[], to: string): Promise<CopyResult> {
    const owner = normalizeAddress(account);
    const source = normalizeMailboxName(from);
    const target = normalizeMailboxName(to);
    const requested = checkUids(uids);
    const [src, dst] = await Promise.all([
      this.#requireMailbox(owner, source),
      this.#requireMailbox(owner, target),
    ]);
    const wanted = published(src, requested);
    if (wanted.length === 0) return { uidValidity: dst.uidValidity, mapping: [] };
    const states = (await this.#table.batchGet<StateItem>(wanted.map((uid) => stateKey(src.id, uid)))).sort(
      byUid,
    );
    const parts = await this.#content(src.id, states, contentLayout);
    const copies = states
      .filter((state) => parts.has(state.cid))
      .map((state) => ({ state, cid: newId(), flags: JSON.parse(state.flags) as string[] }));
    if (copies.length === 0) return { uidValidity: dst.uidValidity, mapping: [] };
    const written = copies.map((copy) => ({ cid: copy.cid, ...partCounts(copy.state) }));
    try {
      await this.#table.batchWrite(
        copies.flatMap((copy) => {
          const found = parts.get(copy.state.cid)!;
          return contentItems(dst.id, copy.cid, { meta: found.M, text: found.T, inline: found.inline }).map(
            (item) => ({ put: item }),
          );
        }),
      );
      return await this.#retrying(async (attempt) => {
        // A failed attempt may have met an append pending at UIDNEXT: publish it first.
        const box = attempt === 0 ? dst : await this.#settled(owner, target);
        if (box.id !== dst.id)
          throw new ConflictError(`mailbox ${JSON.stringify(target)} was replaced during the copy; retry`);
        let uid = box.uidNext;
        let modseq = box.highestModseq;
        let unseen = 0;
        const at = this.#now();
        const mapping: [number, number][] = [];
        const ops: TxOp[] = [];
        for (const copy of copies) {
          modseq += 1;
          if (!copy.flags.includes(SEEN)) unseen += 1;
          ops.push({
            put: stateItem(box.id, uid, modseq, {
              flags: copy.state.flags,
              size: copy.state.size,
              cid: copy.cid,
              at,
              ...partCounts(copy.state),
            }),
            if: { exists: false },
            onFail: RETRY,
          });
          mapping.push([copy.state.uid, uid]);
          uid += 1;
        }
        ops.push({
          update: keyOf(box),
          spec: { set: { uidNext: uid, highestModseq: modseq }, add: { messages: copies.length, unseen } },
          if: { eq: unchanged(box) },
          onFail: RETRY,
        });
        await this.#table.transact(ops);
        return { uidValidity: box.uidValidity, mapping };
      });
    } catch (err) {
      await this.#dropContent(dst.id, written);
      throw err;
    }
  }

  async updateFlags(
    account: string,
    mailbox: string,
    uids: number[],
    operation: FlagOperation,
    flags: string[],
    options: { unchangedSince?: number } = {},
  ): Promise<{ updated: FlagUpdate[]; skipped: number[] }> {
    const owner = normalizeAddress(account);
    const name = normalizeMailboxName(mailbox);
    const wanted = checkUids(uids);
    const given = normalizeFlags(flags);
    checkFlagOperation(operation);
    const { unchangedSince } = options;
    if (unchangedSince !== undefined) checkCount(unchangedSince, 'unchangedSince');
    return this.#retrying(async () => {
      const box = await this.#requireMailbox(owner, name);
      const updated: FlagUpdate[] = [];
      const skipped: number[] = [];
      const uids = published(box, wanted);
      if (uids.length === 0) return { updated, skipped };
      const states = (await this.#table.batchGet<StateItem>(uids.map((uid) => stateKey(box.id, uid)))).sort(
        byUid,
      );
      let modseq = box.highestModseq;
      let unseen = 0;
      const entries: ChangeEntry[] = [];
      const ops: TxOp[] = [];
      for (const state of states) {
        // RFC 7162 §3.1.3: a message changed after UNCHANGEDSINCE is left alone and reported.
        if (unchangedSince !== undefined && state.modseq > unchangedSince) {
          skipped.push(state.uid);
          continue;
        }
        const current = JSON.parse(state.flags) as string[];
        const next = applyFlags(current, operation, given);
        if (sameFlags(current, next)) continue;
        modseq += 1;
        unseen += (current.includes(SEEN) ? 1 : 0) - (next.includes(SEEN) ? 1 : 0);
        ops.push({
          update: keyOf(state),
          // The first change keeps the flags of the append for changesSince.
          spec: {
            set: { flags: JSON.stringify(next), modseq, ...(state.aflags ? {} : { aflags: state.flags }) },
          },
          if: { eq: { modseq: state.modseq } },
          onFail: RETRY,
        });
        entries.push([modseq, 'flags', state.uid, next]);
        updated.push({ uid: state.uid, modseq, flags: next });
      }
      if (updated.length === 0) return { updated, skipped };
      ops.push(
        { put: changeItem(box.id, this.#now(), entries) },
        {
          update: keyOf(box),
          spec: { set: { highestModseq: modseq }, add: { unseen } },
          if: { eq: unchanged(box) },
          onFail: RETRY,
        },
      );
      await this.#table.transact(ops);
      return { updated, skipped };
    });
  }

  /**
   * One transaction deletes the state items, logs the expunges and updates the mailbox
   * item; the content items go after it (a crash in between leaves unreachable content,
   * which deleting the mailbox sweeps).
   */
  async expunge(account: string, mailbox: string, uids: number[]): Promise<number[]> {
    const owner = normalizeAddress(account);
    const name = normalizeMailboxName(mailbox);
    const wanted = checkUids(uids);
    const { box, removed } = await this.#retrying(async () => {
      const box = await this.#requireMailbox(owner, name);
      const uids = published(box, wanted);
      if (uids.length === 0) return { box, removed: [] };
      const states = (await this.#table.batchGet<StateItem>(uids.map((uid) => stateKey(box.id, uid)))).sort(
        byUid,
      );
      if (states.length === 0) return { box, removed: [] };
      let modseq = box.highestModseq;
      let unseen = 0;
      const entries: ChangeEntry[] = [];
      const ops: TxOp[] = [];
      for (const state of states) {
        modseq += 1;
        if (!(JSON.parse(state.flags) as string[]).includes(SEEN)) unseen += 1;
        ops.push({ delete: keyOf(state), if: { exists: true }, onFail: RETRY });
        const appended = JSON.parse(state.aflags ?? state.flags) as string[];
        entries.push([modseq, 'expunge', state.uid, null, state.amod, appended, state.at]);
      }
      // uidNext is left alone: UIDs are never reused (RFC 3501 §2.3.1.1).
      ops.push(
        { put: changeItem(box.id, this.#now(), entries) },
        {
          update: keyOf(box),
          spec: { set: { highestModseq: modseq }, add: { messages: -states.length, unseen: -unseen } },
          if: { eq: unchanged(box) },
          onFail: RETRY,
        },
      );
      await this.#table.transact(ops);
      return { box, removed: states };
    });
    await this.#dropContent(box.id, removed, new Map(removed.map((state) => [state.cid, state])));
    return removed.map((state) => state.uid);
  }

  /**
   * Flag changes and expunges from the change log; appends from the state items (their
   * append MODSEQ), newest first until one is older than sinceModseq, and from the expunges
   * that undid them. Nothing pending: MODSEQs up to HIGHESTMODSEQ, UIDs below UIDNEXT.
   */
  async changesSince(
    account: string,
    mailbox: string,
    sinceModseq: number,
    limit?: number,
  ): Promise<Change[]> {
    const owner = normalizeAddress(account);
    const name = normalizeMailboxName(mailbox);
    checkCount(sinceModseq, 'sinceModseq');
    if (limit !== undefined) checkCount(limit, 'limit');
    const box = await this.#requireMailbox(owner, name);
    if (limit === 0 || sinceModseq >= box.highestModseq) return [];
    // Each item holds the changes of one write and is keyed by its last MODSEQ, so `limit`
    // items hold at least `limit` changes above sinceModseq.
    const [items, appended] = await Promise.all([
      this.#table.query<ChangeItem>({
        pk: boxPk(box.id),
        between: [changeSk(sinceModseq + 1), changeSk(box.highestModseq)],
        limit,
      }),
      this.#appendedSince(box, sinceModseq),
    ]);
    const appends = new Map<number, Change>();
    const changes: Change[] = [];
    for (const state of appended) {
      const flags = JSON.parse(state.aflags ?? state.flags) as string[];
      appends.set(state.uid, { modseq: state.amod, kind: 'append', uid: state.uid, flags, at: state.at });
    }
    for (const item of items) {
      for (const entry of JSON.parse(item.changes) as ChangeEntry[]) {
        const [modseq, kind, uid, flags] = entry;
        if (entry.length === 7 && entry[4] > sinceModseq) {
          appends.set(uid, { modseq: entry[4], kind: 'append', uid, flags: entry[5], at: entry[6] });
        }
        if (modseq <= sinceModseq) continue;
        const change: Change = { modseq, kind, uid, at: item.at };
        if (flags !== null) change.flags = flags;
        changes.push(change);
      }
    }
    changes.push(...appends.values());
    changes.sort((a, b) => a.modseq - b.modseq);
    return limit === undefined ? changes : changes.slice(0, limit);
  }

  /**
   * The published messages appended after sinceModseq: UIDs and append MODSEQs rise
   * together, so they are the top of the UID order. Small pages first, as a poll usually
   * finds one or two.
   */
  async #appendedSince(box: MailboxItem, sinceModseq: number): Promise<StateItem[]> {
    const found: StateItem[] = [];
    if (box.uidNext <= 1) return found;
    const pages = this.#table.pages<StateItem>({
      pk: boxPk(box.id),
      between: [stateSk(1), stateSk(box.uidNext - 1)],
      reverse: true,
      pageSize: 8,
      pageGrowth: 8,
    });
    for await (const page of pages) {
      for (const state of page) {
        if (state.amod <= sinceModseq) return found;
        found.push(state);
      }
    }
    return found;
  }

  // ----------------------------------------------------------------- leases

  async acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    checkLease(name, owner);
    checkCount(ttlMs, 'ttlMs');
    const now = Date.now();
    const until = now + ttlMs;
    // One conditional put: take a free lease, take over an expired one, or extend our own.
    return this.#table.put(
      { ...leaseKey(name), owner, until, expiresAt: Math.ceil(until / 1000) + LEASE_TTL_SLACK_S },
      { any: [{ exists: false }, { eq: { owner } }, { atMost: { until: now } }] },
    );
  }

  async releaseLease(name: string, owner: string): Promise<void> {
    checkLease(name, owner);
    await this.#table.delete(leaseKey(name), { eq: { owner } });
  }

  // ---------------------------------------------------------------- helpers

  /** Runs fn again (after a short random wait) while it ends in Cancelled(RETRY). */
  async #retrying<T>(fn: (attempt: number) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(attempt);
      } catch (err) {
        if (!(err instanceof Cancelled && err.reason === RETRY)) throw err;
        await backoff(attempt + 1, MAX_ATTEMPTS);
      }
    }
  }

  async #findAccount(address: string): Promise<AccountItem | undefined> {
    const parsed = tryParseAddress(address);
    if (parsed === undefined) return undefined;
    const item = await this.#table.get<AccountItem>(accountKey(parsed.domain, parsed.address));
    return item && !item.removing ? item : undefined;
  }

  async #requireAccount(owner: ParsedAddress): Promise<void> {
    const item = await this.#table.get<AccountItem>(accountKey(owner.domain, owner.address));
    if (!item || item.removing) throw new NotFoundError(`no account ${owner.address}`);
  }

  /** Mailboxes are only ever looked up by (account, name): an id or a path cannot cross accounts. */
  async #requireMailbox(owner: ParsedAddress, name: string): Promise<MailboxItem> {
    const item = await this.#table.get<MailboxItem>(mailboxKey(owner.address, name));
    if (item) return item;
    await this.#requireAccount(owner);
    throw new NotFoundError(`no mailbox ${JSON.stringify(name)}`);
  }

  #accountCheck(owner: ParsedAddress): TxOp {
    return {
      check: accountKey(owner.domain, owner.address),
      if: { all: [{ exists: true }, { missing: 'removing' }] },
      onFail: new NotFoundError(`no account ${owner.address}`),
    };
  }

  #joinDomain(domain: string): TxOp {
    return {
      update: domainKey(domain),
      spec: { add: { members: 1 } },
      if: { exists: true },
      onFail: new NotFoundError(`no domain ${domain}`),
    };
  }

  #leaveDomain(domain: string): TxOp {
    return {
      update: domainKey(domain),
      spec: { add: { members: -1 } },
      if: { exists: true },
      onFail: new NotFoundError(`no domain ${domain}`),
    };
  }

  #newMailbox(
    account: string,
    name: string,
    specialUse: SpecialUse | null,
    uidValidity: number,
    now: number,
  ): MailboxItem {
    return {
      ...mailboxKey(account, name),
      id: newId(),
      account,
      name,
      specialUse,
      uidValidity,
      uidNext: 1,
      // RFC 7162 §3.1.1: HIGHESTMODSEQ is a positive number, even for an empty mailbox.
      highestModseq: 1,
      subscribed: true,
      messages: 0,
      unseen: 0,
      createdAt: now,
    };
  }

  /** State items of a UID range, in UID order, at most range.limit; none pending (at UIDNEXT or above). */
  async #states(
    box: MailboxItem,
    range: { fromUid: number; toUid: number; limit: number | undefined },
    attributes?: string[],
  ): Promise<StateItem[]> {
    const toUid = Math.min(range.toUid, box.uidNext - 1);
    if (range.limit === 0 || range.fromUid > toUid) return [];
    return await this.#table.query<StateItem>({
      pk: boxPk(box.id),
      between: [stateSk(range.fromUid), stateSk(toUid)],
      limit: range.limit,
      attributes,
    });
  }

  /**
   * The content parts (as stored) of these messages by content id, layout saying which
   * parts; messages with a part missing (expunged meanwhile) are left out.
   */
  async #content(
    mailboxId: string,
    states: readonly StateItem[],
    layout: (state: StateItem) => [ContentKind, number][],
  ): Promise<Map<string, StoredContent>> {
    const wanted = states.map((state) => ({
      state,
      keys: layout(state).map(([kind, part]) => ({
        kind,
        part,
        key: contentKey(mailboxId, state.cid, kind, part),
      })),
    }));
    const items = await this.#table.batchGet<ContentItem>(wanted.flatMap((w) => w.keys.map((k) => k.key)));
    const bySk = new Map(items.map((item) => [item.sk, item]));
    const found = new Map<string, StoredContent>();
    for (const { state, keys } of wanted) {
      const parts: StoredContent = { M: [], T: [] };
      let complete = true;
      for (const { kind, part, key } of keys) {
        const item = bySk.get(key.sk);
        // No data: a tombstone, the message was expunged.
        if (item?.data === undefined) complete = false;
        else parts[kind][part] = item.data;
        if (item?.text !== undefined) parts.inline = item.text;
      }
      if (complete) found.set(state.cid, parts);
    }
    return found;
  }

  /**
   * Deletes content items, best effort: what a failure leaves is unreachable and goes with
   * its mailbox. With `buried`, the claim of each expunged message stays as a tombstone
   * until no delivery of its job can come back (TOMBSTONE_MS), so that one coming back
   * finds the message was delivered (and expunged) instead of delivering it again. A
   * tombstone costs the same write as the delete it replaces.
   */
  async #dropContent(
    mailboxId: string,
    contents: readonly { cid: string; metaParts?: number; textParts?: number }[],
    buried?: ReadonlyMap<string, Pick<StateItem, 'uid' | 'amod'>>,
  ): Promise<void> {
    const expiresAt = Math.ceil((this.#now() + TOMBSTONE_MS) / 1000);
    const writes = contents.flatMap((content) =>
      contentLayout(content).map(([kind, part]) => {
        const key = contentKey(mailboxId, content.cid, kind, part);
        const state = kind === 'M' && part === 0 ? buried?.get(content.cid) : undefined;
        if (state === undefined) return { delete: key };
        const tombstone: TombstoneItem = { ...key, uid: state.uid, amod: state.amod, expiresAt };
        return { put: tombstone };
      }),
    );
    await this.#table.batchWrite(writes).catch(() => undefined);
  }
}

/** A message's content items as read: metadata parts, text parts, inline text. */
interface StoredContent {
  M: Uint8Array[];
  T: Uint8Array[];
  inline?: Uint8Array;
}

/** The mailbox attributes a write rests on: if any moved, the write reads again. */
function unchanged(box: MailboxItem): Record<string, unknown> {
  return { id: box.id, uidNext: box.uidNext, highestModseq: box.highestModseq, subscribed: box.subscribed };
}

function uidValidityUpdate(account: string, counter: UidValidityItem | undefined, last: number): TxOp {
  return {
    update: uidValidityKey(account),
    spec: { set: { last } },
    if: counter === undefined ? { exists: false } : { eq: { last: counter.last } },
    onFail: RETRY,
  };
}

/** The part counts of a state item, set only when not 1 (no attribute is ever undefined). */
function partCounts(parts: EncodedContent | Pick<StateItem, 'metaParts' | 'textParts'>): {
  metaParts?: number;
  textParts?: number;
} {
  const [meta, text] =
    'meta' in parts ? [parts.meta.length, parts.text.length] : [parts.metaParts ?? 1, parts.textParts ?? 1];
  return { ...(meta !== 1 ? { metaParts: meta } : {}), ...(text !== 1 ? { textParts: text } : {}) };
}

/** A new message's state item: appended with this MODSEQ, at this UID. */
function stateItem(
  mailboxId: string,
  uid: number,
  modseq: number,
  fields: Pick<StateItem, 'flags' | 'size' | 'cid' | 'at' | 'metaParts' | 'textParts'>,
): StateItem {
  return { ...stateKey(mailboxId, uid), uid, modseq, amod: modseq, ...fields };
}

/** The content items of a message: metadata parts (the first with the inline text), then text parts. */
function contentItems(
  mailboxId: string,
  cid: string,
  content: { meta: readonly Uint8Array[]; text: readonly Uint8Array[]; inline?: Uint8Array | undefined },
): ContentItem[] {
  return [
    ...content.meta.map((data, part) => ({
      ...contentKey(mailboxId, cid, 'M', part),
      data,
      ...(part === 0 && content.inline !== undefined ? { text: content.inline } : {}),
    })),
    ...content.text.map((data, part) => ({ ...contentKey(mailboxId, cid, 'T', part), data })),
  ];
}

function changeItem(mailboxId: string, at: number, entries: ChangeEntry[]): ChangeItem {
  return { pk: boxPk(mailboxId), sk: changeSk(entries.at(-1)![0]), at, changes: JSON.stringify(entries) };
}

function toDomain(item: DomainItem): Domain {
  return { name: item.name, createdAt: item.createdAt };
}

function toAccount(item: AccountItem): Account {
  return { address: item.address, domain: item.domain, createdAt: item.createdAt };
}

function toAlias(item: AliasItem): Alias {
  return { address: item.address, domain: item.domain, targets: item.targets, createdAt: item.createdAt };
}

function toRoute(item: RouteItem): Route {
  return {
    id: item.id,
    match: item.match,
    domain: item.domain,
    action: item.action,
    createdAt: item.createdAt,
  };
}

function toMailbox(item: MailboxItem): Mailbox {
  return {
    id: item.id,
    account: item.account,
    name: item.name,
    specialUse: item.specialUse ?? null,
    uidValidity: item.uidValidity,
    uidNext: item.uidNext,
    highestModseq: item.highestModseq,
    subscribed: item.subscribed,
    messages: item.messages,
    unseen: item.unseen,
    createdAt: item.createdAt,
  };
}

function toMeta(
  mailboxId: string,
  state: StateItem,
  flags: string[],
  meta: ReturnType<typeof decodeMeta>,
): MessageMeta {
  return {
    mailboxId,
    uid: state.uid,
    modseq: state.modseq,
    flags,
    blobKey: meta.blobKey,
    size: state.size,
    internalDate: meta.internalDate,
    structure: meta.structure,
    summary: meta.summary,
  };
}
