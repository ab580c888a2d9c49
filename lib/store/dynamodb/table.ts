import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBServiceException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ConflictError, LimitError, StoreError } from '../errors.js';
import type { Key } from './keys.js';

/*
 * The few DynamoDB calls the store makes, on one table, with the chores done once: every
 * read is strongly consistent, expressions are built from plain objects (so no attribute
 * name can collide with one of DynamoDB's reserved words), batch calls are cut to
 * DynamoDB's limits and their unprocessed items retried, and every DynamoDB error becomes
 * one of the store's own (backend text stays in `cause`, never in the message).
 */

export type Item = Record<string, unknown>;

/** A condition on an item, built into a ConditionExpression. */
export type Cond =
  /** The item exists (true) or does not (false). */
  | { exists: boolean }
  /** Each attribute has this value. */
  | { eq: Record<string, unknown> }
  /** The attribute is not set. */
  | { missing: string }
  /** Each attribute is at most this number. */
  | { atMost: Record<string, number> }
  | { all: Cond[] }
  | { any: Cond[] };

export interface UpdateSpec {
  set?: Record<string, unknown>;
  add?: Record<string, number>;
  remove?: string[];
}

/** What a failed condition of one transaction item means. */
export type OnFail = Error | symbol;

export type TxOp = (
  | { put: object; if?: Cond }
  | { update: Key; spec: UpdateSpec; if?: Cond }
  | { delete: Key; if?: Cond }
  | { check: Key; if: Cond }
) & { onFail?: OnFail };

/** The write met another write (a failed optimistic condition or a transaction conflict): read again and retry. */
export const RETRY = Symbol('retry');

/** A transaction was cancelled for `reason` (an item's onFail symbol, or RETRY). */
export class Cancelled extends Error {
  constructor(readonly reason: symbol) {
    super(`transaction cancelled: ${String(reason.description)}`);
    this.name = 'Cancelled';
  }
}

/** DynamoDB's limits on one call. */
export const MAX_TRANSACTION_ITEMS = 100;
const MAX_BATCH_GET = 100;
const MAX_BATCH_WRITE = 25;
/** Batch calls in flight at once for one store call. */
const BATCH_CONCURRENCY = 4;
/** Attempts at the unprocessed rest of a batch call before giving up (DynamoDB is throttling). */
const BATCH_ATTEMPTS = 8;

class Expression {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  readonly #nameIds = new Map<string, string>();
  #valueCount = 0;

  name(attribute: string): string {
    let id = this.#nameIds.get(attribute);
    if (id === undefined) {
      id = `#n${this.#nameIds.size}`;
      this.#nameIds.set(attribute, id);
      this.names[id] = attribute;
    }
    return id;
  }

  value(value: unknown): string {
    const id = `:v${this.#valueCount++}`;
    this.values[id] = value;
    return id;
  }

  condition(cond: Cond): string {
    if ('exists' in cond)
      return `${cond.exists ? 'attribute_exists' : 'attribute_not_exists'}(${this.name('pk')})`;
    if ('missing' in cond) return `attribute_not_exists(${this.name(cond.missing)})`;
    if ('eq' in cond)
      return this.#join(
        Object.entries(cond.eq).map(([key, value]) => `${this.name(key)} = ${this.value(value)}`),
        'AND',
      );
    if ('atMost' in cond)
      return this.#join(
        Object.entries(cond.atMost).map(([key, value]) => `${this.name(key)} <= ${this.value(value)}`),
        'AND',
      );
    if ('all' in cond)
      return this.#join(
        cond.all.map((c) => this.condition(c)),
        'AND',
      );
    return this.#join(
      cond.any.map((c) => this.condition(c)),
      'OR',
    );
  }

  update(spec: UpdateSpec): string {
    const clauses: string[] = [];
    const set = Object.entries(spec.set ?? {}).map(
      ([key, value]) => `${this.name(key)} = ${this.value(value)}`,
    );
    if (set.length > 0) clauses.push(`SET ${set.join(', ')}`);
    const add = Object.entries(spec.add ?? {}).map(
      ([key, value]) => `${this.name(key)} ${this.value(value)}`,
    );
    if (add.length > 0) clauses.push(`ADD ${add.join(', ')}`);
    const remove = (spec.remove ?? []).map((key) => this.name(key));
    if (remove.length > 0) clauses.push(`REMOVE ${remove.join(', ')}`);
    return clauses.join(' ');
  }

  /** The names and values, or nothing when there are none (DynamoDB refuses empty maps). */
  attributes(): { ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Item } {
    return {
      ...(Object.keys(this.names).length > 0 ? { ExpressionAttributeNames: this.names } : {}),
      ...(Object.keys(this.values).length > 0 ? { ExpressionAttributeValues: this.values } : {}),
    };
  }

  #join(parts: string[], operator: 'AND' | 'OR'): string {
    return parts.length === 1 ? parts[0]! : parts.map((part) => `(${part})`).join(` ${operator} `);
  }
}

