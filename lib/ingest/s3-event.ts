import { parseAddressList } from '../mail/address.js';
import { allFields, firstField, parseHeaderBlock, type HeaderField } from '../mail/header.js';
import { normalizeAddress, splitAddress } from '../routing/address.js';
import { assertValidBlobKey, InvalidBlobKeyError } from '../blob/errors.js';
import { ingestJob, PermanentIngestError, type IngestDeps, type IngestResult } from './service.js';
import type { IngestJob } from './types.js';

/*
 * SES ingress (infra/constructs/ses-ingress.ts): SES accepts the message, stores it in the
 * raw-message bucket under its prefix, and S3 announces the new object on the ingest queue.
 * So a queue record is then an S3 event notification, not an IngestJob, and the envelope
 * that the SMTP ingress would have put in the job is only in the message SES stored: SES
 * prepends Return-Path (MAIL FROM), a Received header naming the client and the recipient,
 * and its X-SES-Spam-Verdict / X-SES-Virus-Verdict. This module turns such a record into
 * IngestJobs and files them with ingestJob.
 */

/** One object named by an S3 event notification record. */
export interface S3ObjectEvent {
  /** e.g. `ObjectCreated:Put`. */
  eventName: string;
  /** ISO 8601: when S3 made the object, which is when SES accepted the message. */
  eventTime: string;
  bucket: string;
  /** The object key, URL-decoded (S3 sends keys form-encoded: `+` for a space, `%XX`). */
  key: string;
}

export type S3Notification =
  /** What S3 sends once when a notification configuration is set: nothing to file. */
  { kind: 'test'; bucket?: string } | { kind: 'objects'; objects: S3ObjectEvent[] };

/**
 * Reads a queue record body as an S3 event notification. Undefined when it is something
 * else (an IngestJob, or not JSON: parseJob says what is wrong with it); throws
 * PermanentIngestError for an S3 record that lacks its bucket or key.
 */
export function parseS3Notification(body: string): S3Notification | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isObject(parsed)) return undefined;
  if (parsed.Event === 's3:TestEvent') {
    return { kind: 'test', ...(typeof parsed.Bucket === 'string' ? { bucket: parsed.Bucket } : {}) };
  }
  const records = parsed.Records;
  if (!Array.isArray(records) || records.length === 0) return undefined;
  if (!records.every((r) => isObject(r) && r.eventSource === 'aws:s3')) return undefined;
  return { kind: 'objects', objects: records.map(objectEvent) };
}

function objectEvent(record: Record<string, unknown>): S3ObjectEvent {
  const s3 = isObject(record.s3) ? record.s3 : {};
  const bucket = isObject(s3.bucket) ? s3.bucket.name : undefined;
  const key = isObject(s3.object) ? s3.object.key : undefined;
  if (typeof bucket !== 'string' || typeof key !== 'string') {
    throw new PermanentIngestError('S3 event record lacks s3.bucket.name or s3.object.key');
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(key.replace(/\+/g, '%20'));
  } catch (err) {
    throw new PermanentIngestError(`S3 event key is not URL-encoded: ${JSON.stringify(key)}`, { cause: err });
  }
  return {
    eventName: typeof record.eventName === 'string' ? record.eventName : '',
    eventTime: typeof record.eventTime === 'string' ? record.eventTime : '',
    bucket,
    key: decoded,
  };
}

/** What SES wrote into the top of the stored message. */
export interface SesEnvelope {
  /** From Return-Path; null for the null reverse path `<>` or when there is none. */
  mailFrom: string | null;
  /** The addresses of the topmost Received header's `for` clause, in order. */
  forRecipients: string[];
  /** To, Cc and Delivered-To addresses, in order. */
  headerRecipients: string[];
  /** From the topmost Received header's `from` clause, else Received-SPF; '' when neither says. */
  clientAddress: string;
  helo: string;
  /** SES's verdicts (PASS, FAIL, GRAY, PROCESSING_FAILED), upper case, when present. */
  spamVerdict?: string;
  virusVerdict?: string;
}

/**
 * Reads the envelope SES left in the header of a message it stored. SES prepends its own
 * fields, so the first occurrence of each is SES's; a sender's copies of the same fields
 * come after and are never read.
 */
