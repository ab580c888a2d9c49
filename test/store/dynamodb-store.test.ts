import {
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  DynamoDBServiceException,
  QueryCommand,
  type ConsumedCapacity,
} from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbStore, StoreError, TTL_ATTRIBUTE, createTable, deleteTable } from '../../lib/store/index.js';
import { translate } from '../../lib/store/dynamodb/table.js';
import { MAX_BATCH } from '../../lib/store/types.js';
import { runStoreContract } from '../contract/store.contract.js';
import { clientConfig, uniqueName } from '../helpers/aws.js';
import { makeNewMessage } from '../helpers/messages.js';

/*
 * The store contract on Amazon's DynamoDB Local, one fresh table per test (creating and
 * deleting a table takes about 40 ms there; emptying one item by item takes longer), then
 * what only the DynamoDB adapter has: the access patterns of docs/dynamodb.md counted call
 * by call, optimistic writes from two instances at once, big messages, and the operations
 * done in steps, interrupted and then finished by a retry.
 */

const ALICE = 'alice@example.test';

let shared: DynamoDBClient | undefined;
function sharedClient(): DynamoDBClient {
  shared ??= new DynamoDBClient(clientConfig('dynamodb'));
  return shared;
}

afterAll(() => shared?.destroy());

runStoreContract('DynamoDbStore', async () => {
  const client = sharedClient();
  const tableName = uniqueName('store');
  await createTable(client, tableName);
  return {
    store: new DynamoDbStore({ client, tableName }),
    cleanup: () => deleteTable(client, tableName),
  };
});

interface Call {
  command: string;
  capacity: number;
}

/**
 * A client that records every call (asking for ConsumedCapacity TOTAL) and can be made to
 * fail the nth call of a command, as a process that dies at that point would stop.
 */
function instrumentedClient() {
  const client = new DynamoDBClient(clientConfig('dynamodb'));
  const calls: Call[] = [];
  const failures = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = (context.commandName ?? '').replace(/Command$/, '');
      const left = failures.get(command);
      if (left !== undefined) {
        if (left <= 1) {
          failures.delete(command);
          throw new Error(`injected failure of ${command}`);
        }
        failures.set(command, left - 1);
      }
      (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'TOTAL';
      let result: Awaited<ReturnType<typeof next>>;
      try {
        result = await next(args);
      } catch (err) {
        // A failed conditional write is billed like one that succeeds.
        calls.push({ command, capacity: 0 });
        throw err;
      }
      const consumed = (result.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] })
        .ConsumedCapacity;
      const list = consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed];
      calls.push({ command, capacity: list.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0) });
      return result;
    },
    { step: 'initialize', name: 'recordCalls' },
  );
  return {
    client,
    calls,
    /** Fails the nth call of command from now on (1 = the next one). */
    failNth(command: string, nth: number) {
      failures.set(command, nth);
    },
    /** The calls made by fn, as counts per command. */
    async count(fn: () => Promise<unknown>): Promise<{ counts: Record<string, number>; capacity: number }> {
      const start = calls.length;
      await fn();
      const made = calls.slice(start);
      const counts: Record<string, number> = {};
      for (const call of made) counts[call.command] = (counts[call.command] ?? 0) + 1;
      return { counts, capacity: made.reduce((sum, call) => sum + call.capacity, 0) };
    },
  };
}

