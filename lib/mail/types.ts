/**
 * The parsed form of a message that the store keeps and IMAP serves (RFC 3501 §7.4.2).
 * Strings in Envelope are the header values as they appear on the wire (unfolded, not
 * decoded), which is what ENVELOPE must return; decoded text lives in MessageSummary.
 */

/**
 * One address of an ENVELOPE: RFC 3501 `address` (name, adl, mailbox, host). A group start has host null and mailbox the group name; a group end has both null.
 * name is the display phrase unquoted (or the comment when there is no phrase), encoded words kept; mailbox is the
 * local part as written (a quoted local part keeps its quotes); an address without a domain has host "" (never null,
 * which would read as a group marker). See lib/mail/address.ts.
 */
export interface EnvelopeAddress {
  name: string | null;
  adl: string | null;
  mailbox: string | null;
  host: string | null;
}

/**
 * null = the field is absent (NIL). sender and replyTo are already defaulted to from when absent or empty
 * (RFC 3501 §7.4.2 tells the server to do so), so the IMAP server writes the envelope as stored.
 */
export interface Envelope {
  date: string | null;
  subject: string | null;
  from: EnvelopeAddress[] | null;
  sender: EnvelopeAddress[] | null;
  replyTo: EnvelopeAddress[] | null;
  to: EnvelopeAddress[] | null;
  cc: EnvelopeAddress[] | null;
  bcc: EnvelopeAddress[] | null;
  inReplyTo: string | null;
  messageId: string | null;
}

export interface Disposition {
  type: string;
  params: [string, string][];
}

/**
 * One MIME part with its byte offsets in the raw message, so BODY[1.2], BODY[1.MIME]
 * and partial fetches can be served by reading a byte range of the blob.
 */
export interface BodyPart {
  /** Offset of the part's first header byte (for the top level: 0). */
  headerStart: number;
  /** Offset of the first body byte (after the blank line ending the headers). */
  bodyStart: number;
  /** Offset just past the last body byte. */
  end: number;
  /** Lower case, e.g. "text". */
  type: string;
  /** Lower case, e.g. "plain". */
  subtype: string;
  /**
   * Content-Type parameters in order, names lower case, RFC 2231 continuations joined and values decoded to UTF-8.
   * RFC 2047 encoded words in a value (Outlook's `name="=?koi8-r?B?...?="`) are left for the client, like in ENVELOPE.
   * Without a (valid) Content-Type: [["charset", "us-ascii"]] for the text/plain default, [] for message/rfc822 in a digest.
   */
  params: [string, string][];
  id: string | null;
  description: string | null;
  /** Content-Transfer-Encoding, lower case; "7bit" when absent. */
  encoding: string;
  /** Body size in octets (end - bodyStart). */
  size: number;
  /**
   * Body lines, for text/* and message/rfc822 parts (null otherwise): LF line breaks plus one for a last line
   * without a break, so a multipart child "a\r\nb" (its final CRLF belongs to the boundary) is 2, as WildDuck
   * counts; Dovecot counts LFs only (1).
   */
  lines: number | null;
  md5: string | null;
  disposition: Disposition | null;
  language: string[] | null;
  location: string | null;
  /** message/rfc822: the enclosed message's envelope and body. */
  envelope?: Envelope;
  message?: BodyPart;
  /** multipart/*: the children, in order. */
  parts?: BodyPart[];
}

export interface MessageStructure {
  /** Size of the whole raw message in octets (RFC822.SIZE). */
  size: number;
  envelope: Envelope;
  body: BodyPart;
}

export interface AttachmentSummary {
  /** Decoded file name (RFC 2047 / RFC 2231), or null (an enclosed message/rfc822 usually has none). */
  filename: string | null;
  /** The part's own type/subtype, lower case, as the message declares it. */
  contentType: string;
  /** Size in octets once the transfer encoding is removed (the file's size; BodyPart.size is the encoded one). */
  size: number;
  /** Part number as IMAP numbers it, e.g. "2" or "1.2". */
  part: string;
}

/**
 * Decoded fields for listings, SEARCH and events; every string is UTF-8. from/to/cc are display text,
 * `Name <a@b>, c@d` ("" when absent), groups as `Group: members;`. Attachments are the leaf parts with a file
 * name or `attachment` disposition, every non-text part, and each enclosed message/rfc822 (not descended into).
 */
export interface MessageSummary {
  subject: string;
  from: string;
  to: string;
  cc: string;
  /** Date header as ms since the epoch, or null when missing or unparsable. */
  date: number | null;
  messageId: string | null;
  attachments: AttachmentSummary[];
}

/** Everything ingest computes from a raw message. */
export interface ParsedMessage {
  structure: MessageStructure;
  summary: MessageSummary;
  /** Decoded header block (all fields, RFC 2047 words decoded), for SEARCH HEADER / FROM / TO ... */
  headerText: string;
  /** Decoded text of the text parts (plain, or HTML stripped to text), for SEARCH BODY / TEXT. */
  bodyText: string;
}
