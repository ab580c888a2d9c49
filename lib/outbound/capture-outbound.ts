import type { BlobStore } from '../blob/types.js';
import type { Outbound, OutboundMessage } from './types.js';

/**
 * Keeps outbound mail instead of sending it (the dev default, when no smarthost is set):
 * `outbox/<id>.eml` holds the bytes and `outbox/<id>.json` the envelope.
 */
export class CaptureOutbound implements Outbound {
  constructor(private readonly blobs: BlobStore) {}

  async send(message: OutboundMessage): Promise<{ accepted: string[] }> {
    const key = `outbox/${message.id.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
    await this.blobs.put(`${key}.eml`, message.raw);
    await this.blobs.put(
      `${key}.json`,
      Buffer.from(JSON.stringify({ from: message.from, to: message.to }, null, 2)),
    );
    return { accepted: message.to };
  }
}
