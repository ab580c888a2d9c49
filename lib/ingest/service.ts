import type { Events } from '../events/types.js';
import { messageReceivedEvents } from '../events/message-received.js';
import type { BlobStore } from '../blob/types.js';
import type { Store } from '../store/types.js';
import type { Outbound } from '../outbound/types.js';
import type { Logger } from '../log.js';
import type { ParsedMessage } from '../mail/types.js';
import { parseMessage } from '../mail/parse.js';
import { resolveRecipient, type Action } from '../routing/resolve.js';
import { recipientLookup, type Directory } from '../routing/directory-cache.js';
import { postWebhook, type MessageEvent, type WebhookOptions } from '../events/webhook.js';
import type { IngestJob } from './types.js';

export interface IngestDeps {
  blobs: BlobStore;
  store: Store;
  /** Where recipients' directory entries are read (a DirectoryCache); unset: from the store. */
  directory?: Directory;
  outbound: Outbound;
  logger: Logger;
  webhook?: WebhookOptions;
  /** Told after each delivery, so sessions in this process (IMAP IDLE) hear of it at once. */
  onDelivered?: (account: string, folder: string) => void;
  /** Where mailroom.message.received events go: EventBridge in the cloud; unset: none. */
  events?: Events;
  /** The S3 bucket of the BlobStore, named in events as where the raw message lives. */
  rawBucket?: string;
}

export interface IngestResult {
  delivered: { account: string; folder: string; uid: number; duplicate: boolean }[];
  forwarded: string[];
  webhooks: number;
  /** Recipients that no longer resolve (the directory changed after RCPT). */
  skipped: string[];
}

/** A job that can never succeed however often it is tried (its message is gone, or the job is malformed). */
export class PermanentIngestError extends Error {
  readonly code = 'PERMANENT_INGEST_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentIngestError';
  }
}

export function parseJob(body: string): IngestJob {
  let job: unknown;
  try {
    job = JSON.parse(body);
  } catch (err) {
    throw new PermanentIngestError('job body is not JSON', { cause: err });
  }
  const j = job as Partial<IngestJob>;
  if (!j || typeof j.id !== 'string' || typeof j.blobKey !== 'string' || !Array.isArray(j.rcptTo)) {
    throw new PermanentIngestError('job body lacks id, blobKey or rcptTo');
  }
  return j as IngestJob;
}

/**
 * Files one accepted message: parses it once, resolves every recipient, and applies the
 * actions. Safe to run again for the same job: a delivery is keyed by job id × account ×
 * folder, so a retried or redelivered job never stores a message twice. Forwards and
 * webhooks are at least once (their ids are stable so receivers can deduplicate).
 *
 * `preloaded` is the message at `job.blobKey` when the caller has read it already (a job
 * made from an S3 notification, whose envelope is in the message's header), so it is not
 * read twice.
 */
export async function ingestJob(deps: IngestDeps, job: IngestJob, preloaded?: Buffer): Promise<IngestResult> {
  const log = deps.logger.child({ job: job.id });
  const raw = preloaded ?? (await deps.blobs.getBuffer(job.blobKey));
  const parsed = await parseMessage(raw);
  const result: IngestResult = { delivered: [], forwarded: [], webhooks: 0, skipped: [] };
  const forwards = new Set<string>();
  /** Our addresses whose routes or aliases forward the message, in order. */
  const forwarders: string[] = [];
  const lookup = recipientLookup(deps.store, deps.directory);

  for (const recipient of job.rcptTo) {
    const resolution = await resolveRecipient(lookup, recipient);
    if (resolution.status === 'foreign' && job.authenticatedAs) {
      forwards.add(recipient);
      continue;
    }
    if (resolution.status !== 'local') {
      log.warn({ recipient, status: resolution.status }, 'recipient no longer resolves; skipped');
      result.skipped.push(recipient);
      continue;
    }
    for (const action of resolution.actions) {
      await apply(deps, job, raw, parsed, recipient, action, result, forwards, forwarders);
    }
  }

  // Before the forwards: a forward that fails for good must not keep the deliveries unannounced.
  // Redelivered jobs announce again (duplicate deliveries included): the first run may have
  // stored and then died before publishing; event ids are stable for consumers to deduplicate.
  if (deps.events && result.delivered.length > 0) {
    await deps.events.publish(
      messageReceivedEvents({
        job,
        summary: parsed.summary,
        size: raw.length,
        deliveries: result.delivered,
        ...(deps.rawBucket ? { bucket: deps.rawBucket } : {}),
      }),
    );
  }

  if (forwards.size > 0) {
    const to = [...forwards];
    // Mail of an authenticated sender is theirs to send; anything else is forwarded for the
    // first of our addresses that forwards it.
    const forwardedFor = job.authenticatedAs ? undefined : forwarders[0];
    await deps.outbound.send({
      id: `${job.id}-out`,
      from: job.mailFrom,
      to,
      raw,
      ...(forwardedFor ? { forwardedFor } : {}),
    });
    result.forwarded.push(...to);
  }
  log.info(
    { delivered: result.delivered.length, forwarded: result.forwarded.length, webhooks: result.webhooks },
    'message ingested',
  );
  return result;
}

async function apply(
  deps: IngestDeps,
  job: IngestJob,
  raw: Buffer,
  parsed: ParsedMessage,
  recipient: string,
  action: Action,
  result: IngestResult,
  forwards: Set<string>,
  forwarders: string[],
) {
  switch (action.type) {
    case 'deliver': {
      // A route may name a folder that was deleted since: file into INBOX rather than fail.
      // (INBOX itself always exists: no read for it.)
      const folder =
        action.folder === 'INBOX' || (await deps.store.getMailbox(action.account, action.folder))
          ? action.folder
          : 'INBOX';
      const appended = await deps.store.appendMessage(
        action.account,
        folder,
        {
          blobKey: job.blobKey,
          size: raw.length,
          internalDate: Date.parse(job.receivedAt),
          flags: [],
          structure: parsed.structure,
          summary: parsed.summary,
          headerText: parsed.headerText,
          bodyText: parsed.bodyText,
        },
        { idempotencyKey: `${job.id}:${folder}` },
      );
      if (!appended.duplicate) deps.onDelivered?.(action.account, folder);
      result.delivered.push({
        account: action.account,
        folder,
        uid: appended.uid,
        duplicate: appended.duplicate,
      });
      return;
    }
    case 'forward':
      forwards.add(action.to);
      if (!forwarders.includes(recipient)) forwarders.push(recipient);
      return;
    case 'webhook':
      await postWebhook(action.url, action.secret, messageEvent(job, parsed, recipient), deps.webhook);
      result.webhooks++;
      return;
  }
}

function messageEvent(job: IngestJob, parsed: ParsedMessage, recipient: string): MessageEvent {
  const { summary } = parsed;
  return {
    id: `${job.id}:${recipient.toLowerCase()}`,
    type: 'message.received',
    recipient,
    mailFrom: job.mailFrom,
    rcptTo: job.rcptTo,
    receivedAt: job.receivedAt,
    blobKey: job.blobKey,
    subject: summary.subject,
    from: summary.from,
    to: summary.to,
    cc: summary.cc,
    date: summary.date === null ? null : new Date(summary.date).toISOString(),
    messageId: summary.messageId,
    text: parsed.bodyText,
    attachments: summary.attachments,
  };
}
