import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import { resolveRecipient } from '../../lib/routing/resolve.js';
import { ownsAddress } from '../../lib/routing/ownership.js';
import { tempDir } from '../helpers/mailroom.js';

describe('routing v1', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(async () => {
    dir = await tempDir();
    store = SqliteStore.open(join(dir, 'store.db'));
    await store.addDomain('example.test');
    await store.addAccount('demo@example.test', 'hash');
    await store.addAccount('bob@example.test', 'hash');
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers an exact address to its INBOX, comparing local parts case-insensitively', async () => {
    expect(await resolveRecipient(store, 'Demo@EXAMPLE.test')).toEqual({
      status: 'local',
      actions: [{ type: 'deliver', account: 'demo@example.test', folder: 'INBOX' }],
    });
  });

  it('tells unknown local recipients from foreign domains', async () => {
    expect(await resolveRecipient(store, 'nobody@example.test')).toEqual({ status: 'unknown' });
    expect(await resolveRecipient(store, 'someone@elsewhere.test')).toEqual({ status: 'foreign' });
  });

  it('expands an alias with local and external targets, and aliases of aliases', async () => {
    await store.addAlias('team@example.test', [
      'demo@example.test',
      'ops@example.test',
      'friend@elsewhere.test',
    ]);
    await store.addAlias('ops@example.test', ['bob@example.test', 'demo@example.test']);
    const result = await resolveRecipient(store, 'team@example.test');
    expect(result).toEqual({
      status: 'local',
      actions: [
        { type: 'deliver', account: 'demo@example.test', folder: 'INBOX' },
        { type: 'deliver', account: 'bob@example.test', folder: 'INBOX' },
        { type: 'forward', to: 'friend@elsewhere.test' },
      ],
    });
  });

  it('survives an alias loop', async () => {
    await store.addAlias('a@example.test', ['b@example.test']);
    await store.addAlias('b@example.test', ['a@example.test', 'demo@example.test']);
    expect(await resolveRecipient(store, 'a@example.test')).toEqual({
      status: 'local',
      actions: [{ type: 'deliver', account: 'demo@example.test', folder: 'INBOX' }],
    });
  });

  it('files user+tag into folder tag when it exists, else INBOX', async () => {
    await store.createMailbox('demo@example.test', 'lists');
    expect(await resolveRecipient(store, 'demo+lists@example.test')).toMatchObject({
      actions: [{ type: 'deliver', account: 'demo@example.test', folder: 'lists' }],
    });
    expect(await resolveRecipient(store, 'demo+nothing@example.test')).toMatchObject({
      actions: [{ type: 'deliver', account: 'demo@example.test', folder: 'INBOX' }],
    });
  });

  it('sends unknown addresses to the catch-all, never known ones', async () => {
    await store.addRoute('*@example.test', { type: 'forward', to: ['bob@example.test'] });
    expect(await resolveRecipient(store, 'whoever@example.test')).toMatchObject({
      status: 'local',
      actions: [{ type: 'deliver', account: 'bob@example.test', folder: 'INBOX' }],
    });
    expect(await resolveRecipient(store, 'demo@example.test')).toMatchObject({
      actions: [{ type: 'deliver', account: 'demo@example.test', folder: 'INBOX' }],
    });
  });

  it('applies routes: webhook keeps delivery, forward and drop replace it, reject refuses', async () => {
    await store.addRoute('demo@example.test', { type: 'webhook', url: 'http://127.0.0.1:1/h', secret: 's' });
    expect(await resolveRecipient(store, 'demo@example.test')).toEqual({
      status: 'local',
      actions: [
        { type: 'webhook', url: 'http://127.0.0.1:1/h', secret: 's' },
        { type: 'deliver', account: 'demo@example.test', folder: 'INBOX' },
      ],
    });
    await store.addRoute('bob@example.test', { type: 'forward', to: ['bob@elsewhere.test'] });
    expect(await resolveRecipient(store, 'bob@example.test')).toEqual({
      status: 'local',
      actions: [{ type: 'forward', to: 'bob@elsewhere.test' }],
    });
    await store.addRoute('noreply@example.test', { type: 'drop' });
    expect(await resolveRecipient(store, 'noreply@example.test')).toEqual({ status: 'local', actions: [] });
    await store.addRoute('gone@example.test', { type: 'reject', message: 'left the company' });
    expect(await resolveRecipient(store, 'gone@example.test')).toEqual({
      status: 'rejected',
      message: 'left the company',
    });
  });

  it('lets an account send as itself, its plus variants and aliases that reach it, nothing else', async () => {
    await store.addAlias('sales@example.test', ['demo@example.test']);
    expect(await ownsAddress(store, 'demo@example.test', 'Demo@Example.test')).toBe(true);
    expect(await ownsAddress(store, 'demo@example.test', 'demo+news@example.test')).toBe(true);
    expect(await ownsAddress(store, 'demo@example.test', 'sales@example.test')).toBe(true);
    expect(await ownsAddress(store, 'demo@example.test', 'bob@example.test')).toBe(false);
    expect(await ownsAddress(store, 'bob@example.test', 'sales@example.test')).toBe(false);
  });
});
