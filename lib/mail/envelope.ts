import { parseAddressList } from './address.js';
import { decodeRawHeader, hasNonUtf8Octets } from './charset.js';
import { allFields, firstField, type HeaderField } from './header.js';
import type { DecodeContext } from './mime-params.js';
import type { Envelope, EnvelopeAddress } from './types.js';

/**
 * ENVELOPE (RFC 3501 §7.4.2) from a header block. Strings are the unfolded field values as on
 * the wire, RFC 2047 encoded words left encoded (the client decodes them); the only decoding
 * is of raw 8-bit octets into a JS string (UTF-8 when valid, else `fallbackCharset`), since a
 * string has to hold some characters. The IMAP server writes them back out as UTF-8.
 *
 * Sender and Reply-To default to From when absent or empty, as RFC 3501 tells the server to
 * do; the store keeps the filled-in value, so the IMAP server writes the envelope as it is.
 * Address fields that occur more than once are concatenated (a second From is shown rather
 * than hidden); the other fields take their first occurrence.
 */
/** An envelope with every field NIL: for a message whose header cannot be read. */
export const EMPTY_ENVELOPE: Readonly<Envelope> = Object.freeze({
  date: null,
  subject: null,
  from: null,
  sender: null,
  replyTo: null,
  to: null,
  cc: null,
  bcc: null,
  inReplyTo: null,
  messageId: null,
});

export function buildEnvelope(fields: readonly HeaderField[], ctx: DecodeContext): Envelope {
  const decode = (latin1: string): string => {
    if (hasNonUtf8Octets(latin1)) ctx.usedFallback = true;
    return decodeRawHeader(latin1, ctx.fallbackCharset);
  };
  const text = (key: string): string | null => {
    const f = firstField(fields, key);
    return f === undefined ? null : decode(f.value);
  };
  const addresses = (key: string): EnvelopeAddress[] | null => {
    const found = allFields(fields, key);
    if (found.length === 0) return null;
    const list: EnvelopeAddress[] = [];
    for (const f of found) {
      const parsed = parseAddressList(decode(f.value));
      if (parsed !== null) list.push(...parsed);
    }
    return list.length === 0 ? null : list;
  };

  const from = addresses('from');
  return {
    date: text('date'),
    subject: text('subject'),
    from,
    sender: addresses('sender') ?? copy(from),
    replyTo: addresses('reply-to') ?? copy(from),
    to: addresses('to'),
    cc: addresses('cc'),
    bcc: addresses('bcc'),
    inReplyTo: text('in-reply-to'),
    messageId: text('message-id'),
  };
}

function copy(list: EnvelopeAddress[] | null): EnvelopeAddress[] | null {
  return list === null ? null : list.map((a) => ({ ...a }));
}
