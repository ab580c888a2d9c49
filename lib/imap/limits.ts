/** IMAP limits in one place, each with the RFC that sets or suggests it. */

/**
 * Longest command line, without its CRLF and without literals. RFC 3501 sets none; RFC 7162
 * §4 asks servers to accept lines of at least 8192 octets (long UID sets from CONDSTORE
 * clients). We take 64 KiB.
 */
export const MAX_LINE_BYTES = 64 * 1024;

/**
 * Largest literal outside APPEND (LOGIN passwords, SEARCH strings, mailbox names). RFC 3501
 * §7.5 lets a server refuse a literal it will not take (tagged BAD/NO instead of "+").
 */
export const MAX_LITERAL_BYTES = 64 * 1024;

/**
 * Largest message APPEND accepts, advertised as APPENDLIMIT=<n> (RFC 7889). Same as the SMTP
 * SIZE default (lib/smtp/limits.ts DEFAULT_MAX_MESSAGE_BYTES), so any message that could
 * arrive by mail can also be appended.
 */
export const APPEND_LIMIT = 40 * 1024 * 1024;

/**
 * RFC 7888 §4: a server advertising LITERAL- takes non-synchronizing literals of at most
 * 4096 octets. Kept for reference: we advertise LITERAL+ instead.
 */
export const LITERAL_MINUS_MAX_BYTES = 4096;

/**
 * Largest non-synchronizing literal {n+}. With LITERAL+ (RFC 7888 §3) any size is allowed up
 * to the limit of the command it is in (MAX_LITERAL_BYTES, or APPEND_LIMIT for APPEND); a
 * refused one is still read and thrown away, because the client sends it anyway (§4).
 */
export const MAX_LITERAL_PLUS_BYTES = APPEND_LIMIT;

/**
 * Largest whole command: all its lines and literals together. Bounds the memory one
 * connection can hold, since a command can chain any number of literals. One APPEND of
 * APPEND_LIMIT fits, with its line before and after.
 */
export const MAX_COMMAND_BYTES = APPEND_LIMIT + 2 * MAX_LINE_BYTES;

/** Deepest nesting of parenthesised lists (SEARCH with nested OR/NOT); no RFC limit, ours. */
export const MAX_NESTING_DEPTH = 16;

/** Most arguments in one command, counting those inside lists; no RFC limit, ours. */
export const MAX_COMMAND_ARGS = 10_000;

/** RFC 3501 §5.4: the autologout timer of an authenticated session is at least 30 minutes. */
export const AUTOLOGOUT_AUTHENTICATED_MS = 30 * 60 * 1000;

/** RFC 3501 §5.4 allows a shorter timer before login; a minute is plenty for LOGIN. */
export const AUTOLOGOUT_UNAUTHENTICATED_MS = 60 * 1000;

/**
 * How often an IDLE session (RFC 2177) looks at the change feed when no notification came
 * (another process may have written).
 */
export const IDLE_RECHECK_MS = 5 * 1000;

/**
 * RFC 2177 §3: clients re-issue IDLE at least every 29 minutes, because the server may log
 * out an idling client after 30 minutes (the §5.4 autologout timer).
 */
export const IDLE_MAX_MS = AUTOLOGOUT_AUTHENTICATED_MS;

/**
 * Mailboxes one account may have. No RFC sets it; it bounds LIST responses and a client
 * creating folders in a loop, and is answered NO [LIMIT] (RFC 5530 §3).
 */
export const MAX_MAILBOXES_PER_ACCOUNT = 1000;

/**
 * An IDLE session hears `* OK Still here` this often when nothing else happened, so NAT
 * boxes and load balancers keep the flow (an AWS NLB drops a TLS flow after 350 s of
 * silence) and the client sees the server is alive.
 */
export const IDLE_KEEPALIVE_MS = 4 * 60 * 1000;
