import { randomBytes } from 'node:crypto';
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
import { decodeMeta, decodeText, encodeContent, type EncodedContent } from './content.js';
import {
  ACCOUNT_PREFIX,
  ALIAS_PREFIX,
  CHANGE_PREFIX,
  DELETING_PREFIX,
  DOMAINS,
  MAILBOX_PREFIX,
  PAD_MAX,
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
  idempotencyKey,
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
   * How long a delivery's idempotency key is kept (DynamoDB's TTL deletes it after). A job
   * cannot come back later than its queue keeps it: SQS keeps a message 14 days at most.
   */
  idempotencyRetentionMs?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULT_IDEMPOTENCY_RETENTION_MS = 35 * DAY_MS;
/** How long past its end an abandoned lease item stays before TTL may collect it. */
const LEASE_TTL_SLACK_S = 3600;
/** Attempts of one optimistic write (read, then write on condition that nothing changed). */
const MAX_ATTEMPTS = 40;
/** Mailboxes renamed or moved per transaction: two items each (delete the old key, put the new). */
const MAILBOXES_PER_TRANSACTION = MAX_TRANSACTION_ITEMS / 2;
const MAX_ROUTE_ID_BYTES = 200;

/** A delivery whose idempotency key another call wrote first. */
const DUPLICATE = Symbol('duplicate');
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
  /** JSON array: a mailbox has a handful of distinct flag sets, each parsed once per listing. */
  flags: string;
  size: number;
  /** Content id: the message's metadata and text items are K#<cid>#M<n> and K#<cid>#T<n>. */
  cid: string;
  /** Number of metadata and text parts, when more than one. */
  metaParts?: number;
  textParts?: number;
}

interface ContentItem extends Key {
  data: Uint8Array;
}

/** [modseq, kind, uid, flags or null] */
type ChangeEntry = [number, ChangeKind, number, string[] | null];

interface ChangeItem extends Key {
  at: number;
  /** JSON array of ChangeEntry, MODSEQs consecutive, the last one in the sort key. */
  changes: string;
}

interface IdempotencyItem extends Key {
  mailboxId: string;
  uid: number;
  modseq: number;
  createdAt: number;
  expiresAt: number;
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
  readonly #idempotencyRetentionMs: number;

  constructor(options: DynamoDbStoreOptions) {
    this.#ownsClient = options.client === undefined;
    this.#client = options.client ?? new DynamoDBClient(options.clientConfig ?? {});
    // No marshalling options: a DocumentClient keeps them on the client's shared config, so
    // the store must not depend on them (and never writes an undefined attribute).
    this.#table = new Table(DynamoDBDocumentClient.from(this.#client), options.tableName);
    this.#now = options.now ?? Date.now;
    this.#idempotencyRetentionMs = options.idempotencyRetentionMs ?? DEFAULT_IDEMPOTENCY_RETENTION_MS;
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
   * One transaction: the mailbox item (UIDNEXT and HIGHESTMODSEQ on condition that they
   * have not moved, counters), the message's state item, its content (written just before,
   * outside the transaction, when bigger than 16 KB), its change log item, and the
   * idempotency item on condition that it does not exist yet.
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
    const keyItem = key === undefined ? undefined : idempotencyKey(owner.address, key);
    const [earlier, found] = await Promise.all([
      keyItem && this.#table.get<IdempotencyItem>(keyItem),
      this.#table.get<MailboxItem>(mailboxKey(owner.address, name)),
    ]);
    if (earlier) return duplicateOf(earlier);
    let box = found ?? (await this.#requireMailbox(owner, name));

    const content = await encodeContent(message);
    const cid = newId();
    // The content (metadata, search text) is written before the transaction, not in it:
    // a transactional write costs twice the WRU of a plain one, and the content is most of
    // the bytes (docs/dynamodb.md). A crash in between leaves content nothing points at,
    // collected with its mailbox.
    let contentIn: string | undefined;
    try {
      return await this.#retrying(async (attempt) => {
        if (attempt > 0) box = await this.#requireMailbox(owner, name);
        const target = box;
        if (contentIn !== target.id) {
          await this.#table.batchWrite(contentItems(target.id, cid, content).map((item) => ({ put: item })));
          contentIn = target.id;
        }
        const uid = target.uidNext;
        const modseq = target.highestModseq + 1;
        const at = this.#now();
        const ops: TxOp[] = [
          {
            update: keyOf(target),
            spec: {
              set: { uidNext: uid + 1, highestModseq: modseq },
              add: { messages: 1, unseen: flags.includes(SEEN) ? 0 : 1 },
            },
            if: { eq: unchanged(target) },
            onFail: RETRY,
          },
          {
            put: stateItem(target.id, uid, modseq, flags, message.size, cid, content),
            if: { exists: false },
            onFail: RETRY,
          },
          { put: changeItem(target.id, at, [[modseq, 'append', uid, flags]]) },
        ];
        if (keyItem !== undefined) {
          const record: IdempotencyItem = {
            ...keyItem,
            mailboxId: target.id,
            uid,
            modseq,
            createdAt: at,
            expiresAt: Math.ceil((at + this.#idempotencyRetentionMs) / 1000),
          };
          ops.push({ put: record, if: { exists: false }, onFail: DUPLICATE });
        }
        await this.#table.transact(ops);
        return { mailboxId: target.id, uid, modseq, duplicate: false };
      });
    } catch (err) {
      if (contentIn !== undefined) await this.#dropContent(contentIn, [{ cid, ...partCounts(content) }]);
      if (err instanceof Cancelled && err.reason === DUPLICATE && keyItem !== undefined) {
        // Another delivery of the same job got there first.
        const first = await this.#table.get<IdempotencyItem>(keyItem);
        if (first) return duplicateOf(first);
        throw new ConflictError('a delivery with the same idempotency key is in progress; retry', {
          cause: err,
        });
      }
      throw err;
    }
  }

