import type { Store } from '../store/types.js';
import type { RecipientLookup } from './resolve.js';

/** The directory reads resolveRecipient makes for every recipient, with the Store's signatures. */
export type Directory = Pick<Store, 'getDomain' | 'getAccount' | 'getAlias' | 'routesFor'>;

export interface DirectoryCacheOptions {
  /** How long an answer is reused, from when its lookup started. */
  ttlMs: number;
  /** Entries kept at most; past it the oldest goes. Default 10,000. */
  maxEntries?: number;
  /** Clock in ms; tests inject one. */
  now?: () => number;
}

const DEFAULT_MAX_ENTRIES = 10_000;

interface Entry {
  value: Promise<unknown>;
  expiresAt: number;
}

/**
 * A read cache in front of the directory (domains, accounts, aliases, routes). On DynamoDB
 * each of these reads is a strongly consistent GetItem or Query billed per request, and one
 * message makes them at RCPT and again in ingest, for every recipient; the directory changes
 * rarely, so a process reuses each answer for ttlMs. The price is staleness: a change made
 * elsewhere reaches this process within ttlMs.
 *
 * Every answer is kept, "not found" (undefined) and "no routes" ([]) too: mail to unknown
 * addresses would otherwise cost the same reads every time. Lookups of the same key that
 * arrive while one is in flight share it. A lookup that fails is not kept, so the next one
 * asks the store again. Callers must not change what they get: it is shared.
 */
export class DirectoryCache implements Directory {
  readonly #source: Directory;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** In insertion order, which is age order: a refreshed key is deleted and set again. */
  readonly #entries = new Map<string, Entry>();

  constructor(source: Directory, options: DirectoryCacheOptions) {
    this.#source = source;
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.#now = options.now ?? Date.now;
    if (!Number.isFinite(this.#ttlMs) || this.#ttlMs <= 0) {
      throw new RangeError(`ttlMs must be a positive number of milliseconds, got ${this.#ttlMs}`);
    }
    if (!Number.isInteger(this.#maxEntries) || this.#maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${this.#maxEntries}`);
    }
  }

  getDomain(name: string): ReturnType<Directory['getDomain']> {
    return this.#cached(`domain:${name}`, () => this.#source.getDomain(name));
  }

  getAccount(address: string): ReturnType<Directory['getAccount']> {
    return this.#cached(`account:${address}`, () => this.#source.getAccount(address));
  }

  getAlias(address: string): ReturnType<Directory['getAlias']> {
    return this.#cached(`alias:${address}`, () => this.#source.getAlias(address));
  }

  routesFor(match: string): ReturnType<Directory['routesFor']> {
    return this.#cached(`routes:${match}`, () => this.#source.routesFor(match));
  }

  /** Entries held, expired ones not yet replaced included. */
  get size(): number {
    return this.#entries.size;
  }

  #cached<R>(key: string, load: () => Promise<R>): Promise<R> {
    const now = this.#now();
    const held = this.#entries.get(key);
    if (held && now < held.expiresAt) return held.value as Promise<R>;
    if (held) this.#entries.delete(key);
    // A lookup that throws instead of rejecting is a rejection all the same.
    const value = new Promise<R>((resolve) => resolve(load()));
    const entry: Entry = { value, expiresAt: now + this.#ttlMs };
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    value.catch(() => {
      // Only this lookup's own entry: a later one may have replaced it meanwhile.
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    });
    return value;
  }
}

/**
 * `{ directory }` for a backend: a DirectoryCache over `source` that reuses answers for
 * `seconds`, or nothing for 0 (every lookup goes to the store).
 */
export function cachedDirectory(source: Directory, seconds: number): { directory?: Directory } {
  return seconds > 0 ? { directory: new DirectoryCache(source, { ttlMs: seconds * 1000 }) } : {};
}

/**
 * What resolveRecipient reads: the directory from `directory` when there is one (a
 * DirectoryCache), everything else (getMailbox) from the store as before.
 */
export function recipientLookup(store: RecipientLookup, directory: Directory | undefined): RecipientLookup {
  if (!directory) return store;
  return {
    getDomain: (name) => directory.getDomain(name),
    getAccount: (address) => directory.getAccount(address),
    getAlias: (address) => directory.getAlias(address),
    routesFor: (match) => directory.routesFor(match),
    getMailbox: (account, name) => store.getMailbox(account, name),
  };
}
