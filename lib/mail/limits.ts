/**
 * Limits of the message parser, in one place. Each one bounds what hostile input can cost
 * (time, memory, size of the stored structure); none of them is reached by ordinary mail.
 */

/** Multipart and message/rfc822 nesting deeper than this is kept as one opaque part. */
export const MAX_MIME_DEPTH = 50;

/** Parts in one message; past this a multipart's remaining parts are ignored like an epilogue. */
export const MAX_MIME_PARTS = 5_000;

/** Header fields kept per header block (the block itself is still parsed to its end). */
export const MAX_HEADER_FIELDS = 10_000;

/** Parameters kept per Content-Type / Content-Disposition field. */
export const MAX_PARAMS = 100;

/** RFC 2231 continuation segments kept per parameter (name*0 ... name*999). */
export const MAX_PARAM_SEGMENTS = 1_000;

/**
 * Longest boundary accepted. RFC 2046 §5.1.1 allows 70 characters; some senders go over, so
 * be generous, but a longer one makes the multipart invalid (RFC 2045 §5.2 default applies).
 */
export const MAX_BOUNDARY_LENGTH = 1_000;

/** Addresses kept per address header in an ENVELOPE. */
export const MAX_ENVELOPE_ADDRESSES = 1_000;

/** MessageSummary.attachments entries kept. */
export const MAX_ATTACHMENTS = 1_000;

/** ParsedMessage.bodyText, in UTF-8 octets. */
export const MAX_BODY_TEXT_BYTES = 1024 * 1024;

/** ParsedMessage.headerText, in UTF-8 octets. */
export const MAX_HEADER_TEXT_BYTES = 256 * 1024;

/** Octets of one text part that are handed to mailparser for bodyText (it is cut after that anyway). */
export const MAX_TEXT_PART_BYTES = 4 * 1024 * 1024;

/** HTML longer than this (characters) is not converted to text by html-to-text. */
export const MAX_HTML_TO_TEXT_CHARS = 2 * 1024 * 1024;
