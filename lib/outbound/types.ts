/** A message leaving Mailroom: a forward, or mail an account sends to another domain. */
export interface OutboundMessage {
  /** Envelope sender (MAIL FROM); null for the null reverse path. */
  from: string | null;
  /** Envelope recipients. */
  to: string[];
  raw: Buffer;
  /** Stable for one message and recipient set, so a retried send can be recognised downstream. */
  id: string;
  /**
   * For a forward: the address of ours it is forwarded for (the alias or routed address).
   * An adapter that may only send from verified identities (SES) sends the message as from
   * this address (lib/mail/forward-headers.ts); a smarthost relays the bytes as they are.
   */
  forwardedFor?: string;
}

export interface Outbound {
  /**
   * Hands the message on. Throws on failure: adapters throw an OutboundError (errors.ts) whose
   * `permanent` says whether a retry can help; any other error counts as temporary.
   */
  send(message: OutboundMessage): Promise<{ accepted: string[] }>;
  close?(): Promise<void>;
}
