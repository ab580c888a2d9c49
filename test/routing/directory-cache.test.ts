import { describe, expect, it } from 'vitest';
import { DirectoryCache, recipientLookup, type Directory } from '../../lib/routing/directory-cache.js';
import { resolveRecipient, type RecipientLookup } from '../../lib/routing/resolve.js';
import type { Account, Alias, Domain, Mailbox, Route } from '../../lib/store/types.js';

const TTL_MS = 30_000;

/**
 * A directory in memory that counts every lookup it answers, by method and key. `gate`, when
 * set, holds each lookup until it is opened; `failNext` makes the next lookups reject.
 */
class CountingDirectory implements Directory {
  readonly domains = new Map<string, Domain>();
  readonly accounts = new Map<string, Account>();
  readonly aliases = new Map<string, Alias>();
  readonly routes = new Map<string, Route[]>();
  readonly calls: string[] = [];
  failNext = 0;
  gate: Promise<void> | undefined;

  getDomain(name: string): Promise<Domain | undefined> {
    return this.#answer(`getDomain ${name}`, () => this.domains.get(name));
  }
  getAccount(address: string): Promise<Account | undefined> {
    return this.#answer(`getAccount ${address}`, () => this.accounts.get(address));
  }
  getAlias(address: string): Promise<Alias | undefined> {
    return this.#answer(`getAlias ${address}`, () => this.aliases.get(address));
  }
  routesFor(match: string): Promise<Route[]> {
    return this.#answer(`routesFor ${match}`, () => this.routes.get(match) ?? []);
  }

  count(call: string): number {
    return this.calls.filter((c) => c === call).length;
  }

  addDomain(name: string): void {
    this.domains.set(name, { name, createdAt: 0 });
  }
  addAccount(address: string): void {
    this.accounts.set(address, { address, domain: address.split('@')[1]!, createdAt: 0 });
  }

  async #answer<R>(call: string, read: () => R): Promise<R> {
    this.calls.push(call);
    await this.gate;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error(`${call}: store unavailable`);
    }
    return read();
  }
}

class ManualClock {
  ms = 1_000_000;
  readonly now = (): number => this.ms;
}

function setup(options: { maxEntries?: number } = {}) {
  const source = new CountingDirectory();
  const clock = new ManualClock();
  const cache = new DirectoryCache(source, { ttlMs: TTL_MS, now: clock.now, ...options });
  return { source, clock, cache };
}

