import nodemailer from 'nodemailer';
import { PermanentOutboundError, TemporaryOutboundError, type OutboundError } from './errors.js';
import type { Outbound, OutboundMessage } from './types.js';

/**
 * Sends through a smarthost given as an smtp:// or smtps:// URL (credentials in the URL).
 * A failure is a PermanentOutboundError when the smarthost answered 5yz, otherwise (4yz, no
 * answer at all) a TemporaryOutboundError.
 */
export class SmtpOutbound implements Outbound {
  private readonly transport: nodemailer.Transporter;

  constructor(url: string) {
    this.transport = nodemailer.createTransport(url);
  }

  async send(message: OutboundMessage): Promise<{ accepted: string[] }> {
    let info: { accepted: unknown };
    try {
      info = await this.transport.sendMail({
        envelope: { from: message.from ?? '', to: message.to },
        raw: message.raw,
      });
    } catch (err) {
      throw smtpFailure(err);
    }
    const accepted = info.accepted as (string | { address: string })[];
    return { accepted: accepted.map((a) => (typeof a === 'string' ? a : a.address)) };
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

/** nodemailer puts the smarthost's reply code on `responseCode` when there was a reply. */
function smtpFailure(err: unknown): OutboundError {
  const { responseCode, code } = (err ?? {}) as { responseCode?: unknown; code?: unknown };
  const text = err instanceof Error ? err.message : String(err);
  if (typeof responseCode === 'number' && responseCode >= 500 && responseCode < 600) {
    return new PermanentOutboundError(`smarthost refused the message: ${text}`, {
      cause: err,
      reason: String(responseCode),
    });
  }
  const reason =
    typeof responseCode === 'number' ? String(responseCode) : typeof code === 'string' ? code : undefined;
  return new TemporaryOutboundError(`smarthost send failed: ${text}`, { cause: err, reason });
}
