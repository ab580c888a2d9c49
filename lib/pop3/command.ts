import type { Pop3Command } from './parser.js';
import type { Pop3Session } from './session.js';

/** RFC 1939 §3: AUTHORIZATION before login, TRANSACTION after; UPDATE follows QUIT and takes no commands. */
export type Pop3StateKind = 'authorization' | 'transaction';

export const AUTHORIZATION: Pop3StateKind[] = ['authorization'];
export const TRANSACTION: Pop3StateKind[] = ['transaction'];
export const ANY: Pop3StateKind[] = ['authorization', 'transaction'];

export interface Pop3CommandContext {
  session: Pop3Session;
  command: Pop3Command;
}

/**
 * One POP3 command: the states it is legal in, and its handler. The dispatcher checks the
 * state before the handler runs (STYLE.md). A handler returns the text of its `+OK` line,
 * or nothing when it wrote its reply itself (multi-line responses, STLS, QUIT).
 */
export interface Pop3CommandSpec {
  name: string;
  states: Pop3StateKind[];
  handle(ctx: Pop3CommandContext): Promise<string | void>;
}