export function readSesEnvelope(raw: Buffer): SesEnvelope {
  const { fields } = parseHeaderBlock(raw, 0, raw.length);
  const received = firstField(fields, 'received')?.value ?? '';
  const from = receivedFrom(received);
  const spf = receivedSpf(firstField(fields, 'received-spf')?.value ?? '');
  const spamVerdict = firstField(fields, 'x-ses-spam-verdict')?.value.toUpperCase();
  const virusVerdict = firstField(fields, 'x-ses-virus-verdict')?.value.toUpperCase();
  return {
    mailFrom: returnPath(firstField(fields, 'return-path')?.value),
    forRecipients: receivedFor(received),
    headerRecipients: ['to', 'cc', 'delivered-to'].flatMap((key) => addressesOf(allFields(fields, key))),
    clientAddress: from.clientAddress ?? spf.clientAddress ?? '',
    helo: from.helo ?? spf.helo ?? '',
    ...(spamVerdict ? { spamVerdict } : {}),
    ...(virusVerdict ? { virusVerdict } : {}),
  };
}

function returnPath(value: string | undefined): string | null {
  if (value === undefined) return null;
  const path = value.replace(/^\s*<|>\s*$/g, '').trim();
  return path === '' ? null : path;
}

/** Comments removed, innermost first, so `(a (b) c)` goes whole (RFC 5322 §3.2.2). */
function withoutComments(value: string): string {
  let text = value;
  for (let previous = ''; previous !== text;) {
    previous = text;
    text = text.replace(/\([^()]*\)/g, ' ');
  }
  return text;
}

const ADDRESS = /<?([^\s<>,;"@]+@[^\s<>,;"@]+?)>?(?=[\s,;]|$)/g;

/**
 * The `for` clause of a Received header (RFC 5321 §4.4: `FOR ( Path / Mailbox )`; some
 * servers list several). It comes before the `;` that starts the date.
 */
function receivedFor(received: string): string[] {
  const clauses = withoutComments(received);
  const semicolon = clauses.lastIndexOf(';');
  const match = /(?:^|\s)for\s+([^;]*)/i.exec(semicolon === -1 ? clauses : clauses.slice(0, semicolon));
  if (!match) return [];
  return [...match[1]!.matchAll(ADDRESS)].map((m) => m[1]!);
}

/** `from <helo> (<reverse name> [<address>])`, as SES and most servers write it. */
function receivedFrom(received: string): { helo?: string; clientAddress?: string } {
  const match = /^\s*from\s+(\S+)\s*(\((?:[^()]|\([^()]*\))*\))?/i.exec(received);
  if (!match) return {};
  const address = /\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]/.exec(match[2] ?? '');
  return { helo: match[1]!, ...(address ? { clientAddress: address[1]! } : {}) };
}

/** RFC 7208 §9.1: `Received-SPF: pass (comment) client-ip=...; envelope-from=...; helo=...;`. */
function receivedSpf(value: string): { helo?: string; clientAddress?: string } {
  const pair = (name: string) => new RegExp(`(?:^|[\\s;])${name}=([^\\s;]+)`, 'i').exec(value)?.[1];
  const helo = pair('helo');
  const clientAddress = pair('client-ip');
  return { ...(helo ? { helo } : {}), ...(clientAddress ? { clientAddress } : {}) };
}

function addressesOf(fields: HeaderField[]): string[] {
  return fields.flatMap((field) =>
    (parseAddressList(field.value) ?? []).flatMap((a) =>
      a.mailbox && a.host ? [`${a.mailbox}@${a.host}`] : [],
    ),
  );
}

export interface S3IngestDeps extends IngestDeps {
  /**
   * The BlobStore's key prefix in the bucket (MAILROOM_BUCKET_PREFIX), which S3BlobStore
   * puts in front of every key: an object key minus this prefix is the blob key. SES must
   * therefore store under a prefix inside it (SesIngress's `prefix`).
   */
  blobPrefix?: string;
}

export type S3IngestOutcome =
  | { key: string; job: IngestJob; result: IngestResult }
  | { key: string; skipped: 'not-created' | 'ses-setup' | 'virus' };

/** What SES writes under the S3 action's prefix when the rule is made, to check it may write: no mail. */
export const SES_SETUP_OBJECT = 'AMAZON_SES_SETUP_NOTIFICATION';

/**
 * Files every message an S3 notification names (not SES's setup object, nor S3's test
 * event, which are acknowledged and ignored). Virus-infected mail (SES's verdict FAIL)
 * is dropped: acknowledged and logged, never delivered or forwarded; the object stays in
 * the bucket for whoever wants to look, until the bucket's lifecycle removes it. A spam
 * verdict is left to the reader: the X-SES-Spam-Verdict field is in the stored message, so
 * clients and routes see it.
 *
 * Safe to run again for the same notification: the job id is the object's name, so
 * ingestJob's idempotency applies.
 */
