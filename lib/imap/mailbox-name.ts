import { bad } from './errors.js';

/*
 * Mailbox names on the wire (RFC 3501 §5.1.3): modified UTF-7, where "&" starts a
 * base64 run of UTF-16 (with "," for "/") ended by "-", and "&-" is "&". After
 * ENABLE UTF8=ACCEPT (RFC 6855 §3) names travel as UTF-8 instead.
 */

export function encodeMailboxName(name: string, utf8: boolean): string {
  if (utf8) return name;
  let out = '';
  let run = '';
  const flush = () => {
    if (!run) return;
    const utf16 = Buffer.alloc(run.length * 2);
    for (let i = 0; i < run.length; i++) utf16.writeUInt16BE(run.charCodeAt(i), i * 2);
    out += '&' + utf16.toString('base64').replace(/=+$/, '').replace(/\//g, ',') + '-';
    run = '';
  };
  for (const ch of name) {
    const code = ch.codePointAt(0)!;
    if (code >= 0x20 && code <= 0x7e) {
      flush();
      out += ch === '&' ? '&-' : ch;
    } else {
      run += ch;
    }
  }
  flush();
  return out;
}

export function decodeMailboxName(wire: string, utf8: boolean): string {
  if (utf8 && !/&[A-Za-z0-9+,]*-/.test(wire)) return wire;
  return wire.replace(/&([A-Za-z0-9+,]*)-/g, (_match, b64: string) => {
    if (b64 === '') return '&';
    const bytes = Buffer.from(b64.replace(/,/g, '/'), 'base64');
    if (bytes.length % 2 !== 0) throw bad('Invalid modified UTF-7 in mailbox name');
    let text = '';
    for (let i = 0; i < bytes.length; i += 2) text += String.fromCharCode(bytes.readUInt16BE(i));
    return text;
  });
}
