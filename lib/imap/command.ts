import type { ImapArg, ImapCommand } from './types.js';
import type { ImapSession } from './session.js';

/** RFC 3501 §3: the states a connection is in. */
export type StateKind = 'not-authenticated' | 'authenticated' | 'selected' | 'logout';

export const ANY: StateKind[] = ['not-authenticated', 'authenticated', 'selected'];
export const AUTHENTICATED: StateKind[] = ['authenticated', 'selected'];
export const SELECTED: StateKind[] = ['selected'];
export const NOT_AUTHENTICATED: StateKind[] = ['not-authenticated'];

/** What a handler answers with when it succeeds: `<tag> OK [code] text`. */
export interface Completion {
  code?: string;
  text?: string;
  /** The handler wrote the tagged reply itself (STARTTLS must, before the handshake). */
  answered?: boolean;
}

export interface CommandContext {
  session: ImapSession;
  command: ImapCommand;
  /** Arguments after the command name (after the sub-command for UID commands). */
  args: ImapArg[];
  /** Called as UID FETCH, UID STORE, ... */
  uid: boolean;
}

/**
 * One IMAP command: the states it is legal in, and its handler. The dispatcher checks
 * the state before the handler runs, so no handler repeats that check (STYLE.md).
 */
export interface CommandSpec {
  name: string;
  states: StateKind[];
  /** Whether the command may be prefixed with UID (RFC 3501 §6.4.8, UIDPLUS, MOVE). */
  uid?: boolean;
  /**
   * Whether untagged EXPUNGE may be sent when this command completes. RFC 3501 §7.4.1
   * forbids it after FETCH, STORE and SEARCH (but not their UID forms), since the client
   * may be counting on sequence numbers staying put.
   */
  expungeSafe?: (uid: boolean) => boolean;
  handle(ctx: CommandContext): Promise<Completion | void>;
}
