import { truncateUtf8 } from '../mail/summary.js';
import type { MessageSummary } from '../mail/types.js';
import type { MessageReceivedEvent } from './types.js';

/**
 * Bounds of one event. A message is hostile input: a To header of 10,000 addresses or a
 * thousand attachments must still give an event that fits in one EventBridge entry (256 KB
 * with its envelope), so every header-derived string is cut, and an event whose JSON is
 * still over MAX_EVENT_DETAIL_BYTES is rebuilt with tighter bounds and no attachment list.
 */
export const MAX_EVENT_TEXT_BYTES = 4096;
export const MAX_EVENT_ATTACHMENTS = 100;
export const MAX_EVENT_FILENAME_BYTES = 255;
export const MAX_EVENT_DETAIL_BYTES = 200 * 1024;
const TIGHT_TEXT_BYTES = 256;

/** One delivery as ingest reports it (IngestResult.delivered). */
export interface Delivery {
  account: string;
  folder: string;
  uid: number;
}

/** What ingest knows once a message is stored. `job` is an IngestJob, or anything shaped like its fields here. */
export interface MessageReceivedInput {
  job: { id: string; blobKey: string; mailFrom: string | null; receivedAt: string };
  summary: MessageSummary;
  /** Size of the raw message in octets. */
  size: number;
  delivery: Delivery;
  /** The S3 bucket holding `job.blobKey`, when the BlobStore is S3. */
  bucket?: string;
  authentication?: MessageReceivedEvent['authentication'];
}

/** The stable id of the event for one delivery: job id × account × mailbox. */
export function messageReceivedEventId(
  jobId: string,
  delivery: Pick<Delivery, 'account' | 'folder'>,
): string {
  return `${jobId}:${delivery.account.toLowerCase()}:${delivery.folder}`;
}

/** The `mailroom.message.received` detail for one delivery. Pure: same input, same event. */
export function messageReceivedEvent(input: MessageReceivedInput): MessageReceivedEvent {
  const event = build(input, MAX_EVENT_TEXT_BYTES, MAX_EVENT_ATTACHMENTS);
  if (Buffer.byteLength(JSON.stringify(event)) <= MAX_EVENT_DETAIL_BYTES) return event;
  return build(input, TIGHT_TEXT_BYTES, 0);
}

/**
 * One event per mailbox the message went into, in delivery order. Two recipients that led
 * to the same mailbox (an address and an alias of it) stored one message, so they give one
 * event. Duplicate deliveries (a retried job) are kept: the first run may have stored the
 * message and then failed before publishing.
 */
export function messageReceivedEvents(
  input: Omit<MessageReceivedInput, 'delivery'> & { deliveries: readonly Delivery[] },
): MessageReceivedEvent[] {
  const { deliveries, ...rest } = input;
  const events = new Map<string, MessageReceivedEvent>();
  for (const delivery of deliveries) {
    const id = messageReceivedEventId(rest.job.id, delivery);
    if (!events.has(id)) events.set(id, messageReceivedEvent({ ...rest, delivery }));
  }
  return [...events.values()];
}

function build(input: MessageReceivedInput, textBytes: number, maxAttachments: number): MessageReceivedEvent {
  const { job, summary, delivery } = input;
  const text = (value: string) => truncateUtf8(value, textBytes);
  const event: MessageReceivedEvent = {
    id: messageReceivedEventId(job.id, delivery),
    account: delivery.account,
    mailbox: delivery.folder,
    uid: delivery.uid,
    mailFrom: job.mailFrom,
    from: text(summary.from),
    to: text(summary.to),
    cc: text(summary.cc),
    subject: text(summary.subject),
    date: summary.date === null ? null : new Date(summary.date).toISOString(),
    messageId: summary.messageId === null ? null : text(summary.messageId),
    attachments: summary.attachments.slice(0, maxAttachments).map((a) => ({
      filename: a.filename === null ? null : truncateUtf8(a.filename, MAX_EVENT_FILENAME_BYTES),
      contentType: truncateUtf8(a.contentType, MAX_EVENT_FILENAME_BYTES),
      size: a.size,
    })),
    attachmentCount: summary.attachments.length,
    size: input.size,
    receivedAt: job.receivedAt,
    raw: input.bucket === undefined ? { key: job.blobKey } : { key: job.blobKey, bucket: input.bucket },
  };
  if (input.authentication !== undefined) event.authentication = { ...input.authentication };
  return event;
}
