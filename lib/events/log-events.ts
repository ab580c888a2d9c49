import type { Logger } from '../log.js';
import { MESSAGE_RECEIVED, type Events, type MessageReceivedEvent } from './types.js';

/**
 * The embedded default: each event becomes one info record of the logger (`{ event }`,
 * message `mailroom.message.received`), or, without a logger, nothing at all.
 */
export class LogEvents implements Events {
  constructor(private readonly logger?: Logger) {}

  async publish(events: MessageReceivedEvent[]): Promise<void> {
    if (this.logger === undefined) return;
    for (const event of events) this.logger.info({ event }, MESSAGE_RECEIVED);
  }
}