describe('DynamoDbStore on DynamoDB Local', () => {
  let tableName: string;
  let tools: ReturnType<typeof instrumentedClient>;
  let store: DynamoDbStore;

  beforeAll(() => {
    tools = instrumentedClient();
  });

  afterAll(() => tools.client.destroy());

  beforeEach(async () => {
    tableName = uniqueName('store');
    await createTable(tools.client, tableName);
    store = new DynamoDbStore({ client: tools.client, tableName });
    await store.addDomain('example.test');
    await store.addAccount(ALICE, 'hash');
  });

  afterEach(async () => {
    await store.close();
    await deleteTable(tools.client, tableName);
  });

  /** Every item of one partition, raw. */
  async function partition(pk: string) {
    const output = await tools.client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: pk } },
      }),
    );
    return (output.Items ?? []).map((item) => item.sk!.S!);
  }

  it('creates the table with TTL on expiresAt', async () => {
    const ttl = await tools.client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    expect(ttl.TimeToLiveDescription).toMatchObject({
      AttributeName: TTL_ATTRIBUTE,
      TimeToLiveStatus: 'ENABLED',
    });
  });

  it('makes each operation the calls docs/dynamodb.md says it makes', async () => {
    // Prepare
    await store.addRoute('orders@example.test', { type: 'drop' });
    await store.addAlias('info@example.test', [ALICE]);
    for (let i = 0; i < 5; i++) await store.appendMessage(ALICE, 'INBOX', makeNewMessage());
    const costs: [string, Record<string, number>, number][] = [];
    const expectCalls = async (
      what: string,
      fn: () => Promise<unknown>,
      expected: Record<string, number>,
    ) => {
      const { counts, capacity } = await tools.count(fn);
      costs.push([what, counts, capacity]);
      expect({ what, counts }).toEqual({ what, counts: expected });
    };

    // Act and assess: RCPT look-ups
    await expectCalls('getDomain', () => store.getDomain('example.test'), { GetItem: 1 });
    await expectCalls('getAccount', () => store.getAccount(ALICE), { GetItem: 1 });
    await expectCalls('getAlias', () => store.getAlias('info@example.test'), { GetItem: 1 });
    await expectCalls('routesFor', () => store.routesFor('orders@example.test'), { Query: 1 });
    await expectCalls('getPasswordHash', () => store.getPasswordHash(ALICE), { GetItem: 1 });

    // Delivery, with and without an idempotency key, and its repetition.
    // No transaction: claim (metadata put), state put, mailbox update.
    await expectCalls('appendMessage', () => store.appendMessage(ALICE, 'INBOX', makeNewMessage()), {
      GetItem: 1,
      PutItem: 2,
      UpdateItem: 1,
    });
    const deliver = () =>
      store.appendMessage(ALICE, 'INBOX', makeNewMessage(), { idempotencyKey: 'job-1:alice' });
    await expectCalls('appendMessage (key)', deliver, { GetItem: 1, PutItem: 2, UpdateItem: 1 });
    // The claim is there: read it, then the state it names.
    await expectCalls('appendMessage (repeated key)', deliver, { GetItem: 3, PutItem: 1 });

    // IMAP: LIST, STATUS, SELECT, FETCH, STORE, IDLE, COPY, EXPUNGE
    await expectCalls('listMailboxes', () => store.listMailboxes(ALICE), { Query: 1 });
    await expectCalls('getMailbox', () => store.getMailbox(ALICE, 'INBOX'), { GetItem: 1 });
    await expectCalls('listMessageStates', () => store.listMessageStates(ALICE, 'INBOX', { limit: 1000 }), {
      GetItem: 1,
      Query: 1,
    });
    await expectCalls('listMessages', () => store.listMessages(ALICE, 'INBOX'), {
      GetItem: 1,
      Query: 1,
      BatchGetItem: 1,
    });
    await expectCalls('getMessage', () => store.getMessage(ALICE, 'INBOX', 1), {
      GetItem: 2,
      BatchGetItem: 1,
    });
    await expectCalls(
      'updateFlags (5 messages)',
      () => store.updateFlags(ALICE, 'INBOX', [1, 2, 3, 4, 5], 'add', ['\\Seen']),
      { GetItem: 1, BatchGetItem: 1, TransactWriteItems: 1 },
    );
    // The change log for flags and expunges, the top of the state items for appends.
    await expectCalls('changesSince', () => store.changesSince(ALICE, 'INBOX', 1), { GetItem: 1, Query: 2 });
    await expectCalls(
      'changesSince (nothing new)',
      async () => {
        const box = (await store.getMailbox(ALICE, 'INBOX'))!;
        return store.changesSince(ALICE, 'INBOX', box.highestModseq);
      },
      { GetItem: 2 },
    );
    await expectCalls(
      'copyMessages (3 messages)',
      () => store.copyMessages(ALICE, 'INBOX', [1, 2, 3], 'Archive'),
      {
        GetItem: 2,
        BatchGetItem: 2,
        BatchWriteItem: 1,
        TransactWriteItems: 1,
      },
    );
    await expectCalls('expunge (2 messages)', () => store.expunge(ALICE, 'INBOX', [1, 2]), {
      GetItem: 1,
      BatchGetItem: 1,
      TransactWriteItems: 1,
      BatchWriteItem: 1,
    });
    await expectCalls('createMailbox', () => store.createMailbox(ALICE, 'Projects'), {
      GetItem: 1,
      TransactWriteItems: 1,
    });

    // POP3: the maildrop lock
    await expectCalls('acquireLease', () => store.acquireLease('pop3:alice', 'one', 60_000), { PutItem: 1 });
    await expectCalls('releaseLease', () => store.releaseLease('pop3:alice', 'one'), { DeleteItem: 1 });

    // A page of message states is one Query however many messages it holds (state items are small).
    if (process.env.SHOW_DYNAMODB_COSTS) {
      console.table(costs.map(([what, counts, capacity]) => ({ what, ...counts, capacity })));
    }
  });

  it(`updates the flags of MAX_BATCH (${MAX_BATCH}) messages in one transaction`, async () => {
    // Prepare
    const results = [];
    for (let i = 0; i < MAX_BATCH; i++)
      results.push(await store.appendMessage(ALICE, 'Archive', makeNewMessage()));
    const uids = results.map((r) => r.uid);

    // Act
    const { counts } = await tools.count(() => store.updateFlags(ALICE, 'Archive', uids, 'add', ['\\Seen']));
    const expunged = await tools.count(() => store.expunge(ALICE, 'Archive', uids));

    // Assess
    expect(counts).toEqual({ GetItem: 1, BatchGetItem: 1, TransactWriteItems: 1 });
    expect(expunged.counts).toMatchObject({ TransactWriteItems: 1 });
    expect(await store.getMailbox(ALICE, 'Archive')).toMatchObject({ messages: 0, unseen: 0 });
    // No state and no content left: of each message only the tombstone of its claim.
    const left = await partition(`B#${results[0]!.mailboxId}`);
    expect(left.filter((sk) => sk.startsWith('S#') || (sk.startsWith('K#') && !sk.endsWith('#M0')))).toEqual(
      [],
    );
    expect(left.filter((sk) => sk.startsWith('K#'))).toHaveLength(MAX_BATCH);
  });

  it('gives distinct, increasing UIDs to two instances appending to one mailbox at once', async () => {
    // Prepare
    const a = new DynamoDbStore({ client: tools.client, tableName });
    const b = new DynamoDbStore({ client: tools.client, tableName });

    // Act
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? a : b).appendMessage(ALICE, 'INBOX', makeNewMessage()),
      ),
    );

    // Assess
    const uids = results.map((r) => r.uid).sort((x, y) => x - y);
    expect(uids).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const byUid = [...results].sort((x, y) => x.uid - y.uid).map((r) => r.modseq);
    expect([...byUid].sort((x, y) => x - y)).toEqual(byUid);
    expect(await b.getMailbox(ALICE, 'INBOX')).toMatchObject({ messages: 20, unseen: 20, uidNext: 21 });
    expect((await a.changesSince(ALICE, 'INBOX', 0)).map((c) => c.uid).sort((x, y) => x - y)).toEqual(uids);
  });

  it('stores one message when the same delivery runs twice at once', async () => {
    // Act
    const [first, second] = await Promise.all([
      store.appendMessage(ALICE, 'INBOX', makeNewMessage(), { idempotencyKey: 'job-9' }),
      store.appendMessage(ALICE, 'INBOX', makeNewMessage(), { idempotencyKey: 'job-9' }),
    ]);

    // Assess
    expect([first!.duplicate, second!.duplicate].sort()).toEqual([false, true]);
    expect(first!.uid).toBe(second!.uid);
    expect(await store.getMailbox(ALICE, 'INBOX')).toMatchObject({ messages: 1 });
    // Both wrote the one claim (the metadata item, with the short text inline) and one state.
    const items = await partition(`B#${first!.mailboxId}`);
    expect(items.filter((sk) => sk.startsWith('K#'))).toHaveLength(1);
    expect(items.filter((sk) => sk.startsWith('S#'))).toHaveLength(1);
  });

  describe('an append that stopped before it was published', () => {
    // The third write of an append (the mailbox update) fails, as if the process died there:
    // the claim and the state item are written, UIDNEXT has not moved.
    async function stoppedAppend(options: { idempotencyKey?: string; flags?: string[] } = {}) {
      tools.failNth('UpdateItem', 1);
      const message = makeNewMessage(options.flags ? { flags: options.flags } : {});
      await expect(store.appendMessage(ALICE, 'INBOX', message, options)).rejects.toBeInstanceOf(StoreError);
      return message;
    }

    it('is seen by no reader, and the next append publishes it first', async () => {
      // Prepare
      await store.appendMessage(ALICE, 'INBOX', makeNewMessage());
      await stoppedAppend();
      const before = (await store.getMailbox(ALICE, 'INBOX'))!;

      // Assess: invisible
      expect(before).toMatchObject({ uidNext: 2, messages: 1 });
      expect((await store.listMessageStates(ALICE, 'INBOX')).map((m) => m.uid)).toEqual([1]);
      expect((await store.listMessages(ALICE, 'INBOX')).map((m) => m.uid)).toEqual([1]);
      expect(await store.getMessage(ALICE, 'INBOX', 2)).toBeUndefined();
      expect((await store.updateFlags(ALICE, 'INBOX', [2], 'add', ['\\Seen'])).updated).toEqual([]);
      expect(await store.expunge(ALICE, 'INBOX', [2])).toEqual([]);
      expect((await store.copyMessages(ALICE, 'INBOX', [2], 'Archive')).mapping).toEqual([]);
      expect(await store.changesSince(ALICE, 'INBOX', 0)).toHaveLength(1);

      // Act
      const next = await store.appendMessage(ALICE, 'INBOX', makeNewMessage());

      // Assess: published, in order
      expect(next.uid).toBe(3);
      expect((await store.listMessageStates(ALICE, 'INBOX')).map((m) => m.uid)).toEqual([1, 2, 3]);
      expect(await store.getMailbox(ALICE, 'INBOX')).toMatchObject({ uidNext: 4, messages: 3, unseen: 3 });
      const changes = await store.changesSince(ALICE, 'INBOX', 0);
      expect(changes.map((c) => [c.kind, c.uid])).toEqual([
        ['append', 1],
        ['append', 2],
        ['append', 3],
      ]);
      expect(changes.map((c) => c.modseq)).toEqual([...changes.map((c) => c.modseq)].sort((a, b) => a - b));
    });

    it('is published by a COPY into the mailbox before the copies', async () => {
      // Prepare
      await store.appendMessage(ALICE, 'Archive', makeNewMessage());
      await stoppedAppend();

      // Act
      const copied = await store.copyMessages(ALICE, 'Archive', [1], 'INBOX');

      // Assess
      expect(copied.mapping).toEqual([[1, 2]]);
      expect((await store.listMessageStates(ALICE, 'INBOX')).map((m) => m.uid)).toEqual([1, 2]);
    });

    it('gets a MODSEQ above a flag change made while it was pending', async () => {
      // Prepare
      await store.appendMessage(ALICE, 'INBOX', makeNewMessage());
      await stoppedAppend({ idempotencyKey: 'job-3', flags: ['\\Seen'] });
      const { updated } = await store.updateFlags(ALICE, 'INBOX', [1], 'add', ['\\Flagged']);

      // Act: the same delivery again finds its state and publishes it
      const again = await store.appendMessage(ALICE, 'INBOX', makeNewMessage(), { idempotencyKey: 'job-3' });

      // Assess
      expect(again).toMatchObject({ uid: 2, duplicate: true });
      expect(again.modseq).toBeGreaterThan(updated[0]!.modseq);
      const box = (await store.getMailbox(ALICE, 'INBOX'))!;
      expect(box).toMatchObject({ uidNext: 3, highestModseq: again.modseq, messages: 2, unseen: 1 });
      const states = await store.listMessageStates(ALICE, 'INBOX');
      expect(states.map((m) => [m.uid, m.modseq])).toEqual([
        [1, updated[0]!.modseq],
        [2, again.modseq],
      ]);
      expect(
        (await store.changesSince(ALICE, 'INBOX', updated[0]!.modseq - 1)).map((c) => [c.kind, c.uid]),
      ).toEqual([
        ['flags', 1],
        ['append', 2],
      ]);
    });

    it('is delivered once when its delivery comes again after dying between claim and state', async () => {
      // Prepare: the claim is written, the state put fails
      tools.failNth('PutItem', 2);
      await expect(
        store.appendMessage(ALICE, 'INBOX', makeNewMessage(), { idempotencyKey: 'job-4' }),
      ).rejects.toBeInstanceOf(StoreError);

      // Act
      const again = await store.appendMessage(ALICE, 'INBOX', makeNewMessage(), { idempotencyKey: 'job-4' });
      const third = await store.appendMessage(ALICE, 'INBOX', makeNewMessage(), { idempotencyKey: 'job-4' });

      // Assess
      expect(again).toMatchObject({ uid: 1, duplicate: false });
      expect(third).toEqual({ ...again, duplicate: true });
      expect(await store.getMailbox(ALICE, 'INBOX')).toMatchObject({ uidNext: 2, messages: 1 });
    });

    it('moves its claim on when another append took the UID it named', async () => {
      // Prepare: claim names UID 1, then dies; another append takes UID 1
      tools.failNth('PutItem', 2);
      await expect(
        store.appendMessage(ALICE, 'INBOX', makeNewMessage(), { idempotencyKey: 'job-5' }),
      ).rejects.toBeInstanceOf(StoreError);
      await store.appendMessage(ALICE, 'INBOX', makeNewMessage());

      // Act
      const again = await store.appendMessage(ALICE, 'INBOX', makeNewMessage(), { idempotencyKey: 'job-5' });

      // Assess
      expect(again).toMatchObject({ uid: 2, duplicate: false });
      expect((await store.listMessageStates(ALICE, 'INBOX')).map((m) => m.uid)).toEqual([1, 2]);
    });
  });

  it('shows a session UIDs and MODSEQs in order while appends, retried deliveries, STOREs and COPYs race', async () => {
    // Prepare: three store instances (as three processes) and a session that follows the feed
    const writers = [store, ...[1, 2].map(() => new DynamoDbStore({ client: tools.client, tableName }))];
    for (let i = 0; i < 5; i++) await store.appendMessage(ALICE, 'Archive', makeNewMessage());
    const known = new Map<number, string[]>();
    let highest = (await store.getMailbox(ALICE, 'INBOX'))!.highestModseq;
    let maxUid = 0;
    const problems: string[] = [];
    const follow = async () => {
      const changes = await store.changesSince(ALICE, 'INBOX', highest);
      for (const change of changes) {
        if (change.modseq <= highest) problems.push(`MODSEQ ${change.modseq} after ${highest}`);
        highest = change.modseq;
        if (change.kind === 'append') {
          // RFC 3501 2.3.1.1: a new message has a UID above every UID the session has seen.
          if (change.uid <= maxUid) problems.push(`new UID ${change.uid} after ${maxUid}`);
          maxUid = Math.max(maxUid, change.uid);
          known.set(change.uid, change.flags ?? []);
        } else if (change.kind === 'expunge') known.delete(change.uid);
        else if (known.has(change.uid)) known.set(change.uid, change.flags ?? []);
      }
    };
    let racing = true;
    const session = (async () => {
      while (racing) await follow();
    })();

    // Act
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 24; i++) {
      const writer = writers[i % writers.length]!;
      // Every fourth delivery comes twice at once, from two instances.
      if (i % 4 === 0) {
        const key = `race-${i}`;
        jobs.push(writer.appendMessage(ALICE, 'INBOX', makeNewMessage(), { idempotencyKey: key }));
        jobs.push(
          writers[(i + 1) % writers.length]!.appendMessage(ALICE, 'INBOX', makeNewMessage(), {
            idempotencyKey: key,
          }),
        );
      } else jobs.push(writer.appendMessage(ALICE, 'INBOX', makeNewMessage()));
      if (i % 6 === 3) jobs.push(writer.updateFlags(ALICE, 'INBOX', [1, 2, 3], 'add', [`$k${i}`]));
      if (i % 8 === 5) jobs.push(writer.copyMessages(ALICE, 'Archive', [1, 2], 'INBOX'));
    }
    await Promise.all(jobs);
    racing = false;
    await session;
    await follow();

    // Assess
    expect(problems).toEqual([]);
    const states = await store.listMessageStates(ALICE, 'INBOX');
    // 24 deliveries (6 of them twice, stored once) and 3 COPYs of 2.
    expect(states).toHaveLength(24 + 3 * 2);
    expect(states.map((m) => m.uid)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(new Map(states.map((m) => [m.uid, m.flags]))).toEqual(known);
    const box = (await store.getMailbox(ALICE, 'INBOX'))!;
    expect(box).toMatchObject({ uidNext: 31, messages: 30, unseen: 30, highestModseq: highest });
    expect(Math.max(...states.map((m) => m.modseq))).toBe(box.highestModseq);
    for (const writer of writers.slice(1)) await writer.close();
  });

  it('keeps no search text of its own when it can read it from the raw message', async () => {
    // Prepare: text too long to go inline, and a short message
    const reads: string[] = [];
    const readText = async (blobKey: string) => {
      reads.push(blobKey);
      return { headerText: 'Subject: from the raw message\r\n', bodyText: `raw ${blobKey}` };
    };
    const textless = new DynamoDbStore({ client: tools.client, tableName, readText });
    const noise = Array.from({ length: 2000 }, (_, i) => ((i * 2654435761) >>> 0).toString(36)).join(' ');
    const long = await textless.appendMessage(
      ALICE,
      'INBOX',
      makeNewMessage({ bodyText: noise, blobKey: 'raw/long' }),
    );
    const short = await textless.appendMessage(
      ALICE,
      'INBOX',
      makeNewMessage({ bodyText: 'hi', blobKey: 'raw/short' }),
    );

    // Act
    const readLong = await textless.getMessage(ALICE, 'INBOX', long.uid);
    const readShort = await textless.getMessage(ALICE, 'INBOX', short.uid);

    // Assess: no text item; the long one read from the raw message, the short one inline
    expect((await partition(`B#${long.mailboxId}`)).filter((sk) => /#T\d+$/.test(sk))).toEqual([]);
    expect(readLong).toMatchObject({
      bodyText: 'raw raw/long',
      headerText: 'Subject: from the raw message\r\n',
    });
    expect(readShort?.bodyText).toBe('hi');
    expect(reads).toEqual(['raw/long']);
    // A copy keeps both ways of finding the text.
    const copy = await textless.copyMessages(ALICE, 'INBOX', [long.uid, short.uid], 'Archive');
    expect((await textless.getMessage(ALICE, 'Archive', copy.mapping[1]![1]))?.bodyText).toBe('hi');
    expect((await textless.getMessage(ALICE, 'Archive', copy.mapping[0]![1]))?.bodyText).toBe('raw raw/long');
    await textless.close();
  });

  it('keeps a message of megabytes of text in parts, and copies and expunges all of them', async () => {
    // Prepare: text that does not compress, so it needs several 350 KB parts.
    const noise = Array.from({ length: 120_000 }, (_, i) => ((i * 2654435761) >>> 0).toString(36)).join(' ');
    const message = makeNewMessage({ bodyText: noise, headerText: 'Subject: big\r\n' });

    // Act
    const { uid, mailboxId } = await store.appendMessage(ALICE, 'INBOX', message);
    const copy = await store.copyMessages(ALICE, 'INBOX', [uid], 'Archive');

    // Assess
    const stored = await store.getMessage(ALICE, 'INBOX', uid);
    expect(stored?.bodyText).toBe(noise);
    expect((await store.getMessage(ALICE, 'Archive', copy.mapping[0]![1]))?.bodyText).toBe(noise);
    const parts = (await partition(`B#${mailboxId}`)).filter((sk) => sk.startsWith('K#'));
    expect(parts.length).toBeGreaterThan(2);
    await store.expunge(ALICE, 'INBOX', [uid]);
    const left = (await partition(`B#${mailboxId}`)).filter((sk) => !sk.startsWith('C#'));
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^K#.*#M0$/);
  });

  it('finishes a mailbox deletion that stopped half way when it is repeated', async () => {
    // Prepare
    const box = await store.createMailbox(ALICE, 'Old');
    // 13 messages: 26 items, two BatchWriteItem calls.
    for (let i = 0; i < 13; i++) await store.appendMessage(ALICE, 'Old', makeNewMessage());
    tools.failNth('BatchWriteItem', 2);

    // Act
    await expect(store.deleteMailbox(ALICE, 'Old')).rejects.toBeInstanceOf(StoreError);
    const halfway = await partition(`B#${box.id}`);
    await store.deleteMailbox(ALICE, 'Old');

    // Assess
    expect(halfway.length).toBeGreaterThan(0);
    expect(await store.getMailbox(ALICE, 'Old')).toBeUndefined();
    expect(await partition(`B#${box.id}`)).toEqual([]);
    expect((await partition(`U#${ALICE}`)).filter((sk) => sk.startsWith('X#'))).toEqual([]);
    await expect(store.deleteMailbox(ALICE, 'Old')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('finishes an account removal that stopped half way, on retry or on adding the account again', async () => {
    // Prepare
    for (let i = 0; i < 3; i++) await store.createMailbox(ALICE, `Box ${i}`);
    for (let i = 0; i < 13; i++)
      await store.appendMessage(ALICE, 'Box 1', makeNewMessage(), { idempotencyKey: `k${i}` });
    const inbox = (await store.getMailbox(ALICE, 'INBOX'))!;
    tools.failNth('BatchWriteItem', 2);

    // Act
    await expect(store.removeAccount(ALICE)).rejects.toBeInstanceOf(StoreError);

    // Assess: gone for readers at once, still holding the domain, finished by adding it again.
    expect(await store.getAccount(ALICE)).toBeUndefined();
    await expect(store.removeDomain('example.test')).rejects.toMatchObject({ code: 'DOMAIN_NOT_EMPTY' });
    await store.addAccount(ALICE, 'new');
    const fresh = (await store.getMailbox(ALICE, 'INBOX'))!;
    expect(fresh.id).not.toBe(inbox.id);
    expect(fresh.uidValidity).toBeGreaterThan(inbox.uidValidity);
    expect((await store.listMailboxes(ALICE)).map((b) => b.name)).not.toContain('Box 1');
    expect(
      await store.appendMessage(ALICE, 'INBOX', makeNewMessage(), { idempotencyKey: 'k1' }),
    ).toMatchObject({
      duplicate: false,
    });

    // And a removal that completes leaves nothing but the UIDVALIDITY counter.
    await store.removeAccount(ALICE);
    expect(await partition(`U#${ALICE}`)).toEqual(['V']);
    expect(await partition(`B#${inbox.id}`)).toEqual([]);
    await store.removeDomain('example.test');
  });

  it('renames a tree of more than 50 mailboxes in steps, and a repeated rename finishes one that stopped', async () => {
    // Prepare: 60 children under "Big".
    const parent = await store.createMailbox(ALICE, 'Big');
    await store.appendMessage(ALICE, 'Big', makeNewMessage());
    for (let i = 0; i < 60; i++) await store.createMailbox(ALICE, `Big/${String(i).padStart(2, '0')}`);
    tools.failNth('TransactWriteItems', 2);

    // Act
    await expect(store.renameMailbox(ALICE, 'Big', 'Huge')).rejects.toBeInstanceOf(StoreError);
    const halfway = await store.listMailboxes(ALICE);
    const renamed = await store.renameMailbox(ALICE, 'Big', 'Huge');

    // Assess
    expect(halfway.filter((b) => b.name.startsWith('Huge/')).length).toBe(50);
    expect(halfway.some((b) => b.name === 'Big')).toBe(true);
    expect(renamed).toMatchObject({
      id: parent.id,
      name: 'Huge',
      messages: 1,
      uidValidity: parent.uidValidity,
    });
    const names = (await store.listMailboxes(ALICE)).map((b) => b.name);
    expect(names.filter((n) => n.startsWith('Huge/'))).toHaveLength(60);
    expect(names.filter((n) => n.startsWith('Big'))).toEqual([]);
    expect((await store.listMessages(ALICE, 'Huge')).map((m) => m.uid)).toEqual([1]);
  });

  it('takes createdAt and UIDVALIDITY from the clock it is given', async () => {
    // Prepare
    let now = Date.UTC(2030, 0, 1);
    const clocked = new DynamoDbStore({ client: tools.client, tableName, now: () => now });

    // Act
    const first = await clocked.createMailbox(ALICE, 'Clocked');
    await clocked.deleteMailbox(ALICE, 'Clocked');
    const second = await clocked.createMailbox(ALICE, 'Clocked');
    now += 3_600_000;
    const third = await clocked.createMailbox(ALICE, 'Later');

    // Assess
    expect(first.createdAt).toBe(Date.UTC(2030, 0, 1));
    expect(first.uidValidity).toBe(Date.UTC(2030, 0, 1) / 1000);
    expect(second.uidValidity).toBe(first.uidValidity + 1);
    expect(third.uidValidity).toBe(now / 1000);
  });

  it('reports a missing table as a StoreError without DynamoDB text', async () => {
    const lost = new DynamoDbStore({ client: tools.client, tableName: uniqueName('missing') });
    const err = await lost.getDomain('example.test').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).message).toMatch(/^the DynamoDB table "missing-.*" does not exist$/);
  });
});

describe('DynamoDB errors', () => {
  function dynamoError(name: string, message: string) {
    return new DynamoDBServiceException({ name, message, $fault: 'client', $metadata: {} });
  }

  it.each([
    ['ValidationException', 'Item size has exceeded the maximum allowed size', 'LIMIT'],
    ['ValidationException', 'One or more parameter values were invalid: secret detail', 'STORE_ERROR'],
    ['ProvisionedThroughputExceededException', 'The level of configured provisioned throughput', 'CONFLICT'],
    ['ThrottlingException', 'Rate of requests exceeds the allowed throughput', 'CONFLICT'],
    ['InternalServerError', 'Internal server error (backend detail)', 'STORE_ERROR'],
  ])('turns %s (%s) into a store error without its text', (name, message, code) => {
    // Act
    const err = translate(dynamoError(name, message), 'mailroom') as StoreError;

    // Assess
    expect(err).toBeInstanceOf(StoreError);
    expect(err.code).toBe(code);
    expect(err.message).not.toContain(message);
    expect(err.cause).toBeInstanceOf(DynamoDBServiceException);
  });
});