function conditionOf(cond: Cond | undefined, expression: Expression) {
  return cond === undefined ? {} : { ConditionExpression: expression.condition(cond) };
}

function isConditionFailure(err: unknown): boolean {
  return err instanceof DynamoDBServiceException && err.name === 'ConditionalCheckFailedException';
}

export interface QueryOptions {
  pk: string;
  /** Sort keys starting with this. */
  prefix?: string;
  /** Sort keys in this range (both ends included). */
  between?: [string, string];
  /** At most this many items. */
  limit?: number;
  /** Only these attributes (a Query is charged for whole items all the same). */
  attributes?: string[];
  /** Highest sort key first. */
  reverse?: boolean;
  /** Items asked for per request (a page), when fewer than the rest of `limit`. */
  pageSize?: number;
  /** Each page asks for this many times the items of the one before (a first small page). */
  pageGrowth?: number;
}

export class Table {
  constructor(
    readonly client: DynamoDBDocumentClient,
    readonly name: string,
  ) {}

  async get<T extends object = Item>(key: Key): Promise<T | undefined> {
    const output = await this.#call(() =>
      this.client.send(new GetCommand({ TableName: this.name, Key: key, ConsistentRead: true })),
    );
    return output.Item as T | undefined;
  }

  /** Puts the item; false when the condition failed. */
  async put(item: object, cond?: Cond): Promise<boolean> {
    return this.#conditional(cond, () => new PutCommand({ TableName: this.name, Item: item }));
  }

  /** Updates the item; false when the condition failed. */
  async update(key: Key, spec: UpdateSpec, cond?: Cond): Promise<boolean> {
    return this.#conditional(
      cond,
      (expression) =>
        new UpdateCommand({ TableName: this.name, Key: key, UpdateExpression: expression.update(spec) }),
    );
  }

  /** Deletes the item; false when the condition failed. */
  async delete(key: Key, cond?: Cond): Promise<boolean> {
    return this.#conditional(cond, () => new DeleteCommand({ TableName: this.name, Key: key }));
  }

  /**
   * Sends one write made by `make` with the condition added; false when the condition
   * failed. `make` adds its own names and values to the expression first, so the attribute
   * maps set afterwards hold both.
   */
  async #conditional(
    cond: Cond | undefined,
    make: (expression: Expression) => PutCommand | UpdateCommand | DeleteCommand,
  ): Promise<boolean> {
    const expression = new Expression();
    const command = make(expression);
    Object.assign(command.input, conditionOf(cond, expression), expression.attributes());
    try {
      await this.#call(() => this.client.send(command as PutCommand));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** The items of one partition in sort key order, page by page (a page is at most 1 MB). */
  async *pages<T extends object = Item>(options: QueryOptions): AsyncGenerator<T[]> {
    const expression = new Expression();
    let keyCondition = `${expression.name('pk')} = ${expression.value(options.pk)}`;
    if (options.prefix !== undefined)
      keyCondition += ` AND begins_with(${expression.name('sk')}, ${expression.value(options.prefix)})`;
    else if (options.between !== undefined)
      keyCondition += ` AND ${expression.name('sk')} BETWEEN ${expression.value(options.between[0])} AND ${expression.value(options.between[1])}`;
    const projection =
      options.attributes === undefined
        ? {}
        : { ProjectionExpression: options.attributes.map((a) => expression.name(a)).join(', ') };
    let remaining = options.limit ?? Infinity;
    let pageSize = options.pageSize ?? Infinity;
    let start: Item | undefined;
    while (remaining > 0) {
      const pageLimit = Math.min(remaining, pageSize);
      pageSize *= options.pageGrowth ?? 1;
      const output = await this.#call(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.name,
            KeyConditionExpression: keyCondition,
            ConsistentRead: true,
            ...projection,
            ...expression.attributes(),
            ...(options.reverse ? { ScanIndexForward: false } : {}),
            ...(pageLimit === Infinity ? {} : { Limit: pageLimit }),
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        ),
      );
      const items = (output.Items ?? []) as T[];
      remaining -= items.length;
      yield items;
      start = output.LastEvaluatedKey;
      if (start === undefined) break;
    }
  }

  async query<T extends object = Item>(options: QueryOptions): Promise<T[]> {
    const all: T[] = [];
    for await (const page of this.pages<T>(options)) all.push(...page);
    return all;
  }

  /** The items that exist of these keys, in no particular order. */
  async batchGet<T extends object = Item>(keys: readonly Key[]): Promise<T[]> {
    const chunks: Key[][] = [];
    for (let i = 0; i < keys.length; i += MAX_BATCH_GET) chunks.push(keys.slice(i, i + MAX_BATCH_GET));
    const found: T[] = [];
    await inParallel(chunks, async (chunk) => {
      let pending: Key[] = chunk;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) await backoff(attempt, BATCH_ATTEMPTS);
        const output = await this.#call(() =>
          this.client.send(
            new BatchGetCommand({ RequestItems: { [this.name]: { Keys: pending, ConsistentRead: true } } }),
          ),
        );
        found.push(...((output.Responses?.[this.name] ?? []) as T[]));
        pending = (output.UnprocessedKeys?.[this.name]?.Keys ?? []) as Key[];
      }
    });
    return found;
  }

  /** Puts and deletes, 25 to a call, not as one transaction: each item is written or not on its own. */
  async batchWrite(requests: readonly ({ put: object } | { delete: Key })[]): Promise<void> {
    const chunks: (typeof requests)[number][][] = [];
    for (let i = 0; i < requests.length; i += MAX_BATCH_WRITE)
      chunks.push(requests.slice(i, i + MAX_BATCH_WRITE));
    await inParallel(chunks, async (chunk) => {
      type WriteRequest = { PutRequest?: { Item: object }; DeleteRequest?: { Key: Item } };
      let pending: WriteRequest[] = chunk.map((request) =>
        'put' in request
          ? { PutRequest: { Item: request.put } }
          : { DeleteRequest: { Key: { ...request.delete } } },
      );
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) await backoff(attempt, BATCH_ATTEMPTS);
        const output = await this.#call(() =>
          this.client.send(new BatchWriteCommand({ RequestItems: { [this.name]: pending } })),
        );
        pending = (output.UnprocessedItems?.[this.name] ?? []) as WriteRequest[];
      }
    });
  }

  /**
   * All of ops or none (at most 100 items, 4 MB). A failed condition throws the failing
   * item's onFail (an Error as is, a symbol as Cancelled); a conflict with another
   * transaction throws Cancelled(RETRY).
   */
  async transact(ops: readonly TxOp[]): Promise<void> {
    if (ops.length === 0) return;
    if (ops.length > MAX_TRANSACTION_ITEMS)
      throw new StoreError(
        `a transaction of ${ops.length} items; DynamoDB takes at most ${MAX_TRANSACTION_ITEMS}`,
      );
    const TransactItems: NonNullable<TransactWriteCommandInput['TransactItems']> = ops.map((op) => {
      const expression = new Expression();
      if ('put' in op) {
        return {
          Put: {
            TableName: this.name,
            Item: op.put,
            ...conditionOf(op.if, expression),
            ...expression.attributes(),
          },
        };
      }
      if ('update' in op) {
        const UpdateExpression = expression.update(op.spec);
        return {
          Update: {
            TableName: this.name,
            Key: op.update,
            UpdateExpression,
            ...conditionOf(op.if, expression),
            ...expression.attributes(),
          },
        };
      }
      if ('delete' in op) {
        return {
          Delete: {
            TableName: this.name,
            Key: op.delete,
            ...conditionOf(op.if, expression),
            ...expression.attributes(),
          },
        };
      }
      return {
        ConditionCheck: {
          TableName: this.name,
          Key: op.check,
          ConditionExpression: expression.condition(op.if),
          ...expression.attributes(),
        },
      };
    });
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems }));
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw translate(err, this.name);
      const reasons = err.CancellationReasons ?? [];
      const failed = reasons.findIndex((reason) => reason.Code === 'ConditionalCheckFailed');
      if (failed >= 0) {
        const onFail = ops[failed]?.onFail ?? RETRY;
        throw onFail instanceof Error ? onFail : new Cancelled(onFail);
      }
      const codes = reasons.map((reason) => reason.Code ?? 'None');
      if (codes.some((code) => RETRYABLE_REASONS.has(code))) throw new Cancelled(RETRY);
      if (reasons.some((reason) => reason.Code === 'ValidationError' && /size/i.test(reason.Message ?? ''))) {
        throw new LimitError('an item of the store is larger than DynamoDB allows (400 KB)', { cause: err });
      }
      if (codes.some((code) => code === 'ValidationError')) {
        throw new StoreError('DynamoDB refused a transaction of the store as invalid (ValidationError)', {
          cause: err,
        });
      }
      throw new StoreError(`DynamoDB cancelled a transaction (${codes.join(', ')})`, { cause: err });
    }
  }

  /** Runs one call; its errors (but a failed condition, which the caller reads) become the store's own. */
  async #call<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      if (isConditionFailure(err)) throw err;
      throw translate(err, this.name);
    }
  }
}