export async function ingestS3Notification(
  deps: S3IngestDeps,
  notification: S3Notification,
): Promise<S3IngestOutcome[]> {
  if (notification.kind === 'test') {
    deps.logger.info({ bucket: notification.bucket }, 'S3 test event acknowledged');
    return [];
  }
  const outcomes: S3IngestOutcome[] = [];
  for (const object of notification.objects) {
    const log = deps.logger.child({ bucket: object.bucket, key: object.key });
    if (!object.eventName.startsWith('ObjectCreated:')) {
      log.info({ eventName: object.eventName }, 'S3 event is not a new object; ignored');
      outcomes.push({ key: object.key, skipped: 'not-created' });
      continue;
    }
    if (deps.rawBucket !== undefined && object.bucket !== deps.rawBucket) {
      throw new PermanentIngestError(`S3 object is in bucket ${object.bucket}, not in ${deps.rawBucket}`);
    }
    const blobKey = blobKeyOf(object.key, deps.blobPrefix);
    // SES names the object by its message id, the id its 250 reply gave the sender.
    const sesId = blobKey.slice(blobKey.lastIndexOf('/') + 1);
    if (sesId === SES_SETUP_OBJECT) {
      log.info('SES setup object acknowledged');
      outcomes.push({ key: object.key, skipped: 'ses-setup' });
      continue;
    }
    const raw = await deps.blobs.getBuffer(blobKey);
    const envelope = readSesEnvelope(raw);
    if (envelope.virusVerdict === 'FAIL') {
      log.warn({ mailFrom: envelope.mailFrom }, 'SES found a virus; message dropped');
      outcomes.push({ key: object.key, skipped: 'virus' });
      continue;
    }
    const job: IngestJob = {
      id: sesId,
      blobKey,
      mailFrom: envelope.mailFrom,
      rcptTo: await recipients(deps, envelope),
      clientAddress: envelope.clientAddress,
      helo: envelope.helo,
      // The receipt rule requires TLS (SesIngress), so SES refused whatever came in clear.
      tls: true,
      receivedAt: Number.isNaN(Date.parse(object.eventTime))
        ? new Date().toISOString()
        : new Date(object.eventTime).toISOString(),
    };
    if (envelope.spamVerdict === 'FAIL') log.info({ job: job.id }, 'SES spam verdict FAIL; delivered as is');
    if (job.rcptTo.length === 0)
      log.warn({ job: job.id }, 'no recipient of ours in the message; nothing to file');
    outcomes.push({ key: object.key, job, result: await ingestJob(deps, job, raw) });
  }
  return outcomes;
}

/**
 * The envelope recipients. SES stores one object per message however many recipients
 * matched, and names them only in the `for` clause of its Received header, which may name
 * one of several; a Bcc recipient is named nowhere else. So: the `for` addresses, then the
 * To, Cc and Delivered-To addresses in our domains, each once. The directory decides
 * which of them get mail; the cost is a second copy for a header recipient of ours whom
 * the sender also sent to in a separate transaction.
 */
async function recipients(deps: S3IngestDeps, envelope: SesEnvelope): Promise<string[]> {
  const seen = new Set<string>();
  const out: string[] = [];
  const add = (address: string) => {
    const key = normalizeAddress(address);
    if (seen.has(key)) return;
    seen.add(key);
    out.push(address);
  };
  envelope.forRecipients.forEach(add);
  const ours = new Map<string, boolean>();
  for (const address of envelope.headerRecipients) {
    const domain = splitAddress(normalizeAddress(address))?.domain;
    if (domain === undefined) continue;
    if (!ours.has(domain)) {
      ours.set(domain, (await (deps.directory ?? deps.store).getDomain(domain)) !== undefined);
    }
    if (ours.get(domain)) add(address);
  }
  return out;
}

/** The object key relative to the BlobStore's prefix, as a valid blob key. */
export function blobKeyOf(objectKey: string, blobPrefix = ''): string {
  const prefix = blobPrefix === '' || blobPrefix.endsWith('/') ? blobPrefix : `${blobPrefix}/`;
  if (!objectKey.startsWith(prefix)) {
    throw new PermanentIngestError(
      `S3 object ${objectKey} is outside the BlobStore prefix ${prefix}: SES must store under it`,
    );
  }
  const key = objectKey.slice(prefix.length);
  try {
    assertValidBlobKey(key);
  } catch (err) {
    if (err instanceof InvalidBlobKeyError) {
      throw new PermanentIngestError(`S3 object key ${JSON.stringify(objectKey)} is no blob key`, {
        cause: err,
      });
    }
    throw err;
  }
  return key;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
