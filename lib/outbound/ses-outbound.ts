import {
  SESv2Client,
  SendEmailCommand,
  type SendEmailCommandInput,
  type SESv2ClientConfig,
} from '@aws-sdk/client-sesv2';
import { rewriteForForward } from '../mail/forward-headers.js';
import { PermanentOutboundError, TemporaryOutboundError, type OutboundError } from './errors.js';
import type { Outbound, OutboundMessage } from './types.js';

export interface SesOutboundOptions {
  /** A ready client (its region, credentials, middleware); else one is made from `clientConfig`. */
  client?: SESv2Client;
  clientConfig?: SESv2ClientConfig;
  /**
   * FromEmailAddress for a message with the null reverse path (a bounce being forwarded): SES
   * needs some sender, and bounces of a bounce must go to an address we own, never back out.
   * A verified identity in SES, like every address SES sends from.
   */
  bounceAddress: string;
  /** SES configuration set for every send (event publishing, dedicated IPs, suppression). */
  configurationSetName?: string;
}

/** SES takes at most 50 recipients per SendEmail (To, Cc and Bcc together). */
export const SES_MAX_RECIPIENTS = 50;

/** Error names SES uses for a send that fails the same way however often it is repeated. */
const PERMANENT_ERRORS = new Set([
  'MessageRejected',
  'MailFromDomainNotVerifiedException',
  'AccountSuspendedException',
  'SendingPausedException',
  'BadRequestException',
  'NotFoundException',
]);

/** 4xx answers that still mean "later": rate and quota limits, credentials that have expired. */
const TRANSIENT_CLIENT_ERRORS = /throttl|toomanyrequests|limitexceeded|expired|timeout|slowdown/i;

/**
 * Outbound over Amazon SES v2 SendEmail with raw content: the bytes go out exactly as given
 * (the Received header ingress added included) except for a forward whose author is not of
 * the forwarding domain (`forwardedFor`: From rewritten, see rewriteForForward), and the
 * envelope is stated explicitly:
 * Destination.ToAddresses are the envelope recipients (SES delivers to these and ignores the
 * To/Cc headers when Destination is given, which is what a forward or a Bcc needs), and
 * FromEmailAddress is the envelope sender.
 *
 * At least once: SES has no idempotency key, so a send retried after a lost answer (or after
 * a later recipient chunk failed) goes out again, as it would through a smarthost. The id is
 * attached as the `mailroom-id` message tag, so SES event records show which send it was.
 *
 * Failures are PermanentOutboundError (MessageRejected, MailFromDomainNotVerified, account
 * suspended or paused, a bad request, any other 4xx) or TemporaryOutboundError (throttling,
 * quotas, 5xx, network errors), after the SDK's own retries.
 */
export class SesOutbound implements Outbound {
  private readonly client: SESv2Client;
  private readonly ownsClient: boolean;

  constructor(private readonly options: SesOutboundOptions) {
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? new SESv2Client(options.clientConfig ?? {});
  }

  async send(message: OutboundMessage): Promise<{ accepted: string[] }> {
    const accepted: string[] = [];
    // SES sends only from verified identities: a forward of someone else's mail goes as
    // from the forwarding address, its envelope sender our bounce address (as for a bounce:
    // what bounces must come to us, never loop back out through the forward).
    const rewritten = message.forwardedFor ? rewriteForForward(message.raw, message.forwardedFor) : undefined;
    const outgoing = rewritten ? { ...message, from: null, raw: rewritten } : message;
    for (let i = 0; i < message.to.length; i += SES_MAX_RECIPIENTS) {
      const to = message.to.slice(i, i + SES_MAX_RECIPIENTS);
      try {
        await this.client.send(new SendEmailCommand(this.input(outgoing, to)));
      } catch (err) {
        throw sesFailure(err, accepted.length);
      }
      accepted.push(...to);
    }
    return { accepted };
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }

  private input(message: OutboundMessage, to: string[]): SendEmailCommandInput {
    return {
      FromEmailAddress:
        message.from === null || message.from === '' ? this.options.bounceAddress : message.from,
      Destination: { ToAddresses: to },
      Content: { Raw: { Data: message.raw } },
      ConfigurationSetName: this.options.configurationSetName,
      // Tag values allow letters, digits, "_" and "-" only.
      EmailTags: [{ Name: 'mailroom-id', Value: message.id.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 256) }],
    };
  }
}

interface AwsErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** Whether an error from the SES client means that sending the same thing again cannot work. */
export function isPermanentSesError(err: unknown): boolean {
  const e = (err ?? {}) as AwsErrorShape;
  const name = typeof e.name === 'string' ? e.name : '';
  if (PERMANENT_ERRORS.has(name)) return true;
  if (e.$retryable) return false;
  const status = e.$metadata?.httpStatusCode;
  // No status: the request never got an answer (refused, reset, timed out): try again later.
  if (typeof status !== 'number' || status < 400 || status >= 500) return false;
  if (status === 408 || status === 429) return false;
  return !TRANSIENT_CLIENT_ERRORS.test(name);
}

function sesFailure(err: unknown, alreadySent: number): OutboundError {
  const e = (err ?? {}) as AwsErrorShape;
  // SES errors are named (MessageRejected); a network error is a plain Error with a code (ECONNREFUSED).
  const name =
    typeof e.name === 'string' && e.name !== 'Error'
      ? e.name
      : typeof e.code === 'string'
        ? e.code
        : undefined;
  const text = typeof e.message === 'string' ? e.message : String(err);
  const partial = alreadySent > 0 ? ` (after ${alreadySent} recipients were sent)` : '';
  return isPermanentSesError(err)
    ? new PermanentOutboundError(`SES refused the message: ${name ?? 'error'}: ${text}${partial}`, {
        cause: err,
        reason: name,
      })
    : new TemporaryOutboundError(`SES send failed: ${name ?? 'error'}: ${text}${partial}`, {
        cause: err,
        reason: name,
      });
}
