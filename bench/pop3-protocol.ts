/*
 * What bench/pop3.ts and its load generator (bench/pop3-load.ts) send each other over
 * IPC: one request at a time, one result back.
 */

/** The steps of one session, in order; the names head the latency table. */
export const SESSION_STEPS = ['connect', 'USER', 'PASS', 'STAT', 'LIST', 'UIDL', 'RETR', 'QUIT'] as const;

export type SessionStep = (typeof SESSION_STEPS)[number];

/** Where to connect. */
export interface Target {
  host: string;
  port: number;
  password: string;
  /** Per reply and per connect. */
  timeoutMs: number;
}

/**
 * `rounds` rounds; in each, one session per user, all at once: connect, USER, PASS, STAT,
 * LIST, UIDL, RETR of every message, QUIT (no DELE: the maildrop stays as it was).
 */
export interface RoundsRequest {
  type: 'rounds';
  target: Target;
  /** One connection per user: a POP3 maildrop is locked by the session that has it. */
  users: string[];
  rounds: number;
  /** Messages each maildrop should hold; a STAT that says otherwise is counted as a mismatch. */
  messages: number;
}

export interface RoundStats {
  /** From the first connect to the last QUIT's reply. */
  elapsedMs: number;
  /** RETRs that ended in CRLF "." CRLF, all sessions. */
  messages: number;
  /** Octets of those RETRs' bodies as sent (byte-stuffed). */
  octets: number;
  sessions: number;
}

export interface RoundsResult {
  type: 'rounds';
  rounds: RoundStats[];
  /** Milliseconds per completed step, by step, over all rounds and sessions. */
  latencies: Record<SessionStep, number[]>;
  /** Sessions that ended early (an -ERR, a timeout or a closed connection). */
  failed: number;
  /** RETRs whose size (byte-stuffing undone) differed from what LIST said. */
  sizeMismatches: number;
  /** STAT, LIST or UIDL that did not count the seeded messages. */
  countMismatches: number;
  errors: string[];
}

/** Opens a connection for the big message and logs in: USER, PASS, STAT. */
export interface BigOpenRequest {
  type: 'big-open';
  target: Target;
  user: string;
}

export interface BigOpenResult {
  type: 'big-open';
  messages: number;
  octets: number;
}

/** LIST 1 then RETR 1 on the connection big-open made. */
export interface BigRetrRequest {
  type: 'big-retr';
}

export interface BigRetrResult {
  type: 'big-retr';
  /** From sending RETR to CRLF "." CRLF. */
  ms: number;
  firstByteMs: number;
  /** Octets on the wire, and the size once byte-stuffing is undone. */
  octets: number;
  size: number;
  /** The size LIST gave. */
  listed: number;
}

/** QUIT on the connection big-open made. */
export interface BigQuitRequest {
  type: 'big-quit';
}

export interface BigQuitResult {
  type: 'big-quit';
}

export type LoadRequest = RoundsRequest | BigOpenRequest | BigRetrRequest | BigQuitRequest;
export type LoadResult = RoundsResult | BigOpenResult | BigRetrResult | BigQuitResult;
