import { performance } from 'node:perf_hooks';
import {
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  ScanCommand,
  type AttributeValue,
  type ConsumedCapacity,
  type GetItemCommandInput,
  type QueryCommandInput,
  type ScanCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { AwsClient } from '../lib/app/aws-backend.js';
import { entrySize } from '../lib/events/eventbridge.js';
import { PARTITION_KEY, SORT_KEY } from '../lib/store/dynamodb/schema.js';

/*
 * What bench/cost.ts counts: every request an AWS SDK client sends, by middleware on the
 * client's stack (openAws's onClient hook), with what AWS bills it by:
 *
 * - S3: requests (PUT class or GET class);
 * - SQS: requests, each 64 KB chunk of a request's payload counting as one;
 * - EventBridge: PutEvents entries, each 64 KB chunk of an entry counting as one event;
 * - DynamoDB: read and write request units, twice over: "measured", the ConsumedCapacity
 *   DynamoDB Local answers (the middleware asks for ReturnConsumedCapacity TOTAL, which the
 *   store does not), and "computed", from the sizes of the items each call read or wrote,
 *   by DynamoDB's rules (CapacitySizer below).
 */

type Service = 'S3' | 'SQS' | 'DynamoDB' | 'EventBridge' | 'SES';

const SERVICES: Record<string, Service> = {
  S3Client: 'S3',
  SQSClient: 'SQS',
  DynamoDBClient: 'DynamoDB',
  EventBridgeClient: 'EventBridge',
  SESv2Client: 'SES',
};

/** DynamoDB operations that take ReturnConsumedCapacity. */
const CAPACITY_OPS = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactGetItems',
  'TransactWriteItems',
]);
const DYNAMODB_READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

export interface OpStat {
  service: Service;
  op: string;
  /** Calls made (an SDK retry of a call is not a new call; see attempts). */
  calls: number;
  /** Calls that ended in an error. */
  failed: number;
  /** HTTP requests sent, SDK retries included. */
  attempts: number;
  /** Billed units other than DynamoDB's: S3 requests, SQS 64 KB requests, EventBridge 64 KB events. */
  units: number;
  /** DynamoDB: capacity units from ConsumedCapacity, and the calls that carried it. */
  rruMeasured: number;
  wruMeasured: number;
  reported: number;
  /** DynamoDB: capacity units computed from item sizes (CapacitySizer). */
  rruComputed: number;
  wruComputed: number;
}

export type Stats = Map<string, OpStat>;

/** One kind of DynamoDB item written by one kind of call, added up. */
export interface ItemWrites {
  op: string;
  /** Put, Update, Delete (ConditionCheck: a read). */
  kind: string;
  /** What the item is, from its sort key (docs/dynamodb.md). */
  label: string;
  count: number;
  /** The larger of the item before and after, added up. */
  bytes: number;
  /** Write units (transactional: doubled). */
  units: number;
}

/** One item written by one call, as the sizer reports it. */
export interface ItemWrite {
  kind: string;
  label: string;
  bytes: number;
  units: number;
}

type Next = (args: Args) => Promise<{ output: unknown }>;
interface Args {
  input: Record<string, unknown>;
}
interface Context {
  clientName?: string;
  commandName?: string;
}
interface StackLike {
  add(
    middleware: (next: Next, context: Context) => (args: Args) => Promise<{ output: unknown }>,
    options: { step: 'initialize' | 'build' | 'deserialize'; name: string },
  ): void;
}

const SQS_CHUNK = 64 * 1024;
const EVENT_CHUNK = 64 * 1024;

/** Counts the requests of every client given to attach(). */
export class Meter {
  readonly stats: Stats = new Map();
  /** DynamoDB items written, by call and kind of item (computed sizes): what the write units pay for. */
  readonly items = new Map<string, ItemWrites>();
  #inflight = 0;

  constructor(private readonly sizer?: CapacitySizer) {}

