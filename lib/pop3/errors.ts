/**
 * RFC 2449 §8 and RFC 3206 response codes: `-ERR [IN-USE] ...` tells a client not to retry
 * at once, `[AUTH]` that the credentials were wrong, `[SYS/TEMP]` that it may try later.
 */
export type Pop3ResponseCode = 'IN-USE' | 'LOGIN-DELAY' | 'AUTH' | 'SYS/TEMP' | 'SYS/PERM';

/** A command failed in a way the client should hear: becomes `-ERR [code] message` at the edge. */
export class Pop3Error extends Error {
  readonly code = 'POP3_ERROR';
  constructor(
    message: string,
    readonly responseCode?: Pop3ResponseCode,
    /** Counts towards MAX_BAD_COMMANDS (malformed arguments, not a missing message). */
    readonly bad = false,
  ) {
    super(message);
    this.name = 'Pop3Error';
  }
}

/** A line that is not a POP3 command at all. */
export class Pop3ParseError extends Error {
  readonly code = 'POP3_PARSE_ERROR';
  constructor(message: string) {
    super(message);
    this.name = 'Pop3ParseError';
  }
}

/** Malformed arguments: `-ERR`, and one more bad command. */
export function badArgs(message: string): Pop3Error {
  return new Pop3Error(message, undefined, true);
}
