import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../lib/store/errors.js';
import { MAX_BATCH, type Store } from '../../lib/store/types.js';
import { makeNewMessage } from '../helpers/messages.js';

/*
 * The contract every Directory + MailStore adapter must meet. Each test gets a fresh store
 * holding the domain example.test and the accounts alice@ and bob@ in it.
 */

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';

async function rejection(promise: Promise<unknown>): Promise<StoreError> {
  const outcome = await promise.then(
    () => ({ ok: true as const }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  if (outcome.ok) throw new Error('expected the call to fail, it succeeded');
  expect(outcome.err).toBeInstanceOf(StoreError);
  return outcome.err as StoreError;
}

async function expectCode(promise: Promise<unknown>, code: string, mentions?: string): Promise<void> {
  const err = await rejection(promise);
  expect(err.code).toBe(code);
  if (mentions !== undefined) expect(err.message).toContain(mentions);
}

export function runStoreContract(
  name: string,
  make: () => Promise<{ store: Store; cleanup: () => Promise<void> }>,
): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await make());
      await store.addDomain('example.test');
      await store.addAccount(ALICE, 'hash-alice');
      await store.addAccount(BOB, 'hash-bob');
    });

    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    async function appendN(count: number, mailbox = 'INBOX', account = ALICE) {
      const results = [];
      for (let i = 0; i < count; i++)
        results.push(await store.appendMessage(account, mailbox, makeNewMessage()));
      return results;
    }

    async function mailbox(nameOf: string, account = ALICE) {
      const box = await store.getMailbox(account, nameOf);
      if (box === undefined) throw new Error(`no mailbox ${nameOf}`);
      return box;
    }

    describe('domains', () => {
      it('adds lower-cased domains, gets and lists them', async () => {
        // Act
        const added = await store.addDomain('Mail.Example.ORG');

        // Assess
        expect(added.name).toBe('mail.example.org');
        expect(await store.getDomain('MAIL.example.org')).toEqual(added);
        expect((await store.listDomains()).map((d) => d.name)).toEqual(['example.test', 'mail.example.org']);
        expect(await store.getDomain('nowhere.test')).toBeUndefined();
      });

      it('refuses a duplicate domain', async () => {
        await expectCode(store.addDomain('EXAMPLE.test'), 'ALREADY_EXISTS');
      });

      it.each([
        '',
        'a..b',
        '.example.test',
        'example.test.',
        '-a.test',
        'a-.test',
        'under_score.test',
        'exa mple.test',
        'ex@mple.test',
        `${'a'.repeat(64)}.test`,
        `${'abcdefghi.'.repeat(26)}test`,
      ])('refuses the invalid domain %j with INVALID_NAME naming it', async (bad) => {
        const err = await rejection(store.addDomain(bad));
        expect(err.code).toBe('INVALID_NAME');
        expect(err.name).toBe('InvalidNameError');
        if (bad.length > 0) expect(err.message).toContain(JSON.stringify(bad));
      });

      it('accepts a 63-octet label and punycode', async () => {
        await store.addDomain(`${'a'.repeat(63)}.test`);
        await store.addDomain('xn--80ak6aa92e.test');
      });

      it('removes an empty domain and refuses a missing one', async () => {
        await store.addDomain('gone.test');
        await store.removeDomain('GONE.test');
        expect(await store.getDomain('gone.test')).toBeUndefined();
        await expectCode(store.removeDomain('gone.test'), 'NOT_FOUND');
      });

      it('refuses to remove a domain while it has accounts, aliases or routes', async () => {
        await expectCode(store.removeDomain('example.test'), 'DOMAIN_NOT_EMPTY');

        await store.addDomain('alias.test');
        await store.addAlias('a@alias.test', [ALICE]);
        await expectCode(store.removeDomain('alias.test'), 'DOMAIN_NOT_EMPTY');
        await store.removeAlias('a@alias.test');
        await store.removeDomain('alias.test');

        await store.addDomain('route.test');
        const route = await store.addRoute('*@route.test', { type: 'drop' });
        await expectCode(store.removeDomain('route.test'), 'DOMAIN_NOT_EMPTY');
        await store.removeRoute('route.test', route.id);
        await store.removeDomain('route.test');
      });
    });

    describe('accounts', () => {
      it('adds a lower-cased account with its six default mailboxes, all subscribed', async () => {
        // Act
        const account = await store.addAccount('Carol.Smith@Example.Test', 'hash-carol');

        // Assess
        expect(account).toMatchObject({ address: 'carol.smith@example.test', domain: 'example.test' });
        expect(await store.getAccount('CAROL.SMITH@example.test')).toEqual(account);
        const boxes = await store.listMailboxes('carol.smith@example.test');
        expect(boxes.map((b) => [b.name, b.specialUse]).sort()).toEqual(
          [
            ['INBOX', null],
            ['Sent', '\\Sent'],
            ['Drafts', '\\Drafts'],
            ['Trash', '\\Trash'],
            ['Junk', '\\Junk'],
            ['Archive', '\\Archive'],
          ].sort(),
        );
        for (const box of boxes) {
          expect(box).toMatchObject({
            account: 'carol.smith@example.test',
            subscribed: true,
            uidNext: 1,
            messages: 0,
            unseen: 0,
          });
          expect(box.highestModseq).toBeGreaterThan(0);
        }
        expect(new Set(boxes.map((b) => b.uidValidity)).size).toBe(boxes.length);
        expect(new Set(boxes.map((b) => b.id)).size).toBe(boxes.length);
      });

      it('lists only the accounts of the domain asked for', async () => {
        await store.addDomain('other.test');
        await store.addAccount('zed@other.test', 'h');
        expect((await store.listAccounts('Example.Test')).map((a) => a.address)).toEqual([ALICE, BOB]);
        expect((await store.listAccounts('other.test')).map((a) => a.address)).toEqual(['zed@other.test']);
        expect(await store.listAccounts('missing.test')).toEqual([]);
      });

      it('refuses an account in a missing domain, a duplicate, and an alias address', async () => {
        await expectCode(store.addAccount('x@missing.test', 'h'), 'NOT_FOUND', 'missing.test');
        await expectCode(store.addAccount('ALICE@example.test', 'h'), 'ALREADY_EXISTS');
        await store.addAlias('info@example.test', [ALICE]);
        await expectCode(store.addAccount('info@example.test', 'h'), 'ALREADY_EXISTS');
      });

      it.each([
        'no-at-sign',
        'a@b@example.test',
        '@example.test',
        'a@',
        '.a@example.test',
        'a.@example.test',
        'a..b@example.test',
        'a b@example.test',
        '"quoted"@example.test',
        '*@example.test',
        `${'a'.repeat(65)}@example.test`,
        `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.test`,
        'a@bad_domain.test',
      ])('refuses the invalid address %j with INVALID_NAME naming it', async (bad) => {
        const err = await rejection(store.addAccount(bad, 'h'));
        expect(err.code).toBe('INVALID_NAME');
        expect(err.message).toContain(JSON.stringify(bad));
      });

      it('accepts a 64-octet local part', async () => {
        await store.addAccount(`${'a'.repeat(64)}@example.test`, 'h');
      });

      it('keeps the password hash it is given and replaces it', async () => {
        expect(await store.getPasswordHash('Alice@Example.test')).toBe('hash-alice');
        await store.setPasswordHash(ALICE, 'hash-2');
        expect(await store.getPasswordHash(ALICE)).toBe('hash-2');
        expect(await store.getPasswordHash('nobody@example.test')).toBeUndefined();
        await expectCode(store.setPasswordHash('nobody@example.test', 'h'), 'NOT_FOUND');
      });

      it('answers "not found" to lookups of names that cannot exist', async () => {
        expect(await store.getAccount('not an address')).toBeUndefined();
        expect(await store.getPasswordHash('')).toBeUndefined();
        expect(await store.getDomain('bad_domain')).toBeUndefined();
        expect(await store.listMailboxes('nope')).toEqual([]);
        expect(await store.getMailbox(ALICE, '')).toBeUndefined();
        expect(await store.routesFor('x')).toEqual([]);
      });

      it('removes an account with its mailboxes, messages and idempotency keys', async () => {
        // Prepare
        await store.createMailbox(ALICE, 'Projects');
        await store.appendMessage(ALICE, 'INBOX', makeNewMessage(), { idempotencyKey: 'job-1' });
        const before = await mailbox('INBOX');

        // Act
        await store.removeAccount('ALICE@example.test');

        // Assess
        expect(await store.getAccount(ALICE)).toBeUndefined();
        expect(await store.getPasswordHash(ALICE)).toBeUndefined();
        expect(await store.listMailboxes(ALICE)).toEqual([]);
        await expectCode(store.listMessages(ALICE, 'INBOX'), 'NOT_FOUND');
        await expectCode(store.removeAccount(ALICE), 'NOT_FOUND');

        // A re-created account starts empty, with a new UIDVALIDITY and an unused key.
        await store.addAccount(ALICE, 'hash-new');
        const after = await mailbox('INBOX');
        expect(after).toMatchObject({ messages: 0, uidNext: 1 });
        expect(after.id).not.toBe(before.id);
        expect(after.uidValidity).toBeGreaterThan(before.uidValidity);
        const again = await store.appendMessage(ALICE, 'INBOX', makeNewMessage(), {
          idempotencyKey: 'job-1',
        });
        expect(again).toMatchObject({ uid: 1, duplicate: false });
        expect(await store.getMailbox(BOB, 'INBOX')).toBeDefined();
      });
    });

    describe('aliases', () => {
      it('adds, gets, lists and removes aliases with lower-cased, deduplicated targets', async () => {
        // Act
        const alias = await store.addAlias('Sales@Example.test', [
          ALICE,
          'BOB@example.test',
          'Alice@Example.Test',
          'x@far.example',
        ]);

        // Assess
        expect(alias).toMatchObject({
          address: 'sales@example.test',
          domain: 'example.test',
          targets: [ALICE, BOB, 'x@far.example'],
        });
        expect(await store.getAlias('sales@EXAMPLE.test')).toEqual(alias);
        expect(await store.listAliases('example.test')).toEqual([alias]);
        await store.removeAlias('sales@example.test');
        expect(await store.getAlias('sales@example.test')).toBeUndefined();
        await expectCode(store.removeAlias('sales@example.test'), 'NOT_FOUND');
      });

      it('refuses an alias over an account, a duplicate, a missing domain and bad targets', async () => {
        await expectCode(store.addAlias(ALICE, [BOB]), 'ALREADY_EXISTS');
        await store.addAlias('info@example.test', [BOB]);
        await expectCode(store.addAlias('info@example.test', [BOB]), 'ALREADY_EXISTS');
        await expectCode(store.addAlias('info@missing.test', [BOB]), 'NOT_FOUND');
        await expectCode(store.addAlias('empty@example.test', []), 'INVALID_ARGUMENT');
        await expectCode(
          store.addAlias('bad@example.test', ['not an address']),
          'INVALID_NAME',
          '"not an address"',
        );
      });
    });

    describe('routes', () => {
      it('adds routes for an address and a catch-all, oldest first', async () => {
        // Act
        const first = await store.addRoute('Orders@Example.test', {
          type: 'deliver',
          account: 'ALICE@example.test',
          folder: 'inbox/orders',
        });
        const second = await store.addRoute('orders@example.test', {
          type: 'webhook',
          url: 'https://hooks.example/x',
          secret: 's3cret',
        });
        const catchAll = await store.addRoute('*@example.test', {
          type: 'reject',
          message: 'No such user here',
        });

        // Assess
        expect(first).toMatchObject({
          match: 'orders@example.test',
          domain: 'example.test',
          action: { type: 'deliver', account: ALICE, folder: 'INBOX/orders' },
        });
        expect(first.id).not.toBe(second.id);
        expect((await store.routesFor('ORDERS@example.test')).map((r) => r.id)).toEqual([
          first.id,
          second.id,
        ]);
        expect(await store.routesFor('*@Example.Test')).toEqual([catchAll]);
        expect(await store.routesFor('nobody@example.test')).toEqual([]);
        expect((await store.listRoutes('example.test')).map((r) => r.id)).toEqual([
          first.id,
          second.id,
          catchAll.id,
        ]);
      });

      it('removes a route only from its own domain', async () => {
        const route = await store.addRoute('*@example.test', { type: 'drop' });
        await store.addDomain('other.test');
        await expectCode(store.removeRoute('other.test', route.id), 'NOT_FOUND');
        await store.removeRoute('example.test', route.id);
        expect(await store.listRoutes('example.test')).toEqual([]);
        await expectCode(store.removeRoute('example.test', route.id), 'NOT_FOUND');
      });

      it('refuses a route in a missing domain, a bad match and bad actions', async () => {
        await expectCode(store.addRoute('*@missing.test', { type: 'drop' }), 'NOT_FOUND');
        await expectCode(store.addRoute('*', { type: 'drop' }), 'INVALID_NAME', '"*"');
        await expectCode(store.addRoute('a b@example.test', { type: 'drop' }), 'INVALID_NAME');
        await expectCode(
          store.addRoute('a@example.test', { type: 'reject', message: 'bye\r\n250 OK' }),
          'INVALID_ARGUMENT',
        );
        await expectCode(
          store.addRoute('a@example.test', { type: 'webhook', url: 'file:///etc/passwd', secret: 's' }),
          'INVALID_ARGUMENT',
        );
        await expectCode(store.addRoute('a@example.test', { type: 'forward', to: [] }), 'INVALID_ARGUMENT');
        await expectCode(
          store.addRoute('a@example.test', { type: 'deliver', account: ALICE, folder: 'a//b' }),
          'INVALID_NAME',
        );
        await expectCode(
          store.addRoute('a@example.test', { type: 'explode' } as unknown as { type: 'drop' }),
          'INVALID_ARGUMENT',
        );
      });
    });

    describe('mailboxes', () => {
      it('creates a mailbox with a fresh UIDVALIDITY and refuses a duplicate', async () => {
        // Act
        const box = await store.createMailbox(ALICE, 'Projects/2024', { specialUse: '\\Archive' });

        // Assess
        expect(box).toMatchObject({
          account: ALICE,
          name: 'Projects/2024',
          specialUse: '\\Archive',
          uidNext: 1,
          messages: 0,
          unseen: 0,
          subscribed: true,
        });
        expect(await store.getMailbox(ALICE, 'Projects/2024')).toEqual(box);
        const others = (await store.listMailboxes(ALICE)).filter((b) => b.id !== box.id);
        expect(box.uidValidity).toBeGreaterThan(Math.max(...others.map((b) => b.uidValidity)));
        await expectCode(store.createMailbox(ALICE, 'Projects/2024'), 'ALREADY_EXISTS');
        await expectCode(store.createMailbox('nobody@example.test', 'X'), 'NOT_FOUND');
      });

      it('treats INBOX case-insensitively, also as the first level of a child name', async () => {
        // Prepare
        const inbox = await mailbox('INBOX');

        // Act
        const child = await store.createMailbox(ALICE, 'inbox/Receipts');
        const appended = await store.appendMessage(ALICE, 'iNbOx', makeNewMessage());

        // Assess
        expect(await store.getMailbox(ALICE, 'Inbox')).toMatchObject({
          id: inbox.id,
          name: 'INBOX',
          messages: 1,
        });
        expect(appended.mailboxId).toBe(inbox.id);
        expect(child.name).toBe('INBOX/Receipts');
        expect((await store.getMailbox(ALICE, 'INBOX/Receipts'))?.id).toBe(child.id);
        await expectCode(store.createMailbox(ALICE, 'Inbox'), 'ALREADY_EXISTS');
        expect((await store.listMailboxes(ALICE))[0]?.name).toBe('INBOX');
        // Other names are case-sensitive.
        await store.createMailbox(ALICE, 'sent');
        expect((await mailbox('sent')).id).not.toBe((await mailbox('Sent')).id);
      });

      it.each([
        ['empty', ''],
        ['leading delimiter', '/Projects'],
        ['trailing delimiter', 'Projects/'],
        ['empty level', 'Projects//2024'],
        ['NUL', 'a\u0000b'],
        ['CR', 'a\rb'],
        ['LF', 'a\nb'],
        ['over 1000 bytes', 'é'.repeat(501)],
      ])('refuses a mailbox name with %s', async (_why, bad) => {
        const err = await rejection(store.createMailbox(ALICE, bad));
        expect(err.code).toBe('INVALID_NAME');
        if (bad.length > 0) expect(err.message).toContain(JSON.stringify(bad));
      });

      it('accepts a name of exactly 1000 bytes', async () => {
        const box = await store.createMailbox(ALICE, 'é'.repeat(500));
        expect(box.name).toBe('é'.repeat(500));
      });

      it('deletes a mailbox with its messages; re-creating it gives a new UIDVALIDITY', async () => {
        // Prepare
        const first = await store.createMailbox(ALICE, 'Old');
        await appendN(3, 'Old');

        // Act
        await store.deleteMailbox(ALICE, 'Old');
        const second = await store.createMailbox(ALICE, 'Old');

        // Assess
        expect(second.id).not.toBe(first.id);
        expect(second.uidValidity).toBeGreaterThan(first.uidValidity);
        expect(second).toMatchObject({ uidNext: 1, messages: 0 });
        expect(await store.listMessages(ALICE, 'Old')).toEqual([]);
        expect(await store.changesSince(ALICE, 'Old', 0)).toEqual([]);
      });

      it('refuses to delete INBOX or a missing mailbox, and leaves children in place', async () => {
        await expectCode(store.deleteMailbox(ALICE, 'inbox'), 'INVALID_NAME', 'INBOX');
        await expectCode(store.deleteMailbox(ALICE, 'Nope'), 'NOT_FOUND');
        await store.createMailbox(ALICE, 'a');
        await store.createMailbox(ALICE, 'a/b');
        await store.deleteMailbox(ALICE, 'a');
        expect(await store.getMailbox(ALICE, 'a')).toBeUndefined();
        expect(await store.getMailbox(ALICE, 'a/b')).toBeDefined();
      });

      it('renames a mailbox and its children, keeping ids, UIDs and UIDVALIDITY', async () => {
        // Prepare
        const parent = await store.createMailbox(ALICE, 'a');
        const child = await store.createMailbox(ALICE, 'a/b');
        const grandchild = await store.createMailbox(ALICE, 'a/b/c');
        const unrelated = await store.createMailbox(ALICE, 'ab');
        await appendN(2, 'a');

        // Act
        const renamed = await store.renameMailbox(ALICE, 'a', 'x/y');

        // Assess
        expect(renamed).toMatchObject({
          id: parent.id,
          name: 'x/y',
          uidValidity: parent.uidValidity,
          uidNext: 3,
          messages: 2,
        });
        expect((await store.listMessages(ALICE, 'x/y')).map((m) => m.uid)).toEqual([1, 2]);
        expect(await mailbox('x/y/b')).toMatchObject({ id: child.id, uidValidity: child.uidValidity });
        expect((await mailbox('x/y/b/c')).id).toBe(grandchild.id);
        expect((await mailbox('ab')).id).toBe(unrelated.id);
        expect(await store.getMailbox(ALICE, 'a')).toBeUndefined();
        expect(await store.getMailbox(ALICE, 'a/b')).toBeUndefined();
      });

      it('refuses renames onto an existing name, into itself, or from a missing mailbox', async () => {
        await store.createMailbox(ALICE, 'a');
        await store.createMailbox(ALICE, 'a/b');
        await store.createMailbox(ALICE, 'z/b');
        await expectCode(store.renameMailbox(ALICE, 'a', 'Sent'), 'ALREADY_EXISTS');
        await expectCode(store.renameMailbox(ALICE, 'a', 'inbox'), 'ALREADY_EXISTS');
        await expectCode(store.renameMailbox(ALICE, 'a', 'a/b/c'), 'INVALID_NAME');
        await expectCode(store.renameMailbox(ALICE, 'missing', 'new'), 'NOT_FOUND');
        // A child would land on an existing name: nothing is renamed.
        await expectCode(store.renameMailbox(ALICE, 'a', 'z'), 'ALREADY_EXISTS', 'z/b');
        expect(await store.getMailbox(ALICE, 'a')).toBeDefined();
        expect(await store.getMailbox(ALICE, 'z')).toBeUndefined();
      });

      it('renames INBOX as RFC 3501 says: messages move to the new name, INBOX stays and is empty', async () => {
        // Prepare
        const inbox = await mailbox('INBOX');
        const child = await store.createMailbox(ALICE, 'INBOX/keep');
        await appendN(2);

        // Act
        const moved = await store.renameMailbox(ALICE, 'Inbox', 'Old Mail');

        // Assess
        expect(moved).toMatchObject({
          name: 'Old Mail',
          uidValidity: inbox.uidValidity,
          messages: 2,
          uidNext: 3,
        });
        expect((await store.listMessages(ALICE, 'Old Mail')).map((m) => m.uid)).toEqual([1, 2]);
        const fresh = await mailbox('INBOX');
        expect(fresh).toMatchObject({ name: 'INBOX', messages: 0, unseen: 0 });
        expect(fresh.uidValidity).toBeGreaterThan(inbox.uidValidity);
        expect(await store.listMessages(ALICE, 'INBOX')).toEqual([]);
        expect((await mailbox('INBOX/keep')).id).toBe(child.id);
        expect((await store.appendMessage(ALICE, 'INBOX', makeNewMessage())).mailboxId).toBe(fresh.id);
      });

      it('subscribes and unsubscribes', async () => {
        await store.setSubscribed(ALICE, 'Junk', false);
        expect((await mailbox('Junk')).subscribed).toBe(false);
        await store.setSubscribed(ALICE, 'Junk', true);
        expect((await mailbox('Junk')).subscribed).toBe(true);
        await expectCode(store.setSubscribed(ALICE, 'Missing', true), 'NOT_FOUND');
      });
    });

    describe('messages', () => {
      it('appends with growing UIDs and MODSEQs and keeps the counters', async () => {
        // Prepare
        const before = await mailbox('INBOX');

        // Act
        const a = await store.appendMessage(ALICE, 'INBOX', makeNewMessage());
        const b = await store.appendMessage(ALICE, 'INBOX', makeNewMessage({ flags: ['\\Seen'] }));
        const c = await store.appendMessage(ALICE, 'INBOX', makeNewMessage());

        // Assess
        expect([a.uid, b.uid, c.uid]).toEqual([1, 2, 3]);
        expect(a.modseq).toBeGreaterThan(before.highestModseq);
        expect(b.modseq).toBeGreaterThan(a.modseq);
        expect(c.modseq).toBeGreaterThan(b.modseq);
        expect([a, b, c].every((r) => r.mailboxId === before.id && !r.duplicate)).toBe(true);
        expect(await mailbox('INBOX')).toMatchObject({
          uidNext: 4,
          highestModseq: c.modseq,
          messages: 3,
          unseen: 2,
        });
      });

      it('returns the full record, and listings without the search text', async () => {
        // Prepare
        const input = makeNewMessage({ flags: ['\\seen', 'Work', '\\Recent', 'work', '$Forwarded'] });

        // Act
        const { uid, modseq, mailboxId } = await store.appendMessage(ALICE, 'INBOX', input);
        const record = await store.getMessage(ALICE, 'INBOX', uid);
        const [meta] = await store.listMessages(ALICE, 'INBOX');

        // Assess
        expect(record).toEqual({ ...input, mailboxId, uid, modseq, flags: ['\\Seen', 'Work', '$Forwarded'] });
        expect(meta).toBeDefined();
        expect(meta).not.toHaveProperty('headerText');
        expect(meta).not.toHaveProperty('bodyText');
        const { headerText: _h, bodyText: _b, ...rest } = record!;
        expect(meta).toEqual(rest);
        expect(await store.getMessage(ALICE, 'INBOX', 999)).toBeUndefined();
        await expectCode(store.getMessage(ALICE, 'Missing', uid), 'NOT_FOUND');
      });

      it('lists in UID order between fromUid and toUid, at most limit', async () => {
        await appendN(6);
        await store.expunge(ALICE, 'INBOX', [3]);
        const uids = async (options: Parameters<Store['listMessages']>[2]) =>
          (await store.listMessages(ALICE, 'INBOX', options)).map((m) => m.uid);
        expect(await uids({})).toEqual([1, 2, 4, 5, 6]);
        expect(await uids({ fromUid: 2 })).toEqual([2, 4, 5, 6]);
        expect(await uids({ toUid: 4 })).toEqual([1, 2, 4]);
        expect(await uids({ fromUid: 2, toUid: 5, limit: 2 })).toEqual([2, 4]);
        expect(await uids({ limit: 0 })).toEqual([]);
        expect(await uids({ fromUid: 7 })).toEqual([]);
      });

      it('never reuses a UID: after an expunge the next append gets a higher one', async () => {
        // Prepare
        await appendN(3);
        await store.expunge(ALICE, 'INBOX', [1, 2, 3]);

        // Act
        const next = await store.appendMessage(ALICE, 'INBOX', makeNewMessage());

        // Assess
        expect(next.uid).toBe(4);
        expect(await mailbox('INBOX')).toMatchObject({ uidNext: 5, messages: 1 });
      });

      it('appends once per idempotency key and mailbox', async () => {
        // Prepare
        const message = makeNewMessage();
        const first = await store.appendMessage(ALICE, 'INBOX', message, { idempotencyKey: 'job-7:alice' });
        const state = await mailbox('INBOX');

        // Act
        const second = await store.appendMessage(ALICE, 'INBOX', message, { idempotencyKey: 'job-7:alice' });
        const elsewhere = await store.appendMessage(ALICE, 'Archive', message, {
          idempotencyKey: 'job-7:alice',
        });
        const otherAccount = await store.appendMessage(BOB, 'INBOX', message, {
          idempotencyKey: 'job-7:alice',
        });

        // Assess
        expect(first.duplicate).toBe(false);
        expect(second).toEqual({ ...first, duplicate: true });
        expect(await mailbox('INBOX')).toEqual(state);
        // A key belongs to its mailbox.
        expect(elsewhere).toMatchObject({ uid: 1, duplicate: false });
        expect((await store.listMessages(ALICE, 'Archive')).map((m) => m.uid)).toEqual([1]);
        expect(otherAccount).toMatchObject({ uid: 1, duplicate: false });
        expect((await store.changesSince(ALICE, 'INBOX', 0)).length).toBe(1);
      });

      it('does not append again a delivery that comes back after its message was expunged', async () => {
        // Prepare
        const first = await store.appendMessage(ALICE, 'INBOX', makeNewMessage(), {
          idempotencyKey: 'job-8',
        });
        await store.expunge(ALICE, 'INBOX', [first.uid]);

        // Act
        const again = await store.appendMessage(ALICE, 'INBOX', makeNewMessage(), {
          idempotencyKey: 'job-8',
        });

        // Assess
        expect(again).toEqual({ ...first, duplicate: true });
        expect(await mailbox('INBOX')).toMatchObject({ uidNext: 2, messages: 0 });
        expect(await store.listMessageStates(ALICE, 'INBOX')).toEqual([]);
      });

      it('refuses to append to a missing mailbox or account, writing nothing', async () => {
        await expectCode(
          store.appendMessage(ALICE, 'Missing', makeNewMessage(), { idempotencyKey: 'k' }),
          'NOT_FOUND',
        );
        await expectCode(store.appendMessage('nobody@example.test', 'INBOX', makeNewMessage()), 'NOT_FOUND');
        const result = await store.appendMessage(ALICE, 'INBOX', makeNewMessage(), { idempotencyKey: 'k' });
        expect(result.duplicate).toBe(false);
      });

      it('refuses invalid flags on append', async () => {
        await expectCode(
          store.appendMessage(ALICE, 'INBOX', makeNewMessage({ flags: ['\\Bogus'] })),
          'INVALID_ARGUMENT',
        );
        await expectCode(
          store.appendMessage(ALICE, 'INBOX', makeNewMessage({ flags: ['two words'] })),
          'INVALID_ARGUMENT',
        );
        await expectCode(
          store.appendMessage(ALICE, 'INBOX', makeNewMessage({ flags: [''] })),
          'INVALID_ARGUMENT',
        );
      });
    });

    describe('flags', () => {
      it('adds, removes and replaces flags in their normalized form', async () => {
        await appendN(1);
        const flagsAfter = async (op: 'add' | 'remove' | 'replace', flags: string[]) => {
          await store.updateFlags(ALICE, 'INBOX', [1], op, flags);
          return (await store.getMessage(ALICE, 'INBOX', 1))?.flags;
        };
        expect(await flagsAfter('add', ['\\flagged', '$Label1', '\\SEEN', '\\Recent'])).toEqual([
          '\\Seen',
          '\\Flagged',
          '$Label1',
        ]);
        expect(await flagsAfter('add', ['$label1', 'Other', 'OTHER'])).toEqual([
          '\\Seen',
          '\\Flagged',
          '$Label1',
          'Other',
        ]);
        expect(await flagsAfter('remove', ['\\seen', '$LABEL1'])).toEqual(['\\Flagged', 'Other']);
        expect(await flagsAfter('replace', ['\\Answered', '\\Draft', '\\Deleted'])).toEqual([
          '\\Answered',
          '\\Deleted',
          '\\Draft',
        ]);
        expect(await flagsAfter('replace', [])).toEqual([]);
      });

      it('gives each changed message its own new MODSEQ and leaves unchanged ones alone', async () => {
        // Prepare
        await appendN(3);
        await store.updateFlags(ALICE, 'INBOX', [2], 'add', ['\\Seen']);
        const before = await store.listMessages(ALICE, 'INBOX');
        const box = await mailbox('INBOX');

        // Act
        const result = await store.updateFlags(ALICE, 'INBOX', [3, 2, 1, 99], 'add', ['\\Seen']);

        // Assess
        expect(result.skipped).toEqual([]);
        expect(result.updated.map((u) => u.uid)).toEqual([1, 3]);
        expect(result.updated[0]!.modseq).toBeGreaterThan(box.highestModseq);
        expect(result.updated[1]!.modseq).toBeGreaterThan(result.updated[0]!.modseq);
        expect(result.updated.every((u) => u.flags.join() === '\\Seen')).toBe(true);
        const after = await store.listMessages(ALICE, 'INBOX');
        expect(after[1]!.modseq).toBe(before[1]!.modseq);
        expect(after.map((m) => m.modseq)).toEqual([
          result.updated[0]!.modseq,
          before[1]!.modseq,
          result.updated[1]!.modseq,
        ]);
        expect(await mailbox('INBOX')).toMatchObject({ highestModseq: result.updated[1]!.modseq, unseen: 0 });
        const changes = await store.changesSince(ALICE, 'INBOX', box.highestModseq);
        expect(changes.map((c) => [c.kind, c.uid])).toEqual([
          ['flags', 1],
          ['flags', 3],
        ]);

        // A no-op changes nothing at all.
        const noop = await store.updateFlags(ALICE, 'INBOX', [1, 2, 3], 'add', ['\\seen']);
        expect(noop).toEqual({ updated: [], skipped: [] });
        expect((await mailbox('INBOX')).highestModseq).toBe(result.updated[1]!.modseq);
      });

      it('treats keywords that differ only in case as unchanged', async () => {
        await store.appendMessage(ALICE, 'INBOX', makeNewMessage({ flags: ['$Label'] }));
        expect((await store.updateFlags(ALICE, 'INBOX', [1], 'replace', ['$LABEL'])).updated).toEqual([]);
        expect((await store.getMessage(ALICE, 'INBOX', 1))?.flags).toEqual(['$Label']);
      });

      it('keeps the unseen counter through every operation', async () => {
        await appendN(4);
        await store.updateFlags(ALICE, 'INBOX', [1, 2], 'add', ['\\Seen']);
        expect((await mailbox('INBOX')).unseen).toBe(2);
        await store.updateFlags(ALICE, 'INBOX', [2, 3], 'replace', ['\\Flagged']);
        expect((await mailbox('INBOX')).unseen).toBe(3);
        await store.updateFlags(ALICE, 'INBOX', [1], 'remove', ['\\Seen']);
        expect((await mailbox('INBOX')).unseen).toBe(4);
        await store.updateFlags(ALICE, 'INBOX', [4], 'add', ['\\Seen']);
        await store.expunge(ALICE, 'INBOX', [1, 4]);
        expect(await mailbox('INBOX')).toMatchObject({ messages: 2, unseen: 2 });
      });

      it('honours unchangedSince (CONDSTORE): newer messages are skipped', async () => {
        // Prepare
        const [m1, m2] = await appendN(2);
        await store.updateFlags(ALICE, 'INBOX', [2], 'add', ['\\Flagged']);

        // Act
        const result = await store.updateFlags(ALICE, 'INBOX', [1, 2], 'add', ['\\Seen'], {
          unchangedSince: m2!.modseq,
        });

        // Assess
        expect(result.updated.map((u) => u.uid)).toEqual([1]);
        expect(result.skipped).toEqual([2]);
        expect((await store.getMessage(ALICE, 'INBOX', 2))?.flags).toEqual(['\\Flagged']);
        expect(
          (await store.updateFlags(ALICE, 'INBOX', [1], 'add', ['x'], { unchangedSince: 0 })).skipped,
        ).toEqual([1]);
        expect(m1!.modseq).toBeLessThan(m2!.modseq);
      });

      it(`refuses more than MAX_BATCH (${MAX_BATCH}) UIDs, bad flags and bad operations`, async () => {
        const uids = Array.from({ length: MAX_BATCH + 1 }, (_, i) => i + 1);
        await expectCode(store.updateFlags(ALICE, 'INBOX', uids, 'add', ['\\Seen']), 'LIMIT');
        await store.updateFlags(ALICE, 'INBOX', uids.slice(0, MAX_BATCH), 'add', ['\\Seen']);
        await expectCode(store.updateFlags(ALICE, 'INBOX', [1], 'add', ['\\Unknown']), 'INVALID_ARGUMENT');
        await expectCode(store.updateFlags(ALICE, 'INBOX', [1], 'add', ['a(b']), 'INVALID_ARGUMENT');
        await expectCode(store.updateFlags(ALICE, 'INBOX', [0], 'add', ['\\Seen']), 'INVALID_ARGUMENT');
        await expectCode(
          store.updateFlags(ALICE, 'INBOX', [1], 'toggle' as 'add', ['\\Seen']),
          'INVALID_ARGUMENT',
        );
        await expectCode(store.updateFlags(ALICE, 'Missing', [1], 'add', ['\\Seen']), 'NOT_FOUND');
      });
    });

    describe('expunge', () => {
      it('removes messages, logs each with its own MODSEQ and keeps the counters', async () => {
        // Prepare
        await appendN(4);
        const box = await mailbox('INBOX');

        // Act
        const removed = await store.expunge(ALICE, 'INBOX', [4, 2, 2, 77]);

        // Assess
        expect(removed).toEqual([2, 4]);
        expect((await store.listMessages(ALICE, 'INBOX')).map((m) => m.uid)).toEqual([1, 3]);
        const changes = await store.changesSince(ALICE, 'INBOX', box.highestModseq);
        expect(changes.map((c) => [c.kind, c.uid, c.modseq])).toEqual([
          ['expunge', 2, box.highestModseq + 1],
          ['expunge', 4, box.highestModseq + 2],
        ]);
        expect(await mailbox('INBOX')).toMatchObject({
          messages: 2,
          unseen: 2,
          uidNext: 5,
          highestModseq: box.highestModseq + 2,
        });
        expect(await store.expunge(ALICE, 'INBOX', [2])).toEqual([]);
        expect((await mailbox('INBOX')).highestModseq).toBe(box.highestModseq + 2);
      });

      it(`refuses more than MAX_BATCH (${MAX_BATCH}) UIDs`, async () => {
        const uids = Array.from({ length: MAX_BATCH + 1 }, (_, i) => i + 1);
        await expectCode(store.expunge(ALICE, 'INBOX', uids), 'LIMIT');
        await expectCode(store.expunge(ALICE, 'Missing', [1]), 'NOT_FOUND');
      });
    });

    describe('change feed', () => {
      it('raises MODSEQ on every change and reports appends, flag changes and expunges in order', async () => {
        // Prepare
        const start = (await mailbox('INBOX')).highestModseq;
        const seen: number[] = [start];
        const track = async () => seen.push((await mailbox('INBOX')).highestModseq);

        // Act
        await store.appendMessage(ALICE, 'INBOX', makeNewMessage());
        await track();
        await store.appendMessage(ALICE, 'INBOX', makeNewMessage({ flags: ['\\Draft'] }));
        await track();
        await store.updateFlags(ALICE, 'INBOX', [1], 'add', ['\\Seen']);
        await track();
        await store.expunge(ALICE, 'INBOX', [2]);
        await track();
        await store.updateFlags(ALICE, 'INBOX', [1], 'replace', ['\\Answered']);
        await track();

        // Assess
        for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
        const changes = await store.changesSince(ALICE, 'INBOX', start);
        expect(changes.map((c) => ({ kind: c.kind, uid: c.uid, flags: c.flags }))).toEqual([
          { kind: 'append', uid: 1, flags: [] },
          { kind: 'append', uid: 2, flags: ['\\Draft'] },
          { kind: 'flags', uid: 1, flags: ['\\Seen'] },
          { kind: 'expunge', uid: 2, flags: undefined },
          { kind: 'flags', uid: 1, flags: ['\\Answered'] },
        ]);
        expect(changes.map((c) => c.modseq)).toEqual(seen.slice(1));
        expect(changes.every((c) => typeof c.at === 'number')).toBe(true);
        expect((await store.changesSince(ALICE, 'INBOX', seen[3]!)).map((c) => c.kind)).toEqual([
          'expunge',
          'flags',
        ]);
        expect((await store.changesSince(ALICE, 'INBOX', start, 2)).map((c) => c.uid)).toEqual([1, 2]);
        expect(await store.changesSince(ALICE, 'INBOX', seen.at(-1)!)).toEqual([]);
        await expectCode(store.changesSince(ALICE, 'Missing', 0), 'NOT_FOUND');
      });

      it('keeps one feed per mailbox', async () => {
        await appendN(2, 'INBOX');
        await appendN(1, 'Archive');
        expect((await store.changesSince(ALICE, 'Archive', 0)).map((c) => c.uid)).toEqual([1]);
        expect(await store.changesSince(BOB, 'INBOX', 0)).toEqual([]);
      });
    });

    describe('isolation between accounts', () => {
      it("never lets one account reach another account's mailboxes, by name or by id", async () => {
        // Prepare
        const secret = await store.createMailbox(ALICE, 'Secret');
        await appendN(2, 'Secret');
        await appendN(1, 'INBOX');
        const aliceInbox = await mailbox('INBOX');
        const tricks = [
          `../${ALICE}/INBOX`,
          `${ALICE}/INBOX`,
          `../${ALICE}/Secret`,
          'Secret/..',
          secret.id,
          aliceInbox.id,
        ];

        // Act and assess
        for (const name of tricks) {
          expect(await store.getMailbox(BOB, name)).toBeUndefined();
          await expectCode(store.listMessages(BOB, name), 'NOT_FOUND');
          await expectCode(store.getMessage(BOB, name, 1), 'NOT_FOUND');
          await expectCode(store.appendMessage(BOB, name, makeNewMessage()), 'NOT_FOUND');
          await expectCode(store.updateFlags(BOB, name, [1], 'add', ['\\Deleted']), 'NOT_FOUND');
          await expectCode(store.expunge(BOB, name, [1]), 'NOT_FOUND');
          await expectCode(store.changesSince(BOB, name, 0), 'NOT_FOUND');
          await expectCode(store.deleteMailbox(BOB, name), 'NOT_FOUND');
          await expectCode(store.renameMailbox(BOB, name, 'Stolen'), 'NOT_FOUND');
        }
        const bobIds = (await store.listMailboxes(BOB)).map((b) => b.id);
        expect(bobIds).not.toContain(secret.id);
        expect(bobIds).not.toContain(aliceInbox.id);
        expect(await store.getMessage(BOB, 'INBOX', 1)).toBeUndefined();
        expect(await store.listMessages(BOB, 'INBOX')).toEqual([]);

        // Such a name is just a name of Bob's own.
        const own = await store.createMailbox(BOB, `../${ALICE}/INBOX`);
        await store.appendMessage(BOB, own.name, makeNewMessage());
        expect(own.account).toBe(BOB);
        expect(await mailbox('INBOX')).toEqual(aliceInbox);
        expect((await mailbox('Secret')).messages).toBe(2);
      });

      it('keeps UIDs, MODSEQs and flags per mailbox', async () => {
        await appendN(3, 'INBOX', ALICE);
        const bob = await store.appendMessage(BOB, 'INBOX', makeNewMessage());
        expect(bob.uid).toBe(1);
        await store.updateFlags(BOB, 'INBOX', [1, 2, 3], 'add', ['\\Deleted']);
        expect((await store.listMessages(ALICE, 'INBOX')).every((m) => m.flags.length === 0)).toBe(true);
        expect(await store.expunge(BOB, 'INBOX', [2, 3])).toEqual([]);
        expect((await mailbox('INBOX')).messages).toBe(3);
      });
    });

    describe('errors', () => {
      it('carry stable codes and names', async () => {
        const cases: [() => Promise<unknown>, string, string][] = [
          [() => store.addDomain('bad domain'), 'INVALID_NAME', 'InvalidNameError'],
          [() => store.addDomain('example.test'), 'ALREADY_EXISTS', 'AlreadyExistsError'],
          [() => store.removeDomain('missing.test'), 'NOT_FOUND', 'NotFoundError'],
          [() => store.removeDomain('example.test'), 'DOMAIN_NOT_EMPTY', 'DomainNotEmptyError'],
          [
            () =>
              store.expunge(
                ALICE,
                'INBOX',
                Array.from({ length: MAX_BATCH + 1 }, (_, i) => i + 1),
              ),
            'LIMIT',
            'LimitError',
          ],
          [
            () => store.updateFlags(ALICE, 'INBOX', [1], 'add', ['\\Nope']),
            'INVALID_ARGUMENT',
            'InvalidArgumentError',
          ],
        ];
        for (const [call, code, errorName] of cases) {
          const err = await rejection(call());
          expect({ code: err.code, name: err.name }).toEqual({ code, name: errorName });
        }
      });
    });

    describe('message states and copies (what IMAP SELECT, COPY and MOVE use)', () => {
      it('lists UID, MODSEQ and flags only, in UID order, within a UID range', async () => {
        await appendN(3);
        await store.updateFlags(ALICE, 'INBOX', [2], 'add', ['\\Seen']);
        const states = await store.listMessageStates(ALICE, 'INBOX');
        expect(states.map((s) => s.uid)).toEqual([1, 2, 3]);
        expect(states[1]).toEqual({
          uid: 2,
          modseq: expect.any(Number),
          flags: ['\\Seen'],
          size: makeNewMessage().size,
        });
        expect(states[1]!.modseq).toBeGreaterThan(states[2]!.modseq);
        expect(
          (await store.listMessageStates(ALICE, 'INBOX', { fromUid: 2, toUid: 2 })).map((s) => s.uid),
        ).toEqual([2]);
      });

      it('copies messages with their flags into new UIDs of the target, and logs them there', async () => {
        await appendN(3);
        await store.updateFlags(ALICE, 'INBOX', [3], 'add', ['\\Flagged']);
        const archive = await mailbox('Archive');
        const before = archive.highestModseq;

        const result = await store.copyMessages(ALICE, 'INBOX', [3, 1, 99], 'Archive');

        expect(result).toEqual({
          uidValidity: archive.uidValidity,
          mapping: [
            [1, 1],
            [3, 2],
          ],
        });
        const copied = await store.getMessage(ALICE, 'Archive', 2);
        const original = await store.getMessage(ALICE, 'INBOX', 3);
        expect({ ...copied, uid: 0, modseq: 0, mailboxId: '' }).toEqual({
          ...original,
          uid: 0,
          modseq: 0,
          mailboxId: '',
        });
        const after = await mailbox('Archive');
        expect(after).toMatchObject({ uidNext: 3, messages: 2, unseen: 2 });
        const changes = await store.changesSince(ALICE, 'Archive', before);
        expect(changes.map((c) => [c.kind, c.uid])).toEqual([
          ['append', 1],
          ['append', 2],
        ]);
        expect((await store.listMessages(ALICE, 'INBOX')).map((m) => m.uid)).toEqual([1, 2, 3]);
      });

      it('never copies into or out of another account', async () => {
        await appendN(1);
        // Bob's INBOX has no UID 1: Alice's UID 1 is not reachable through it.
        const result = await store.copyMessages(BOB, 'INBOX', [1], 'Archive');
        expect(result.mapping).toEqual([]);
        expect((await mailbox('Archive', BOB)).messages).toBe(0);
        await expectCode(store.copyMessages(ALICE, 'INBOX', [1], 'Nowhere'), 'NOT_FOUND');
      });
    });

    describe('leases (cross-process locks: the POP3 maildrop)', () => {
      it('gives a free lease to one owner and refuses it to another until it is released', async () => {
        expect(await store.acquireLease('pop3:alice', 'one', 60_000)).toBe(true);
        expect(await store.acquireLease('pop3:alice', 'two', 60_000)).toBe(false);
        // Another name is another lock.
        expect(await store.acquireLease('pop3:bob', 'two', 60_000)).toBe(true);
        // The holder renews; a stranger's release does nothing.
        expect(await store.acquireLease('pop3:alice', 'one', 60_000)).toBe(true);
        await store.releaseLease('pop3:alice', 'two');
        expect(await store.acquireLease('pop3:alice', 'two', 60_000)).toBe(false);
        await store.releaseLease('pop3:alice', 'one');
        expect(await store.acquireLease('pop3:alice', 'two', 60_000)).toBe(true);
      });

      it('lets another owner take a lease its holder did not renew in time', async () => {
        expect(await store.acquireLease('pop3:alice', 'crashed', 50)).toBe(true);
        expect(await store.acquireLease('pop3:alice', 'next', 60_000)).toBe(false);
        await new Promise((resolve) => setTimeout(resolve, 80));
        expect(await store.acquireLease('pop3:alice', 'next', 60_000)).toBe(true);
        // The late holder cannot renew what it lost.
        expect(await store.acquireLease('pop3:alice', 'crashed', 50)).toBe(false);
      });

      it('refuses empty names and owners', async () => {
        await expectCode(store.acquireLease('', 'one', 1000), 'INVALID_ARGUMENT');
        await expectCode(store.acquireLease('x', '', 1000), 'INVALID_ARGUMENT');
      });
    });
  });
}
