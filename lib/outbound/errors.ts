/**
 * What an Outbound adapter throws when a send fails, so a caller can tell "try again later"
 * from "this will never go through". It is the SMTP distinction (RFC 5321 §4.2.1: 4yz is
 * transient, 5yz permanent) lifted to the port, whatever the adapter speaks underneath.
 *
 * Adapters are not required to throw these (a plain Error still means "failed"), so callers
 * that only care whether a send worked need not change. `isPermanentOutboundError` treats
 * anything else as temporary: when in doubt, retry.
 */
export class OutboundError extends Error {
  readonly code: string = 'OUTBOUND_ERROR';
  /** True when retrying the same send cannot succeed until something else changes. */
  readonly permanent: boolean = false;
  /** The remote side's own name for the failure: an SMTP reply code, an SES error name. */
  readonly reason: string | undefined;

  constructor(message: string, options?: { cause?: unknown; reason?: string }) {
    super(message, options);
    this.name = 'OutboundError';
    this.reason = options?.reason;
  }
}

/** The remote side refused for good: the message, its sender or the account itself. */
export class PermanentOutboundError extends OutboundError {
  override readonly code = 'OUTBOUND_PERMANENT';
  override readonly permanent = true;

  constructor(message: string, options?: { cause?: unknown; reason?: string }) {
    super(message, options);
    this.name = 'PermanentOutboundError';
  }
}

/** Worth trying again later: throttling, a 4yz reply, a server error, a network failure. */
export class TemporaryOutboundError extends OutboundError {
  override readonly code = 'OUTBOUND_TEMPORARY';

  constructor(message: string, options?: { cause?: unknown; reason?: string }) {
    super(message, options);
    this.name = 'TemporaryOutboundError';
  }
}

export function isPermanentOutboundError(err: unknown): boolean {
  return err instanceof OutboundError && err.permanent;
}