  /** For openAws's onClient hook. */
  readonly attach = (client: AwsClient): void => {
    const stack = client.middlewareStack as unknown as StackLike;
    stack.add(
      (next, context) => async (args) => {
        const service = SERVICES[context.clientName ?? ''] ?? ('S3' as Service);
        const stat = this.stat(service, context.commandName);
        stat.calls++;
        const input = args.input;
        if (service === 'DynamoDB' && CAPACITY_OPS.has(stat.op)) input.ReturnConsumedCapacity ??= 'TOTAL';
        let result: { output: unknown };
        this.#inflight++;
        try {
          result = await next(args);
        } catch (err) {
          // A request that failed is billed all the same (as one request).
          stat.failed++;
          if (service !== 'DynamoDB') stat.units += 1;
          throw err;
        } finally {
          this.#inflight--;
        }
        const output = (result.output ?? {}) as Record<string, unknown>;
        if (service === 'DynamoDB') this.measured(stat, output.ConsumedCapacity);
        else stat.units += billedUnits(service, stat.op, input, output);
        return result;
      },
      { step: 'initialize', name: 'costMeterCount' },
    );
    // Inside lib-dynamodb's marshalling: the input and output in DynamoDB's own shape.
    if (client instanceof DynamoDBClient && this.sizer) {
      const sizer = this.sizer;
      stack.add(
        (next, context) => async (args) => {
          const stat = this.stat('DynamoDB', context.commandName);
          // A mistake of the sizing must never change what the call does or answers.
          let outcome: { result: { output: unknown } } | { error: unknown } | undefined;
          const call = async () => {
            try {
              const result = await next(args);
              outcome = { result };
              return result;
            } catch (error) {
              outcome = { error };
              throw error;
            }
          };
          try {
            const { result, rru, wru } = await sizer.charge(stat.op, args.input, call, (write) => {
              const key = `${stat.op}\t${write.kind}\t${write.label}`;
              const entry = this.items.get(key) ?? { op: stat.op, ...write, count: 0, bytes: 0, units: 0 };
              entry.count++;
              entry.bytes += write.bytes;
              entry.units += write.units;
              this.items.set(key, entry);
            });
            stat.rruComputed += rru;
            stat.wruComputed += wru;
            return result;
          } catch (err) {
            if (outcome && 'error' in outcome) throw outcome.error;
            sizer.errors.push(`${stat.op}: ${err instanceof Error ? err.message : String(err)}`);
            return outcome ? outcome.result : next(args);
          }
        },
        { step: 'build', name: 'costMeterSize' },
      );
    }
    stack.add(
      (next, context) => async (args) => {
        this.stat(SERVICES[context.clientName ?? ''] ?? 'S3', context.commandName).attempts++;
        return next(args);
      },
      { step: 'deserialize', name: 'costMeterAttempts' },
    );
  };

  reset(): void {
    this.stats.clear();
    this.items.clear();
  }

