import nodemailer from 'nodemailer';
import type { Outbound, OutboundMessage } from './types.js';

/** Sends through a smarthost given as an smtp:// or smtps:// URL (credentials in the URL). */
export class SmtpOutbound implements Outbound {
  private readonly transport: nodemailer.Transporter;

  constructor(url: string) {
    this.transport = nodemailer.createTransport(url);
  }

  async send(message: OutboundMessage): Promise<{ accepted: string[] }> {
    const info = await this.transport.sendMail({
      envelope: { from: message.from ?? '', to: message.to },
      raw: message.raw,
    });
    const accepted = info.accepted as (string | { address: string })[];
    return { accepted: accepted.map((a) => (typeof a === 'string' ? a : a.address)) };
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