describe('DirectoryCache', () => {
  it('answers a repeated lookup from the cache, each method and key apart', async () => {
    // Prepare
    const { source, cache } = setup();
    source.addDomain('acme.test');
    source.addAccount('ann@acme.test');

    // Act
    const domains = [await cache.getDomain('acme.test'), await cache.getDomain('acme.test')];
    const accounts = [await cache.getAccount('ann@acme.test'), await cache.getAccount('ann@acme.test')];
    const alias = await cache.getAlias('ann@acme.test');
    await cache.getDomain('other.test');

    // Assess
    expect(domains).toEqual([source.domains.get('acme.test'), source.domains.get('acme.test')]);
    expect(accounts[1]).toEqual(source.accounts.get('ann@acme.test'));
    expect(alias).toBeUndefined();
    expect(source.calls).toEqual([
      'getDomain acme.test',
      'getAccount ann@acme.test',
      'getAlias ann@acme.test',
      'getDomain other.test',
    ]);
  });

  it('reads the store again once ttlMs has passed since the lookup, and gets the change', async () => {
    // Prepare
    const { source, clock, cache } = setup();
    source.addDomain('acme.test');
    await cache.getDomain('acme.test');
    source.domains.delete('acme.test');

    // Act
    clock.ms += TTL_MS - 1;
    const justBefore = await cache.getDomain('acme.test');
    clock.ms += 1;
    const after = await cache.getDomain('acme.test');
    const cachedAgain = await cache.getDomain('acme.test');

    // Assess
    expect(justBefore).toMatchObject({ name: 'acme.test' });
    expect(after).toBeUndefined();
    expect(cachedAgain).toBeUndefined();
    expect(source.count('getDomain acme.test')).toBe(2);
  });

  it('keeps "not found" and "no routes" as answers until they expire', async () => {
    // Prepare
    const { source, clock, cache } = setup();

    // Act
    const missing = [await cache.getAccount('new@acme.test'), await cache.getAlias('team@acme.test')];
    const noRoutes = await cache.routesFor('*@acme.test');
    source.addAccount('new@acme.test');
    const stillMissing = await cache.getAccount('new@acme.test');
    const stillNoRoutes = await cache.routesFor('*@acme.test');
    clock.ms += TTL_MS;
    const found = await cache.getAccount('new@acme.test');

    // Assess
    expect(missing).toEqual([undefined, undefined]);
    expect(noRoutes).toEqual([]);
    expect(stillMissing).toBeUndefined();
    expect(stillNoRoutes).toEqual([]);
    expect(found).toMatchObject({ address: 'new@acme.test' });
    expect(source.count('getAccount new@acme.test')).toBe(2);
    expect(source.count('routesFor *@acme.test')).toBe(1);
  });

  it('holds at most maxEntries, dropping the oldest first', async () => {
    // Prepare
    const { source, cache } = setup({ maxEntries: 3 });
    for (const name of ['a.test', 'b.test', 'c.test', 'd.test']) await cache.getDomain(name);

    // Act
    const sizeAfterFour = cache.size;
    await cache.getDomain('d.test');
    await cache.getDomain('b.test');
    await cache.getDomain('a.test');

    // Assess
    expect(sizeAfterFour).toBe(3);
    expect(source.count('getDomain d.test')).toBe(1);
    expect(source.count('getDomain b.test')).toBe(1);
    expect(source.count('getDomain a.test')).toBe(2);
    expect(cache.size).toBe(3);
  });

  it('gives lookups of one key that overlap a single read of the store', async () => {
    // Prepare
    const { source, cache } = setup();
    source.addDomain('acme.test');
    let open!: () => void;
    source.gate = new Promise((resolve) => (open = resolve));

    // Act
    const first = cache.getDomain('acme.test');
    const second = cache.getDomain('acme.test');
    open();
    const answers = await Promise.all([first, second]);

    // Assess
    expect(second).toBe(first);
    expect(answers).toEqual([
      { name: 'acme.test', createdAt: 0 },
      { name: 'acme.test', createdAt: 0 },
    ]);
    expect(source.calls).toEqual(['getDomain acme.test']);
  });

  it('does not keep a failed lookup: the next one reads the store again', async () => {
    // Prepare
    const { source, cache } = setup();
    source.addDomain('acme.test');
    source.failNext = 1;

    // Act
    const failed = cache.getDomain('acme.test');
    await expect(failed).rejects.toThrow('store unavailable');
    const retried = await cache.getDomain('acme.test');
    const cached = await cache.getDomain('acme.test');

    // Assess
    expect(retried).toMatchObject({ name: 'acme.test' });
    expect(cached).toBe(retried);
    expect(source.count('getDomain acme.test')).toBe(2);
  });

  it('refuses a ttl or a bound that cannot work', () => {
    // Prepare
    const source = new CountingDirectory();

    // Act
    const attempts = [
      () => new DirectoryCache(source, { ttlMs: 0 }),
      () => new DirectoryCache(source, { ttlMs: Number.NaN }),
      () => new DirectoryCache(source, { ttlMs: 1000, maxEntries: 0 }),
    ];

    // Assess
    for (const attempt of attempts) expect(attempt).toThrow(RangeError);
  });
});

describe('recipientLookup', () => {
  it('lets resolveRecipient read the directory through the cache and mailboxes from the store', async () => {
    // Prepare
    const { source, cache } = setup();
    source.addDomain('acme.test');
    source.addAccount('ann@acme.test');
    const mailboxReads: string[] = [];
    const store: RecipientLookup = {
      getDomain: () => Promise.reject(new Error('directory read that bypassed the cache')),
      getAccount: () => Promise.reject(new Error('directory read that bypassed the cache')),
      getAlias: () => Promise.reject(new Error('directory read that bypassed the cache')),
      routesFor: () => Promise.reject(new Error('directory read that bypassed the cache')),
      getMailbox: async (account, name) => {
        mailboxReads.push(`${account} ${name}`);
        return { name } as Mailbox;
      },
    };
    const lookup = recipientLookup(store, cache);

    // Act
    const first = await resolveRecipient(lookup, 'ann+work@acme.test');
    const callsAfterFirst = source.calls.length;
    const second = await resolveRecipient(lookup, 'ann+work@acme.test');

    // Assess
    const expected = {
      status: 'local',
      actions: [{ type: 'deliver', account: 'ann@acme.test', folder: 'work' }],
    };
    expect(first).toEqual(expected);
    expect(second).toEqual(expected);
    expect(source.calls.length).toBe(callsAfterFirst);
    expect(mailboxReads).toEqual(['ann@acme.test work', 'ann@acme.test work']);
  });

  it('is the store itself when there is no cache', () => {
    // Prepare
    const { source } = setup();
    const store = Object.assign(source, { getMailbox: async () => undefined });

    // Act
    const lookup = recipientLookup(store, undefined);

    // Assess
    expect(lookup).toBe(store);
  });
});
