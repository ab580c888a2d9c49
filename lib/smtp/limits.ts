/** SMTP limits in one place, each with the RFC that sets it. */

/** RFC 5321 §4.5.3.1.4: a command line is at most 512 octets including CRLF. */
export const MAX_COMMAND_LINE = 512;

/**
 * RFC 4954 §4: an AUTH line carries a base64 initial response and may be as long as
 * 12288 octets; the 512-octet limit does not apply to it.
 */
export const MAX_AUTH_LINE = 12288;

/** RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including CRLF. */
export const MAX_TEXT_LINE = 1000;

/** RFC 5321 §4.5.3.1.8: at least 100 recipients must be accepted per message. */
export const MIN_RECIPIENTS = 100;

/** RFC 5321 §4.5.3.1.1 and .2: local part 64 octets, domain 255 octets. */
export const MAX_LOCAL_PART = 64;
export const MAX_DOMAIN = 255;

/** RFC 5321 §4.5.3.1.3: a path (address in angle brackets) is at most 256 octets. */
export const MAX_PATH = 256;

/** Default SIZE (RFC 1870) advertised and enforced: 40 MB, what the users move from (SES). */
export const DEFAULT_MAX_MESSAGE_BYTES = 40 * 1024 * 1024;

/** Head of a message kept in memory while it streams to the BlobStore, to read its From. */
export const HEAD_CAPTURE_BYTES = 64 * 1024;
