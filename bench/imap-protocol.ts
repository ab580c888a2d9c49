/*
 * What bench/imap.ts and its load generator (bench/imap-load.ts) send each other over
 * IPC: one request at a time, one result back.
 */

/** The commands of one loop, in order; the names head the latency table. */
export const LOOP_COMMANDS = [
  'LOGIN',
  'SELECT INBOX',
  'FETCH 1:20 (FLAGS ENVELOPE)',
  'UID FETCH <n> BODY.PEEK[]',
  'STORE <n> +FLAGS (\\Flagged)',
  'SEARCH SUBJECT "<word>"',
  'APPEND INBOX {<size>+}',
  'LOGOUT',
] as const;

export type LoopCommand = (typeof LOOP_COMMANDS)[number];

/** Where to connect and as whom. */
export interface Target {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Per reply and per connect. */
  timeoutMs: number;
}

/** C clients, each looping connect, LOGIN … LOGOUT until the phase's time is up. */
export interface LoopRequest {
  type: 'loop';
  target: Target;
  clients: number;
  /** No new loop starts after this many seconds; loops under way finish. */
  seconds: number;
  /**
   * UIDs 1..seededUids exist in INBOX (UID FETCH picks one at random), and their Subjects
   * are "Quarterly report, revision <k>" for k < seededUids (SEARCH picks a k).
   */
  seededUids: number;
  /** Size of each appended message. */
  appendBytes: number;
  /** Index of the first appended message (its Subject's revision number). */
  firstIndex: number;
}

export interface LoopResult {
  type: 'loop';
  elapsedMs: number;
  loops: number;
  /** Milliseconds per completed command, by command. */
  latencies: Record<LoopCommand, number[]>;
  /** From starting to connect to reading the greeting, per connection. */
  connects: number[];
  failed: number;
  errors: string[];
}

/** One connection: LOGIN, then SELECT and `UID FETCH 1:* (FLAGS)` timed together, LOGOUT; `runs` times. */
export interface BigRequest {
  type: 'big';
  target: Target;
  runs: number;
  mailbox: string;
}

export interface BigRun {
  selectMs: number;
  fetchMs: number;
  /** From sending SELECT to the tagged OK of the FETCH. */
  totalMs: number;
  /** EXISTS reported by SELECT. */
  exists: number;
  /** Untagged FETCH responses: one per message. */
  fetched: number;
}

export interface BigResult {
  type: 'big';
  runs: BigRun[];
  errors: string[];
}

/** Opens N connections, each LOGIN, SELECT, IDLE, and holds them until an idle-close. */
export interface IdleOpenRequest {
  type: 'idle-open';
  target: Target;
  connections: number;
  /** Connections being set up at once. */
  concurrency: number;
}

export interface IdleOpenResult {
  type: 'idle-open';
  idling: number;
  failed: number;
  elapsedMs: number;
  errors: string[];
}

export interface IdleCloseRequest {
  type: 'idle-close';
}

export interface IdleCloseResult {
  type: 'idle-close';
  /** Connections that were still open (not closed by the server) when asked to close. */
  stillOpen: number;
}

/** `count` LOGINs one after another, each on a new connection: what one LOGIN costs. */
export interface LoginsRequest {
  type: 'logins';
  target: Target;
  count: number;
}

export interface LoginsResult {
  type: 'logins';
  latencies: number[];
}

export type LoadRequest = LoopRequest | BigRequest | IdleOpenRequest | IdleCloseRequest | LoginsRequest;
export type LoadResult = LoopResult | BigResult | IdleOpenResult | IdleCloseResult | LoginsResult;
