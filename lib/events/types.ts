/** EventBridge `source` of every event Mailroom publishes. */
export const EVENT_SOURCE = 'mailroom';

/** EventBridge `detail-type` of MessageReceivedEvent. */
export const MESSAGE_RECEIVED = 'mailroom.message.received';

/** An authentication result as Authentication-Results (RFC 8601 §2.7) names it. */
export type AuthVerdict =
  'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror' | 'policy';

/**
 * The detail of one `mailroom.message.received` event: one message stored in one mailbox.
 * Delivery is at least once (a retried ingest job publishes again), so consumers deduplicate
 * on `id`. Text fields are bounded (see message-received.ts), so an event always fits in one
 * EventBridge entry.
 */
export interface MessageReceivedEvent {
  /**
   * `<job id>:<account>:<mailbox>`: the same for every retry of the job, and different for
   * each mailbox the message went into (an alias that fans out to two accounts gives two).
   */
  id: string;
  account: string;
  mailbox: string;
  uid: number;
  /** Envelope sender (MAIL FROM); null for the null reverse path. */
  mailFrom: string | null;
  /** Decoded header text, `Name <a@b>, c@d` ("" when absent). */
  from: string;
  to: string;
  cc: string;
  subject: string;
  /** Date header as ISO 8601, or null when missing or unparsable. */
  date: string | null;
  messageId: string | null;
  /** The first attachments (names, types, decoded sizes); `attachmentCount` says how many there are. */
  attachments: { filename: string | null; contentType: string; size: number }[];
  attachmentCount: number;
  /** Sender authentication, once ingest verifies it; absent means "not checked", not "failed". */
  authentication?: { spf?: AuthVerdict; dkim?: AuthVerdict; dmarc?: AuthVerdict };
  /** Size of the raw message in octets. */
  size: number;
  /** ISO 8601 time the message was accepted (the 250 reply). */
  receivedAt: string;
  /** Where the raw message lives: its BlobStore key, and the bucket when the BlobStore is S3. */
  raw: { key: string; bucket?: string };
}

/** Where Mailroom announces what happened to mail: EventBridge in the cloud, the log on one machine. */
export interface Events {
  /**
   * Publishes the events (all or, by throwing, not known to be all: a caller that retries
   * may publish some twice). An empty list publishes nothing.
   */
  publish(events: MessageReceivedEvent[]): Promise<void>;
}
