import iconv from 'iconv-lite';
import type Mail from 'nodemailer/lib/mailer/index.js';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { BodyPart } from '../../lib/mail/types.js';

/** Builds a message the way nodemailer sends it. */
export async function compose(mail: Mail.Options): Promise<Buffer> {
  return new MailComposer(mail).compile().build();
}

/** `text` encoded in `charset` by iconv-lite, as an old mail client would have written it. */
export function bytes(text: string, charset: string): Buffer {
  return iconv.encode(text, charset);
}

/** RFC 2047 B-encoded word of `text` in `charset` (the label is written as given). */
export function wordB(text: string, label: string, charset = label): string {
  return `=?${label}?B?${bytes(text, charset).toString('base64')}?=`;
}

/** RFC 2047 Q-encoded word of `text` in `charset`. */
export function wordQ(text: string, label: string, charset = label): string {
  const encoded = [...bytes(text, charset)]
    .map((b) =>
      b === 0x20 ? '_' : /[A-Za-z0-9]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `=${hex(b)}`,
    )
    .join('');
  return `=?${label}?Q?${encoded}?=`;
}

/** RFC 2231 percent-encoding of `text` in `charset` (without the charset'lang' prefix). */
export function percent(text: string, charset: string): string {
  return [...bytes(text, charset)]
    .map((b) => (/[A-Za-z0-9.\-_]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${hex(b)}`))
    .join('');
}

/** Quoted-printable of `text` in `charset` (no soft line breaks; fine for short lines). */
export function qp(text: string, charset: string): string {
  return [...bytes(text, charset)]
    .map((b) =>
      b >= 0x21 && b <= 0x7e && b !== 0x3d ? String.fromCharCode(b) : b === 0x20 ? ' ' : `=${hex(b)}`,
    )
    .join('');
}

function hex(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}

/** Joins string and Buffer pieces into one raw message; strings are taken as latin1 octets. */
export function rawMessage(...pieces: (string | Buffer)[]): Buffer {
  return Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
}

/** CRLF-joins lines (handy for hand-written fixtures). */
export function crlf(...lines: string[]): string {
  return lines.join('\r\n');
}

/** BODY[part] as IMAP would serve it from the offsets. */
export function bodyOf(raw: Buffer, part: BodyPart): string {
  return raw.subarray(part.bodyStart, part.end).toString('latin1');
}

/** BODY[part.MIME] (or the header of a message) as IMAP would serve it from the offsets. */
export function mimeOf(raw: Buffer, part: BodyPart): string {
  return raw.subarray(part.headerStart, part.bodyStart).toString('latin1');
}

/** Checks the offset invariants of a whole tree; returns the problems found (empty when fine). */
export function offsetProblems(part: BodyPart, min: number, max: number, path = 'root'): string[] {
  const problems: string[] = [];
  if (!(
    min <= part.headerStart &&
    part.headerStart <= part.bodyStart &&
    part.bodyStart <= part.end &&
    part.end <= max
  )) {
    problems.push(`${path}: ${part.headerStart}/${part.bodyStart}/${part.end} outside ${min}..${max}`);
  }
  if (part.size !== part.end - part.bodyStart) problems.push(`${path}: size ${part.size}`);
  if (part.type === 'multipart' && (part.parts === undefined || part.parts.length === 0))
    problems.push(`${path}: multipart without parts`);
  if (
    part.type === 'message' &&
    part.subtype === 'rfc822' &&
    (part.message === undefined || part.envelope === undefined)
  ) {
    problems.push(`${path}: message/rfc822 without message`);
  }
  let last = part.bodyStart;
  (part.parts ?? []).forEach((child, i) => {
    if (child.headerStart < last) problems.push(`${path}.${i + 1}: overlaps its previous sibling`);
    last = child.end;
    problems.push(...offsetProblems(child, part.bodyStart, part.end, `${path}.${i + 1}`));
  });
  if (part.message !== undefined)
    problems.push(...offsetProblems(part.message, part.bodyStart, part.end, `${path}.msg`));
  return problems;
}