const RETRYABLE_REASONS = new Set([
  'TransactionConflict',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
]);

const BUSY = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TransactionConflictException',
  'TransactionInProgressException',
  'LimitExceededException',
]);

/** DynamoDB's errors become the store's own; DynamoDB's own text is kept only as the cause. */
export function translate(err: unknown, table: string): unknown {
  if (err instanceof StoreError) return err;
  if (err instanceof DynamoDBServiceException) {
    if (BUSY.has(err.name)) {
      return new ConflictError(`DynamoDB is busy (${err.name}); retry`, { cause: err });
    }
    if (err.name === 'ResourceNotFoundException') {
      return new StoreError(`the DynamoDB table ${JSON.stringify(table)} does not exist`, { cause: err });
    }
    if (err.name === 'ItemCollectionSizeLimitExceededException') {
      return new LimitError('a mailbox holds more data than DynamoDB allows in one partition', {
        cause: err,
      });
    }
    if (err.name === 'ValidationException' && /size/i.test(err.message)) {
      return new LimitError('an item or request is larger than DynamoDB allows', { cause: err });
    }
    if (err.name === 'ConditionalCheckFailedException') {
      return new ConflictError('another write changed the item first; retry', { cause: err });
    }
    return new StoreError(`DynamoDB refused a call of the store (${err.name})`, { cause: err });
  }
  const name = err instanceof Error ? err.name : typeof err;
  return new StoreError(`DynamoDB could not be reached (${name})`, { cause: err });
}

/** Waits before attempt (1-based) with exponential backoff and full jitter; throws after the last attempt. */
export async function backoff(attempt: number, attempts: number, baseMs = 10, capMs = 500): Promise<void> {
  if (attempt >= attempts)
    throw new ConflictError(`DynamoDB kept refusing the write after ${attempts} attempts; retry`);
  await sleep(Math.random() * Math.min(capMs, baseMs * 2 ** attempt));
}

async function inParallel<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, items.length) }, worker));
}
