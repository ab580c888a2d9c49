import { createHmac } from 'node:crypto';
import type { MessageSummary } from '../mail/types.js';

/** What a webhook receives for each message and recipient (JSON body of the POST). */
export interface MessageEvent {
  /** Stable for one message and recipient: receivers deduplicate on it (delivery is at least once). */
  id: string;
  type: 'message.received';
  recipient: string;
  mailFrom: string | null;
  rcptTo: string[];
  receivedAt: string;
  blobKey: string;
  subject: string;
  from: string;
  to: string;
  cc: string;
  date: string | null;
  messageId: string | null;
  text: string;
  attachments: MessageSummary['attachments'];
}

export const SIGNATURE_HEADER = 'x-mailroom-signature';

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the timestamp is signed too,
 * so a receiver can refuse replays older than a few minutes.
 */
export function signPayload(secret: string, body: string, timestamp: number): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

export function verifySignature(
  secret: string,
  body: string,
  header: string,
  toleranceSeconds = 300,
  now = Date.now(),
): boolean {
  const fields = Object.fromEntries(header.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const t = Number(fields.t);
  if (!Number.isFinite(t) || Math.abs(now / 1000 - t) > toleranceSeconds) return false;
  return signPayload(secret, body, t) === header;
}

export class WebhookError extends Error {
  readonly code = 'WEBHOOK_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WebhookError';
  }
}

export interface WebhookOptions {
  attempts?: number;
  /** Delay before the second attempt; doubles after each. */
  backoffMs?: number;
  timeoutMs?: number;
}

/**
 * POSTs the event, retrying with exponential backoff on network errors, 408, 429 and 5xx.
 * A 4xx other than those is final. After the last attempt it throws, so the job fails and
 * the queue retries it later (and dead-letters it in the end).
 */
export async function postWebhook(
  url: string,
  secret: string,
  event: MessageEvent,
  options: WebhookOptions = {},
) {
  const attempts = options.attempts ?? 3;
  let delay = options.backoffMs ?? 500;
  const body = JSON.stringify(event);
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Mailroom-Webhook/1',
          'x-mailroom-event-id': event.id,
          [SIGNATURE_HEADER]: signPayload(secret, body, Math.floor(Date.now() / 1000)),
        },
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return;
      lastError = new WebhookError(`webhook ${url} answered ${response.status}`);
      if (response.status < 500 && response.status !== 408 && response.status !== 429) break;
    } catch (err) {
      lastError = err;
    }
    if (attempt < attempts) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay *= 2;
    }
  }
  throw lastError instanceof WebhookError
    ? lastError
    : new WebhookError(`webhook ${url} failed`, { cause: lastError });
}