  /** Resolves once no call has been in flight for `quietMs` (a session's last calls may follow its last reply). */
  async settled(quietMs = 300, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let quietSince = Date.now();
    while (Date.now() < deadline) {
      if (this.#inflight > 0) quietSince = Date.now();
      else if (Date.now() - quietSince >= quietMs) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** A copy of the counts so far. */
  snapshot(): Stats {
    return new Map([...this.stats].map(([key, stat]) => [key, { ...stat }]));
  }

  private stat(service: Service, commandName: string | undefined): OpStat {
    const op = (commandName ?? 'unknown').replace(/Command$/, '');
    const key = `${service} ${op}`;
    let stat = this.stats.get(key);
    if (!stat) {
      stat = {
        service,
        op,
        calls: 0,
        failed: 0,
        attempts: 0,
        units: 0,
        rruMeasured: 0,
        wruMeasured: 0,
        reported: 0,
        rruComputed: 0,
        wruComputed: 0,
      };
      this.stats.set(key, stat);
    }
    return stat;
  }

  private measured(stat: OpStat, consumed: unknown): void {
    if (consumed === undefined) return;
    const list = (Array.isArray(consumed) ? consumed : [consumed]) as ConsumedCapacity[];
    stat.reported++;
    for (const c of list) {
      if (c.ReadCapacityUnits !== undefined || c.WriteCapacityUnits !== undefined) {
        stat.rruMeasured += c.ReadCapacityUnits ?? 0;
        stat.wruMeasured += c.WriteCapacityUnits ?? 0;
      } else if (DYNAMODB_READS.has(stat.op)) stat.rruMeasured += c.CapacityUnits ?? 0;
      else stat.wruMeasured += c.CapacityUnits ?? 0;
    }
  }
}

/** Adds up several meters' counts. */
export function merge(...all: Stats[]): Stats {
  const out: Stats = new Map();
  for (const stats of all) {
    for (const [key, stat] of stats) {
      const sum = out.get(key);
      if (!sum) out.set(key, { ...stat });
      else for (const field of NUMERIC_FIELDS) sum[field] += stat[field];
    }
  }
  return out;
}

const NUMERIC_FIELDS = [
  'calls',
  'failed',
  'attempts',
  'units',
  'rruMeasured',
  'wruMeasured',
  'reported',
  'rruComputed',
  'wruComputed',
] as const;

/** The counts made between two snapshots of one meter. */
export function difference(after: Stats, before: Stats): Stats {
  const out: Stats = new Map();
  for (const [key, stat] of after) {
    const prior = before.get(key);
    const diff = { ...stat };
    if (prior) for (const field of NUMERIC_FIELDS) diff[field] -= prior[field];
    if (diff.calls > 0) out.set(key, diff);
  }
  return out;
}

function billedUnits(
  service: Service,
  op: string,
  input: Record<string, unknown>,
  output: Record<string, unknown>,
): number {
  if (service === 'SQS') {
    // A request is billed per 64 KB chunk of its payload (messages and their attributes).
    let payload = 0;
    if (op === 'SendMessage') payload = messageBytes(input.MessageBody, input.MessageAttributes);
    if (op === 'SendMessageBatch')
      for (const entry of (input.Entries ?? []) as Record<string, unknown>[])
        payload += messageBytes(entry.MessageBody, entry.MessageAttributes);
    if (op === 'ReceiveMessage')
      for (const message of (output.Messages ?? []) as Record<string, unknown>[])
        payload += messageBytes(message.Body, message.MessageAttributes);
    return Math.max(1, Math.ceil(payload / SQS_CHUNK));
  }
  if (service === 'EventBridge' && op === 'PutEvents') {
    const entries = (input.Entries ?? []) as PutEventsRequestEntry[];
    return entries.reduce((n, entry) => n + Math.max(1, Math.ceil(entrySize(entry) / EVENT_CHUNK)), 0);
  }
  return 1;
}

function messageBytes(body: unknown, attributes: unknown): number {
  let bytes = typeof body === 'string' ? Buffer.byteLength(body) : 0;
  for (const [name, value] of Object.entries((attributes ?? {}) as Record<string, Record<string, unknown>>)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(String(value.DataType ?? ''));
    if (typeof value.StringValue === 'string') bytes += Buffer.byteLength(value.StringValue);
    if (value.BinaryValue instanceof Uint8Array) bytes += value.BinaryValue.byteLength;
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------
// DynamoDB capacity from item sizes

type Item = Record<string, AttributeValue>;
type Key = Record<string, AttributeValue>;

/** DynamoDB's size of a number: about one byte per two significant digits, plus one. */
function numberSize(text: string): number {
  const digits = text
    .replace(/^[-+]/, '')
    .replace(/e.*$/i, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.SS !== undefined) return value.SS.reduce((n, s) => n + Buffer.byteLength(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((n, s) => n + numberSize(s), 0);
  if (value.BS !== undefined) return value.BS.reduce((n, b) => n + b.byteLength, 0);
  if (value.M !== undefined)
    return 3 + Object.entries(value.M).reduce((n, [k, v]) => n + Buffer.byteLength(k) + valueSize(v) + 1, 0);
  if (value.L !== undefined) return 3 + value.L.reduce((n, v) => n + valueSize(v) + 1, 0);
  return 1; // BOOL, NULL
}

const ATTRIBUTE_VALUE_KINDS = new Set(['S', 'N', 'B', 'SS', 'NS', 'BS', 'M', 'L', 'NULL', 'BOOL']);

/** Whether an item is in DynamoDB's own shape ({ pk: { S: ... } }) rather than lib-dynamodb's plain one. */
function isMarshalled(item: Record<string, unknown>): boolean {
  return Object.values(item).every((value) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array)
      return false;
    const keys = Object.keys(value);
    return keys.length === 1 && ATTRIBUTE_VALUE_KINDS.has(keys[0]!);
  });
}

/** The size of a value in lib-dynamodb's plain shape, as it is stored. */
function plainValueSize(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number' || typeof value === 'bigint') return numberSize(String(value));
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set)
    return [...(value as Set<unknown>)].reduce<number>((n, v) => n + plainValueSize(v), 0);
  if (Array.isArray(value)) return 3 + value.reduce<number>((n, v) => n + plainValueSize(v) + 1, 0);
  if (value !== null && typeof value === 'object')
    return (
      3 + Object.entries(value).reduce((n, [k, v]) => n + Buffer.byteLength(k) + plainValueSize(v) + 1, 0)
    );
  return 1; // boolean, null
}

/**
 * An item's size as DynamoDB bills it: the UTF-8 bytes of each attribute's name plus its
 * value. Takes either shape: calls of the store (lib-dynamodb) answer in the plain one.
 */
export function itemSize(item: Record<string, unknown> | undefined): number {
  if (!item) return 0;
  const marshalled = isMarshalled(item);
  return Object.entries(item).reduce(
    (n, [name, value]) =>
      n + Buffer.byteLength(name) + (marshalled ? valueSize(value as AttributeValue) : plainValueSize(value)),
    0,
  );
}

const KB = 1024;
const READ_UNIT = 4 * KB;

/** Write units of one item write: 1 per KB of the larger of the item before and after, at least 1. */
function writeUnits(before: number, after: number): number {
  return Math.max(1, Math.ceil(Math.max(before, after) / KB));
}

function readUnits(bytes: number, consistent: boolean): number {
  return Math.max(1, Math.ceil(bytes / READ_UNIT)) * (consistent ? 1 : 0.5);
}

/**
 * Computes the capacity of a DynamoDB call from the sizes of the items it touched, by the
 * rules of docs/dynamodb.md: GetItem 1 RCU per 4 KB (strongly consistent; 0.5 eventually),
 * at least 1 even for a missing item; Query the sum of the items it read, rounded up to 4 KB
 * per call; BatchGetItem each item rounded up to 4 KB; a write 1 WCU per KB of the larger of
 * the item before and after; in a transaction each write counts twice and a ConditionCheck is
 * a transactional read (2 RCU per 4 KB).
 *
 * Sizes the call itself does not show (the item an Update or Delete changes, the item a Put
 * replaces, the whole items behind a projection) are read on a client of its own, not
 * counted, before and after the call. The time and CPU those reads take are added up in
 * sideMs and sideCpuMs, so that bench/cost.ts can take them out of the handler's duration.
 */
export class CapacitySizer {
  sideMs = 0;
  sideCpuMs = 0;
  /** Calls whose capacity could not be computed, and why. */
  readonly errors: string[] = [];

  constructor(private readonly client: DynamoDBClient) {}

  async charge(
    op: string,
    input: Record<string, unknown>,
    call: () => Promise<{ output: unknown }>,
    record: (write: ItemWrite) => void = () => undefined,
  ): Promise<{ result: { output: unknown }; rru: number; wru: number }> {
    switch (op) {
      case 'PutItem':
      case 'UpdateItem':
      case 'DeleteItem': {
        const table = input.TableName as string;
        const key = op === 'PutItem' ? keyOf(input.Item as Item) : (input.Key as Key);
        const [before] = await this.side(() => Promise.all([this.size(table, key)]));
        const result = await call();
        const after =
          op === 'PutItem'
            ? itemSize(input.Item as Item)
            : op === 'UpdateItem'
              ? (await this.side(() => Promise.all([this.size(table, key)])))[0]
              : 0;
        const wru = writeUnits(before, after);
        record({
          kind: op.replace('Item', ''),
          label: itemLabel(key),
          bytes: Math.max(before, after),
          units: wru,
        });
        return { result, rru: 0, wru };
      }
      case 'BatchWriteItem': {
        const writes = Object.entries(
          input.RequestItems as Record<string, Record<string, unknown>[]>,
        ).flatMap(([table, requests]) =>
          requests.map((request) => {
            const put = request.PutRequest as { Item: Item } | undefined;
            const del = request.DeleteRequest as { Key: Key } | undefined;
            return { table, key: put ? keyOf(put.Item) : del!.Key, after: put ? itemSize(put.Item) : 0 };
          }),
        );
        const before = await this.side(() => Promise.all(writes.map((w) => this.size(w.table, w.key))));
        const result = await call();
        let wru = 0;
        writes.forEach((w, i) => {
          const units = writeUnits(before[i]!, w.after);
          wru += units;
          record({
            kind: w.after > 0 ? 'Put' : 'Delete',
            label: itemLabel(w.key),
            bytes: Math.max(before[i]!, w.after),
            units,
          });
        });
        return { result, rru: 0, wru };
      }
      case 'TransactWriteItems': {
        const items = (input.TransactItems as Record<string, Record<string, unknown>>[]).map((entry) => {
          const [kind, body] = Object.entries(entry)[0]!;
          const table = body.TableName as string;
          const key = kind === 'Put' ? keyOf(body.Item as Item) : (body.Key as Key);
          return { kind, table, key, put: kind === 'Put' ? itemSize(body.Item as Item) : 0 };
        });
        const before = await this.side(() => Promise.all(items.map((t) => this.size(t.table, t.key))));
        const result = await call();
        const updated = items.map((t, i) => ({ t, i })).filter(({ t }) => t.kind === 'Update');
        const afterUpdates = await this.side(() =>
          Promise.all(updated.map(({ t }) => this.size(t.table, t.key))),
        );
        const after = new Map(updated.map(({ i }, k) => [i, afterUpdates[k]!]));
        let rru = 0;
        let wru = 0;
        items.forEach((t, i) => {
          if (t.kind === 'ConditionCheck') {
            const units = 2 * readUnits(before[i]!, true);
            rru += units;
            record({ kind: t.kind, label: itemLabel(t.key), bytes: before[i]!, units });
            return;
          }
          const bytes = Math.max(before[i]!, t.kind === 'Put' ? t.put : (after.get(i) ?? 0));
          const units = 2 * writeUnits(bytes, 0);
          wru += units;
          record({ kind: t.kind, label: itemLabel(t.key), bytes, units });
        });
        return { result, rru, wru };
      }
      case 'GetItem': {
        const result = await call();
        const item = (result.output as { Item?: Item }).Item;
        return {
          result,
          rru: readUnits(await this.whole(op, input, [item]), input.ConsistentRead === true),
          wru: 0,
        };
      }
      case 'Query':
      case 'Scan': {
        const result = await call();
        const items = (result.output as { Items?: Item[] }).Items ?? [];
        const bytes = await this.whole(op, input, items);
        return { result, rru: readUnits(bytes, input.ConsistentRead === true), wru: 0 };
      }
      case 'BatchGetItem': {
        const result = await call();
        const requested = input.RequestItems as Record<string, { Keys: Key[]; ConsistentRead?: boolean }>;
        const responses = (result.output as { Responses?: Record<string, Item[]> }).Responses ?? {};
        let rru = 0;
        for (const [table, request] of Object.entries(requested)) {
          const found = responses[table] ?? [];
          const consistent = request.ConsistentRead === true;
          for (const item of found) rru += readUnits(itemSize(item), consistent);
          // A key that matched no item still reads (as GetItem does).
          rru += Math.max(0, request.Keys.length - found.length) * readUnits(0, consistent);
        }
        return { result, rru, wru: 0 };
      }
      case 'TransactGetItems': {
        const result = await call();
        const responses = (result.output as { Responses?: { Item?: Item }[] }).Responses ?? [];
        return {
          result,
          rru: responses.reduce((n, r) => n + 2 * readUnits(itemSize(r.Item), true), 0),
          wru: 0,
        };
      }
      default:
        return { result: await call(), rru: 0, wru: 0 };
    }
  }

  /**
   * Bytes of the items a read passed: their whole size, even when a projection returned less
   * (DynamoDB charges a read for whole items). A projected read is made again on the side
   * client without its projection, from the same start and with the same limit.
   */
  private async whole(
    op: string,
    input: Record<string, unknown>,
    items: (Item | undefined)[],
  ): Promise<number> {
    const present = items.filter((item): item is Item => item !== undefined);
    if (input.ProjectionExpression === undefined && input.AttributesToGet === undefined)
      return present.reduce((n, item) => n + itemSize(item), 0);
    const rest = { ...input };
    delete rest.ProjectionExpression;
    delete rest.AttributesToGet;
    delete rest.ReturnConsumedCapacity;
    // DynamoDB refuses names that no expression uses: keep those the other expressions use.
    const used = [rest.KeyConditionExpression, rest.FilterExpression]
      .filter((e): e is string => typeof e === 'string')
      .join(' ');
    const names = Object.entries((rest.ExpressionAttributeNames ?? {}) as Record<string, string>).filter(
      ([placeholder]) => new RegExp(`${placeholder}(?![A-Za-z0-9_])`).test(used),
    );
    delete rest.ExpressionAttributeNames;
    if (names.length > 0) rest.ExpressionAttributeNames = Object.fromEntries(names);
    return this.side(async () => {
      if (op === 'GetItem') {
        const output = await this.client.send(new GetItemCommand(rest as unknown as GetItemCommandInput));
        return itemSize(output.Item);
      }
      const output =
        op === 'Query'
          ? await this.client.send(new QueryCommand(rest as unknown as QueryCommandInput))
          : await this.client.send(new ScanCommand(rest as unknown as ScanCommandInput));
      return (output.Items ?? []).reduce((n, item) => n + itemSize(item), 0);
    });
  }

  private async size(table: string, key: Key): Promise<number> {
    const output = await this.client.send(
      new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }),
    );
    return itemSize(output.Item);
  }

  /** Runs side reads, adding their wall time and this process's CPU time meanwhile to the totals. */
  private async side<T>(fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    const cpu = process.cpuUsage();
    try {
      return await fn();
    } finally {
      const used = process.cpuUsage(cpu);
      this.sideMs += performance.now() - start;
      this.sideCpuMs += (used.user + used.system) / 1000;
    }
  }
}

/** What an item is, from its sort key (the items of docs/dynamodb.md). */
function itemLabel(key: Key): string {
  const sk = key[SORT_KEY]?.S ?? '';
  if (/^K#.*#M\d+$/.test(sk)) return 'message metadata K#…#M';
  if (/^K#.*#T\d+$/.test(sk)) return 'message search text K#…#T';
  const prefix = /^[A-Z]+#?/.exec(sk)?.[0] ?? sk;
  const labels: Record<string, string> = {
    'M#': 'mailbox M#',
    'S#': 'message state S#',
    'C#': 'change log C#',
    'I#': 'idempotency key I#',
    'IH#': 'idempotency key IH#',
    'X#': 'mailbox deletion X#',
    'A#': 'account A#',
    'AL#': 'alias AL#',
    'D#': 'domain D#',
    V: 'UIDVALIDITY counter V',
    L: 'lease L',
    FAIL: 'failure log FAIL',
  };
  return labels[prefix] ?? prefix;
}

/** The key of an item of either shape, in DynamoDB's. */
function keyOf(item: Record<string, unknown>): Key {
  const part = (value: unknown): AttributeValue =>
    typeof value === 'string' ? { S: value } : (value as AttributeValue);
  return { [PARTITION_KEY]: part(item[PARTITION_KEY]), [SORT_KEY]: part(item[SORT_KEY]) };
}