  async getMessage(account: string, mailbox: string, uid: number): Promise<MessageRecord | undefined> {
    const owner = normalizeAddress(account);
    const name = normalizeMailboxName(mailbox);
    checkUid(uid);
    const box = await this.#requireMailbox(owner, name);
    const state = await this.#table.get<StateItem>(stateKey(box.id, uid));
    if (!state) return undefined;
    const parts = await this.#content(box.id, [state], contentLayout);
    const found = parts.get(state.cid);
    // Expunged between the two reads.
    if (!found) return undefined;
    return {
      ...toMeta(box.id, state, JSON.parse(state.flags) as string[], decodeMeta(found.M)),
      ...(await decodeText(found.T)),
    };
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
    const states = await this.#states(box.id, range);
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
    return (await this.#states(box.id, range, ['uid', 'modseq', 'flags', 'size'])).map((state) => ({
      uid: state.uid,
      modseq: state.modseq,
      flags: flags.parse(state.flags),
      size: state.size,
    }));
  }

  /**
   * The content is copied first (new content ids in the target's partition, outside the
   * transaction); then one transaction puts the new state items, their change log item and
   * the target's UIDNEXT and HIGHESTMODSEQ.
   */
  async copyMessages(account: string, from: string, uids: number[], to: string): Promise<CopyResult> {
    const owner = normalizeAddress(account);
    const source = normalizeMailboxName(from);
    const target = normalizeMailboxName(to);
    const wanted = checkUids(uids);
    const [src, dst] = await Promise.all([
      this.#requireMailbox(owner, source),
      this.#requireMailbox(owner, target),
    ]);
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
          return [
            ...found.M.map((data, part) => ({ put: { ...contentKey(dst.id, copy.cid, 'M', part), data } })),
            ...found.T.map((data, part) => ({ put: { ...contentKey(dst.id, copy.cid, 'T', part), data } })),
          ];
        }),
      );
      return await this.#retrying(async (attempt) => {
        const box = attempt === 0 ? dst : await this.#requireMailbox(owner, target);
        if (box.id !== dst.id)
          throw new ConflictError(`mailbox ${JSON.stringify(target)} was replaced during the copy; retry`);
        let uid = box.uidNext;
        let modseq = box.highestModseq;
        let unseen = 0;
        const at = this.#now();
        const entries: ChangeEntry[] = [];
        const mapping: [number, number][] = [];
        const ops: TxOp[] = [];
        for (const copy of copies) {
          modseq += 1;
          if (!copy.flags.includes(SEEN)) unseen += 1;
          ops.push({
            put: {
              ...stateKey(box.id, uid),
              uid,
              modseq,
              flags: copy.state.flags,
              size: copy.state.size,
              cid: copy.cid,
              ...partCounts(copy.state),
            } satisfies StateItem,
            if: { exists: false },
            onFail: RETRY,
          });
          entries.push([modseq, 'append', uid, copy.flags]);
          mapping.push([copy.state.uid, uid]);
          uid += 1;
        }
        ops.push(
          { put: changeItem(box.id, at, entries) },
          {
            update: keyOf(box),
            spec: { set: { uidNext: uid, highestModseq: modseq }, add: { messages: copies.length, unseen } },
            if: { eq: unchanged(box) },
            onFail: RETRY,
          },
        );
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
      if (wanted.length === 0) return { updated, skipped };
      const states = (await this.#table.batchGet<StateItem>(wanted.map((uid) => stateKey(box.id, uid)))).sort(
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
          spec: { set: { flags: JSON.stringify(next), modseq } },
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
      if (wanted.length === 0) return { box, removed: [] };
      const states = (await this.#table.batchGet<StateItem>(wanted.map((uid) => stateKey(box.id, uid)))).sort(
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
        entries.push([modseq, 'expunge', state.uid, null]);
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
    await this.#dropContent(box.id, removed);
    return removed.map((state) => state.uid);
  }

  /** One Query of the mailbox's change log from sinceModseq (after the GetItem of the mailbox). */
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
    if (limit === 0) return [];
    // Each item holds the changes of one write and is keyed by its last MODSEQ, so `limit`
    // items hold at least `limit` changes above sinceModseq.
    const items = await this.#table.query<ChangeItem>({
      pk: boxPk(box.id),
      between: [changeSk(sinceModseq + 1), CHANGE_PREFIX + PAD_MAX],
      limit,
    });
    const changes: Change[] = [];
    for (const item of items) {
      for (const [modseq, kind, uid, flags] of JSON.parse(item.changes) as ChangeEntry[]) {
        if (modseq <= sinceModseq) continue;
        const change: Change = { modseq, kind, uid, at: item.at };
        if (flags !== null) change.flags = flags;
        changes.push(change);
      }
    }
    return limit === undefined ? changes : changes.slice(0, limit);
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

  /** State items of a UID range, in UID order, at most range.limit. */
  async #states(
    mailboxId: string,
    range: { fromUid: number; toUid: number; limit: number | undefined },
    attributes?: string[],
  ): Promise<StateItem[]> {
    if (range.limit === 0 || range.fromUid > range.toUid) return [];
    return await this.#table.query<StateItem>({
      pk: boxPk(mailboxId),
      between: [stateSk(range.fromUid), stateSk(range.toUid)],
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
  ): Promise<Map<string, { M: Uint8Array[]; T: Uint8Array[] }>> {
    const wanted = states.map((state) => ({
      state,
      keys: layout(state).map(([kind, part]) => ({
        kind,
        part,
        key: contentKey(mailboxId, state.cid, kind, part),
      })),
    }));
    const items = await this.#table.batchGet<ContentItem>(wanted.flatMap((w) => w.keys.map((k) => k.key)));
    const bySk = new Map(items.map((item) => [item.sk, item.data]));
    const found = new Map<string, { M: Uint8Array[]; T: Uint8Array[] }>();
    for (const { state, keys } of wanted) {
      const parts: { M: Uint8Array[]; T: Uint8Array[] } = { M: [], T: [] };
      let complete = true;
      for (const { kind, part, key } of keys) {
        const data = bySk.get(key.sk);
        if (data === undefined) complete = false;
        else parts[kind][part] = data;
      }
      if (complete) found.set(state.cid, parts);
    }
    return found;
  }

  /** Deletes content items, best effort: what a failure leaves is unreachable and goes with its mailbox. */
  async #dropContent(
    mailboxId: string,
    contents: readonly { cid: string; metaParts?: number; textParts?: number }[],
  ): Promise<void> {
    const keys = contents.flatMap((content) =>
      contentLayout(content).map(([kind, part]) => ({
        delete: contentKey(mailboxId, content.cid, kind, part),
      })),
    );
    await this.#table.batchWrite(keys).catch(() => undefined);
  }
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

