import type { MessageStructure, MessageSummary } from '../mail/types.js';

/*
 * The directory (domains, accounts, aliases, routes) and the mailboxes.
 *
 * Shaped so that DynamoDB can implement every call with single-partition queries and
 * conditional or transactional writes of at most 100 items, and never a scan:
 *  - directory items live in the partition of their domain (listing a domain's accounts is
 *    one query; listing all domains is one query of a fixed "domains" partition);
 *  - an account's mailboxes live in the account's partition;
 *  - a mailbox's messages and change log live in the mailbox's partition, sorted by UID
 *    and by MODSEQ;
 *  - calls that take many UIDs are bounded (MAX_BATCH) so one call is one transaction.
 */

/** The largest number of messages one call may change (one DynamoDB transaction holds 100 items). */
export const MAX_BATCH = 50;

export interface Domain {
  /** Lower case, e.g. "example.test". */
  name: string;
  createdAt: number;
}

export interface Account {
  /** Lower case address; also the account's id. */
  address: string;
  domain: string;
  createdAt: number;
}

export interface Alias {
  /** Lower case address. */
  address: string;
  domain: string;
  /** Where mail goes: local or external addresses, at least one. */
  targets: string[];
  createdAt: number;
}

/** What a route does with a message for its address. */
export type RouteAction =
  | { type: 'deliver'; account: string; folder?: string }
  | { type: 'forward'; to: string[] }
  | { type: 'webhook'; url: string; secret: string }
  | { type: 'drop' }
  | { type: 'reject'; message?: string };

export interface Route {
  id: string;
  /** Lower case address the route applies to, or `*@domain` for the domain's catch-all. */
  match: string;
  domain: string;
  action: RouteAction;
  createdAt: number;
}

export type SpecialUse = '\\Sent' | '\\Drafts' | '\\Trash' | '\\Junk' | '\\Archive';

export interface Mailbox {
  id: string;
  account: string;
  /** Full name with "/" as hierarchy delimiter; "INBOX" is always spelt so. */
  name: string;
  specialUse: SpecialUse | null;
  uidValidity: number;
  uidNext: number;
  highestModseq: number;
  subscribed: boolean;
  /** Number of messages and of messages without \Seen (kept with every write). */
  messages: number;
  unseen: number;
  createdAt: number;
}

/** A message as it is added: the parse result plus where the raw bytes are. */
export interface NewMessage {
  blobKey: string;
  size: number;
  /** INTERNALDATE, ms since the epoch. */
  internalDate: number;
  /** System flags (\Seen, \Answered, \Flagged, \Deleted, \Draft) and keywords. */
  flags?: string[];
  structure: MessageStructure;
  summary: MessageSummary;
  headerText: string;
  bodyText: string;
}

export interface MessageRecord extends NewMessage {
  mailboxId: string;
  uid: number;
  modseq: number;
  flags: string[];
}

/** A message without the large search fields: what listings and FETCH FLAGS read. */
export type MessageMeta = Omit<MessageRecord, 'headerText' | 'bodyText'>;

/** The part of a message that changes: what SELECT, FETCH FLAGS and CONDSTORE read for a whole mailbox. */
export interface MessageState {
  uid: number;
  modseq: number;
  flags: string[];
  /** RFC822.SIZE: what a POP3 maildrop lists. */
  size: number;
}

export interface CopyResult {
  /** UIDVALIDITY of the target mailbox (COPYUID, RFC 4315). */
  uidValidity: number;
  /** [source uid, new uid] pairs, in source UID order; missing source UIDs are left out. */
  mapping: [number, number][];
}

export interface AppendResult {
  mailboxId: string;
  uid: number;
  modseq: number;
  /** True when the idempotency key had been used already: nothing was added, uid is the earlier one. */
  duplicate: boolean;
}

export type ChangeKind = 'append' | 'flags' | 'expunge';

/** One entry of a mailbox's change log: what IDLE, NOOP and other sessions read. */
export interface Change {
  modseq: number;
  kind: ChangeKind;
  uid: number;
  /** The flags after a 'flags' or 'append' change. */
  flags?: string[];
  at: number;
}

export type FlagOperation = 'add' | 'remove' | 'replace';

export interface FlagUpdate {
  uid: number;
  modseq: number;
  flags: string[];
}

export interface ListMessagesOptions {
  /** Only UIDs >= this. */
  fromUid?: number;
  /** Only UIDs <= this. */
  toUid?: number;
  /** At most this many, in UID order. */
  limit?: number;
}

