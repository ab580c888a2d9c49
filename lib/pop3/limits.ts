/** POP3 limits in one place, each with the RFC that sets or suggests it. */

/**
 * Longest command line we read, CRLF included. RFC 2449 §4 caps a command at 255 octets,
 * but an AUTH PLAIN response (RFC 5034 §4) carries a base64 password and may be longer, so
 * we take 8 KiB; a longer line is answered -ERR and thrown away up to its CRLF.
 */
export const MAX_LINE_BYTES = 8 * 1024;

/** RFC 1939 §3: the inactivity autologout timer is at least 10 minutes. */
export const AUTOLOGOUT_MS = 10 * 60 * 1000;

/** Failed USER/PASS or AUTH attempts before the connection is closed (ours; RFC 1939 §13 leaves it to us). */
export const MAX_FAILED_LOGINS = 3;

/** Unknown, malformed or out-of-state commands before the connection is closed (ours). */
export const MAX_BAD_COMMANDS = 20;

/**
 * How long a maildrop lock lasts without renewal (RFC 1939 §8 asks for an exclusive lock).
 * The session renews it every third of this; a process that dies holding it frees it when
 * it runs out.
 */
export const LOCK_TTL_MS = 60 * 1000;

/** Input buffered while a command runs (PIPELINING, RFC 2449 §6.6) before the socket is paused. */
export const MAX_PENDING_BYTES = 64 * 1024;

/** Messages read from the store per page when a maildrop is loaded. */
export const MAILDROP_PAGE = 5000;

/** RETR and TOP read a message up to this size in one piece; a bigger one is streamed in chunks. */
export const WHOLE_READ_BYTES = 1024 * 1024;