/** The part counts of a state item, set only when more than one (no attribute is ever undefined). */
function partCounts(parts: EncodedContent | Pick<StateItem, 'metaParts' | 'textParts'>): {
  metaParts?: number;
  textParts?: number;
} {
  const [meta, text] =
    'meta' in parts ? [parts.meta.length, parts.text.length] : [parts.metaParts, parts.textParts];
  return {
    ...(meta !== undefined && meta > 1 ? { metaParts: meta } : {}),
    ...(text !== undefined && text > 1 ? { textParts: text } : {}),
  };
}

function stateItem(
  mailboxId: string,
  uid: number,
  modseq: number,
  flags: string[],
  size: number,
  cid: string,
  content: EncodedContent,
): StateItem {
  return {
    ...stateKey(mailboxId, uid),
    uid,
    modseq,
    flags: JSON.stringify(flags),
    size,
    cid,
    ...partCounts(content),
  };
}

function contentItems(mailboxId: string, cid: string, content: EncodedContent): ContentItem[] {
  return [
    ...content.meta.map((data, part) => ({ ...contentKey(mailboxId, cid, 'M', part), data })),
    ...content.text.map((data, part) => ({ ...contentKey(mailboxId, cid, 'T', part), data })),
  ];
}

function changeItem(mailboxId: string, at: number, entries: ChangeEntry[]): ChangeItem {
  return { pk: boxPk(mailboxId), sk: changeSk(entries.at(-1)![0]), at, changes: JSON.stringify(entries) };
}

function duplicateOf(item: IdempotencyItem): AppendResult {
  return { mailboxId: item.mailboxId, uid: item.uid, modseq: item.modseq, duplicate: true };
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