export interface Directory {
  addDomain(name: string): Promise<Domain>;
  getDomain(name: string): Promise<Domain | undefined>;
  listDomains(): Promise<Domain[]>;
  /** Refuses (DomainNotEmptyError) while the domain has accounts, aliases or routes. */
  removeDomain(name: string): Promise<void>;

  /** Creates the account and its mailboxes: INBOX, Sent, Drafts, Trash, Junk, Archive. */
  addAccount(address: string, passwordHash: string): Promise<Account>;
  getAccount(address: string): Promise<Account | undefined>;
  listAccounts(domain: string): Promise<Account[]>;
  /** The stored hash, for the authenticator only (never logged). */
  getPasswordHash(address: string): Promise<string | undefined>;
  setPasswordHash(address: string, passwordHash: string): Promise<void>;
  /** Removes the account and its mailboxes and messages (their blobs stay for the collector). */
  removeAccount(address: string): Promise<void>;

  addAlias(address: string, targets: string[]): Promise<Alias>;
  getAlias(address: string): Promise<Alias | undefined>;
  listAliases(domain: string): Promise<Alias[]>;
  removeAlias(address: string): Promise<void>;

  addRoute(match: string, action: RouteAction): Promise<Route>;
  /** Routes whose match is exactly this (an address or `*@domain`), oldest first. */
  routesFor(match: string): Promise<Route[]>;
  listRoutes(domain: string): Promise<Route[]>;
  removeRoute(domain: string, id: string): Promise<void>;
}

export interface MailStore {
  listMailboxes(account: string): Promise<Mailbox[]>;
  getMailbox(account: string, name: string): Promise<Mailbox | undefined>;
  createMailbox(account: string, name: string, options?: { specialUse?: SpecialUse }): Promise<Mailbox>;
  /** Deletes the mailbox and its messages; INBOX cannot be deleted. */
  deleteMailbox(account: string, name: string): Promise<void>;
  renameMailbox(account: string, from: string, to: string): Promise<Mailbox>;
  setSubscribed(account: string, name: string, subscribed: boolean): Promise<void>;

  /**
   * Adds a message with the next UID and MODSEQ. With an idempotency key, a second call
   * with the same key for the same mailbox adds nothing and returns the first result with
   * duplicate: true. A key belongs to its mailbox: the same key in another mailbox (or in a
   * mailbox deleted and made again) is another message. Ingest keys by job and folder.
   */
  appendMessage(
    account: string,
    mailbox: string,
    message: NewMessage,
    options?: { idempotencyKey?: string },
  ): Promise<AppendResult>;
  getMessage(account: string, mailbox: string, uid: number): Promise<MessageRecord | undefined>;
  listMessages(account: string, mailbox: string, options?: ListMessagesOptions): Promise<MessageMeta[]>;
  /** UID, MODSEQ and flags of messages in UID order: cheap enough for a 100,000-message SELECT. */
  listMessageStates(account: string, mailbox: string, options?: ListMessagesOptions): Promise<MessageState[]>;
  /**
   * Copies up to MAX_BATCH messages (same blob, same flags and internal date, new UIDs and
   * MODSEQs) into another mailbox of the same account, in one transaction.
   */
  copyMessages(account: string, from: string, uids: number[], to: string): Promise<CopyResult>;
  /**
   * Changes flags of up to MAX_BATCH messages; each changed message gets a new MODSEQ.
   * With unchangedSince (CONDSTORE), messages whose MODSEQ is higher are left alone and
   * reported in `skipped`.
   */
  updateFlags(
    account: string,
    mailbox: string,
    uids: number[],
    operation: FlagOperation,
    flags: string[],
    options?: { unchangedSince?: number },
  ): Promise<{ updated: FlagUpdate[]; skipped: number[] }>;
  /** Removes up to MAX_BATCH messages; returns the UIDs removed. */
  expunge(account: string, mailbox: string, uids: number[]): Promise<number[]>;
  /** Changes with MODSEQ > sinceModseq, in MODSEQ order, at most limit. */
  changesSince(account: string, mailbox: string, sinceModseq: number, limit?: number): Promise<Change[]>;

  /**
   * Takes the lease `name` for `owner` until ttlMs from now, or extends it when owner holds it
   * already. False when another owner holds it and it has not expired. Leases are how
   * processes exclude each other (the POP3 maildrop lock, RFC 1939 §8): a process that dies
   * holding one frees it when the lease runs out, so holders renew well before that.
   */
  acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if owner holds it; does nothing otherwise. */
  releaseLease(name: string, owner: string): Promise<void>;
}

/** Both ports in one object: the SQLite adapter and the DynamoDB adapter each implement both. */
export type Store = Directory & MailStore & { close(): Promise<void> };
