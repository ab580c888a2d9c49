/*
 * Rules every adapter applies the same way: argument checks that are not about names
 * (UIDs, counts, messages, leases), the default mailboxes, how flags combine and how
 * UIDVALIDITY is chosen. Nothing here does I/O.
 */
import { InvalidArgumentError, LimitError, StoreError } from './errors.js';
import { INBOX, normalizeFlags } from './names.js';
import {
  MAX_BATCH,
  type FlagOperation,
  type ListMessagesOptions,
  type NewMessage,
  type SpecialUse,
} from './types.js';

/** The mailboxes every new account gets (RFC 6154 special uses), all subscribed. */
export const DEFAULT_MAILBOXES: readonly { name: string; specialUse: SpecialUse | null }[] = [
  { name: INBOX, specialUse: null },
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Drafts', specialUse: '\\Drafts' },
  { name: 'Trash', specialUse: '\\Trash' },
  { name: 'Junk', specialUse: '\\Junk' },
  { name: 'Archive', specialUse: '\\Archive' },
];

/** UIDVALIDITY is an nz-number, a 32-bit unsigned integer (RFC 3501 §9). */
export const MAX_UID_VALIDITY = 0xffff_ffff;
export const MAX_IDEMPOTENCY_KEY = 512;
export const MAX_LEASE_NAME = 512;

/**
 * RFC 3501 §2.3.1.1: a mailbox re-created under an old name must get a greater
 * UIDVALIDITY. Seconds since the epoch, bumped past the last value this account was
 * given, so values are unique and increasing per account even within one second.
 */
export function nextUidValidity(account: string, nowMs: number, last: number): number {
  const value = Math.max(Math.floor(nowMs / 1000), last + 1);
  if (value > MAX_UID_VALIDITY) throw new StoreError(`UIDVALIDITY for ${account} would exceed 32 bits`);
  return value;
}

export function checkPasswordHash(hash: string): void {
  // The hash itself never goes into a message.
  if (typeof hash !== 'string' || hash.length === 0)
    throw new InvalidArgumentError('password hash must be a non-empty string');
}

export function checkCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${what} must be a non-negative integer, got ${String(value)}`);
  }
}

export function checkLease(name: string, owner: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_LEASE_NAME)
    throw new InvalidArgumentError(`a lease name is 1 to ${MAX_LEASE_NAME} characters`);
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > MAX_LEASE_NAME)
    throw new InvalidArgumentError(`a lease owner is 1 to ${MAX_LEASE_NAME} characters`);
}

export function checkUid(uid: number): void {
  if (!Number.isSafeInteger(uid) || uid < 1) throw new InvalidArgumentError(`invalid UID ${String(uid)}`);
}

/** Distinct UIDs, at most MAX_BATCH of them (one call is one transaction). */
export function checkUids(uids: number[]): number[] {
  if (!Array.isArray(uids)) throw new InvalidArgumentError('uids must be an array');
  uids.forEach(checkUid);
  const distinct = [...new Set(uids)];
  if (distinct.length > MAX_BATCH) {
    throw new LimitError(`${distinct.length} UIDs in one call; at most ${MAX_BATCH} are allowed`);
  }
  return distinct;
}

export function checkFlagOperation(operation: FlagOperation): void {
  if (operation !== 'add' && operation !== 'remove' && operation !== 'replace') {
    throw new InvalidArgumentError(`unknown flag operation ${JSON.stringify(operation)}`);
  }
}

export function checkIdempotencyKey(key: string | undefined): void {
  if (
    key !== undefined &&
    (typeof key !== 'string' || key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY)
  ) {
    throw new InvalidArgumentError(`idempotency key must be a string of 1-${MAX_IDEMPOTENCY_KEY} characters`);
  }
}

/** The UID range and limit of a listing, checked; limit undefined means no limit. */
export function checkListOptions(options: ListMessagesOptions): {
  fromUid: number;
  toUid: number;
  limit: number | undefined;
} {
  const fromUid = options.fromUid ?? 1;
  const toUid = options.toUid ?? Number.MAX_SAFE_INTEGER;
  checkCount(fromUid, 'fromUid');
  checkCount(toUid, 'toUid');
  if (options.limit !== undefined) checkCount(options.limit, 'limit');
  return { fromUid, toUid, limit: options.limit };
}

export function checkNewMessage(message: NewMessage): void {
  if (typeof message !== 'object' || message === null)
    throw new InvalidArgumentError('message must be an object');
  if (typeof message.blobKey !== 'string' || message.blobKey.length === 0) {
    throw new InvalidArgumentError('message blobKey must be a non-empty string');
  }
  checkCount(message.size, 'message size');
  if (!Number.isSafeInteger(message.internalDate)) {
    throw new InvalidArgumentError(
      `message internalDate must be an integer (ms), got ${String(message.internalDate)}`,
    );
  }
  if (typeof message.headerText !== 'string' || typeof message.bodyText !== 'string') {
    throw new InvalidArgumentError('message headerText and bodyText must be strings');
  }
  if (typeof message.structure !== 'object' || message.structure === null) {
    throw new InvalidArgumentError('message structure must be an object');
  }
  if (typeof message.summary !== 'object' || message.summary === null) {
    throw new InvalidArgumentError('message summary must be an object');
  }
}

/** The flags a message has after `operation` with the (normalized) `given` flags. */
export function applyFlags(current: string[], operation: FlagOperation, given: string[]): string[] {
  switch (operation) {
    case 'add':
      return normalizeFlags([...current, ...given]);
    case 'remove': {
      const removed = new Set(given.map((flag) => flag.toLowerCase()));
      return current.filter((flag) => !removed.has(flag.toLowerCase()));
    }
    case 'replace':
      return given;
  }
}
