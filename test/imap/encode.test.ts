import { describe, expect, it } from 'vitest';
import {
  astring,
  encodeBodyStructure,
  encodeEnvelope,
  imapString,
  list,
  literal,
  literal8,
  MAX_QUOTED_OCTETS,
  nstring,
  num,
  quoted,
  rfc2231Encode,
  toBuffer,
  wireLength,
  type Wire,
} from '../../lib/imap/encode.js';
import { parseMimeTree } from '../../lib/mail/index.js';

const crlf = (...lines: string[]): string => lines.join('\r\n');
const text = (wire: Wire): string => toBuffer(wire).toString('utf8');

/** `count` lines of filler making exactly `size` octets, the last one without a line break. */
function filler(count: number, size: number, alphabet: string): string {
  const content = size - 2 * (count - 1);
  const base = Math.floor(content / count);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = i === count - 1 ? content - base * (count - 1) : base;
    lines.push(Array.from({ length }, (_, j) => alphabet.charAt((i + j) % alphabet.length)).join(''));
  }
  return lines.join('\r\n');
}

/**
 * The message behind the RFC 3501 §7.4.2 examples: the ENVELOPE of its FETCH example and the
 * two-part BODYSTRUCTURE example (a 1152-octet, 23-line text part and a 4554-octet, 73-line
 * base64 text part).
 */
const RFC3501 = Buffer.from(
  crlf(
    'Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)',
    'From: Terry Gray <gray@cac.washington.edu>',
    'Subject: IMAP4rev1 WG mtg summary and minutes',
    'To: imap@cac.washington.edu',
    'cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>',
    'Message-Id: <B27397-0100000@cac.washington.edu>',
    'MIME-Version: 1.0',
    'Content-Type: MULTIPART/MIXED; BOUNDARY="4554-1152"',
    '',
    '--4554-1152',
    'Content-Type: TEXT/PLAIN; CHARSET=US-ASCII',
    '',
    filler(23, 1152, 'The quick brown fox jumps over the lazy dog. '),
    '--4554-1152',
    'Content-Type: TEXT/PLAIN; CHARSET=US-ASCII; NAME=cc.diff',
    'Content-ID: <960723163407.20117h@cac.washington.edu>',
    'Content-Description: Compiler diff',
    'Content-Transfer-Encoding: BASE64',
    '',
    filler(73, 4554, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'),
    '--4554-1152--',
    '',
  ),
  'latin1',
);

const INNER = crlf(
  'From: Carol <carol@example.org>',
  'To: bob@example.test',
  'Subject: inner',
  'Date: Sun, 31 Dec 2023 09:00:00 +0000',
  'Message-ID: <inner@example.org>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary=inner',
  '',
  '--inner',
  'Content-Type: text/plain; charset=us-ascii',
  '',
  'Inner text',
  '--inner',
  'Content-Type: application/octet-stream; name=data.bin',
  'Content-Disposition: attachment; filename=data.bin',
  'Content-Transfer-Encoding: base64',
  '',
  'AAEC/w==',
  '--inner--',
);

/** multipart/mixed of an inline multipart/alternative, a forwarded multipart message, a PDF with a Russian RFC 2231 name, and text in an unknown encoding. */
const NESTED = Buffer.from(
  crlf(
    'From: =?utf-8?B?QWxpY2U=?= <alice@example.net>',
    'To: "Bob Builder" <bob@example.test>,',
    ' carol@example.test',
    'Cc: Team: dave@example.org, "Eve" <eve@example.org>;',
    'Subject: Привет, a folded',
    ' subject line',
    'Date: Mon, 1 Jan 2024 10:00:00 +0000',
    'Message-ID: <m1@example.net>',
    'In-Reply-To: <m0@example.net>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="outer"',
    '',
    '--outer',
    'Content-Type: multipart/alternative; boundary="alt"',
    'Content-Disposition: inline',
    '',
    '--alt',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Caf=C3=A9 au lait=',
    ', soft break',
    '--alt',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    'PHA+SGk8L3A+CjxwPkJ5ZTwvcD4K',
    '--alt--',
    '--outer',
    'Content-Type: message/rfc822',
    'Content-Description: forwarded',
    '',
    INNER,
    '--outer',
    "Content-Type: application/pdf; name*=utf-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.pdf",
    "Content-Disposition: attachment; filename*=utf-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.pdf",
    'Content-Language: ru, en',
    'Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==',
    'Content-Location: https://example.net/r.pdf',
    'Content-Transfer-Encoding: base64',
    '',
    'JVBERi0xLjQK',
    '--outer',
    'Content-Type: text/plain',
    'Content-Transfer-Encoding: x-uuencode',
    '',
    'begin 644 x',
    '--outer--',
    '',
  ),
  'utf8',
);

describe('strings on the wire', () => {
  it('quotes with \\ and " escaped, and refuses CR, LF and NUL', () => {
    // Prepare, Act, Assess
    expect(text(quoted('a"b\\c'))).toBe('"a\\"b\\\\c"');
    expect(text(quoted(''))).toBe('""');
    for (const bad of ['a\rb', 'a\nb', 'a\0b']) expect(() => quoted(bad)).toThrow(RangeError);
  });

  it('writes literals as {n}CRLF + octets, n in octets, and literal8 as ~{n}', () => {
    // Prepare
    const data = Buffer.from('héllo\r\n', 'utf8');

    // Act
    const wire = literal(data);

    // Assess
    expect(toBuffer(wire)).toEqual(Buffer.concat([Buffer.from('{8}\r\n'), data]));
    expect(wireLength(wire)).toBe(13);
    expect(toBuffer(literal8(Buffer.from([0, 1])))).toEqual(Buffer.from('~{2}\r\n\u0000\u0001', 'latin1'));
  });

  it('chooses NIL, quoted or literal for a string', () => {
    // Prepare
    const long = 'a'.repeat(MAX_QUOTED_OCTETS);

    // Act, Assess
    expect(text(imapString(null))).toBe('NIL');
    expect(text(nstring(null))).toBe('NIL');
    expect(text(imapString('hello world'))).toBe('"hello world"');
    expect(text(imapString('NIL'))).toBe('"NIL"');
    expect(text(imapString(long))).toBe(`"${long}"`);
    expect(text(imapString(long + 'a'))).toBe(`{${MAX_QUOTED_OCTETS + 1}}\r\n${long}a`);
    expect(text(imapString('two\r\nlines'))).toBe('{10}\r\ntwo\r\nlines');
    expect(text(imapString(Buffer.from('bytes')))).toBe('"bytes"');
  });

  it('keeps 8-bit text out of quoted strings unless UTF8=ACCEPT is on (RFC 6855 §3)', () => {
    // Prepare
    const word = 'Привет';

    // Act, Assess
    expect(text(imapString(word))).toBe(`{12}\r\n${word}`);
    expect(text(imapString(word, { utf8: true }))).toBe(`"${word}"`);
    // octets that are not UTF-8 never go in a quoted string
    expect(toBuffer(imapString(Buffer.from([0x41, 0xff]), { utf8: true }))).toEqual(
      Buffer.from('{2}\r\nA\xff', 'latin1'),
    );
  });

  it('never sends NUL: U+FFFD in text, 0x80 in octets', () => {
    // Prepare, Act, Assess
    expect(text(imapString('a\0b', { utf8: true }))).toBe('"a\uFFFDb"');
    expect(toBuffer(imapString(Buffer.from([0x61, 0x00])))).toEqual(Buffer.from('{2}\r\na\x80', 'latin1'));
  });

  it('writes an astring as an atom when it can, quoted otherwise', () => {
    // Prepare, Act, Assess
    expect(text(astring('INBOX'))).toBe('INBOX');
    expect(text(astring('Archive/2024]'))).toBe('Archive/2024]');
    expect(text(astring('My Folder'))).toBe('"My Folder"');
    expect(text(astring(''))).toBe('""');
    expect(text(astring('nil'))).toBe('"nil"');
    expect(text(astring('50%'))).toBe('"50%"');
    expect(text(astring('a{b'))).toBe('"a{b"');
    expect(text(astring('Отправленные', { utf8: true }))).toBe('"Отправленные"');
  });

  it('writes lists with single spaces, and numbers', () => {
    // Prepare, Act, Assess
    expect(text(list([num(1), imapString('a'), list([]), imapString(null)]))).toBe('(1 "a" () NIL)');
    expect(text(num(12n ** 20n))).toBe('3833759992447475122176');
  });

  it('percent-encodes RFC 2231 values as UTF-8', () => {
    // Prepare, Act, Assess
    expect(rfc2231Encode('отчёт 1%.pdf')).toBe("utf-8''%D0%BE%D1%82%D1%87%D1%91%D1%82%201%25.pdf");
  });
});

describe('encodeEnvelope', () => {
  it('writes the RFC 3501 §7.4.2 FETCH example envelope', () => {
    // Prepare
    const { structure } = parseMimeTree(RFC3501);

    // Act
    const wire = encodeEnvelope(structure.envelope, false);

    // Assess: the RFC prints it over several lines; on the wire it is one, addresses unseparated
    expect(text(wire)).toBe(
      '("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" ' +
        '(("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
        '(("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
        '(("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
        '((NIL NIL "imap" "cac.washington.edu")) ' +
        '((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL ' +
        '"<B27397-0100000@cac.washington.edu>")',
    );
  });

  it('writes groups, folded fields and raw UTF-8, which goes in a literal unless UTF8=ACCEPT is on', () => {
    // Prepare
    const { structure } = parseMimeTree(NESTED);
    const alice = '(("=?utf-8?B?QWxpY2U=?=" NIL "alice" "example.net"))';
    const rest =
      `${alice} ${alice} ${alice} ` +
      '(("Bob Builder" NIL "bob" "example.test")(NIL NIL "carol" "example.test")) ' +
      '((NIL NIL "Team" NIL)(NIL NIL "dave" "example.org")("Eve" NIL "eve" "example.org")(NIL NIL NIL NIL)) ' +
      'NIL "<m0@example.net>" "<m1@example.net>")';

    // Act
    const plain = toBuffer(encodeEnvelope(structure.envelope, false));
    const utf8 = toBuffer(encodeEnvelope(structure.envelope, true));

    // Assess: 12 octets of Cyrillic + 23 of ASCII
    expect(plain).toEqual(
      Buffer.from(`("Mon, 1 Jan 2024 10:00:00 +0000" {35}\r\nПривет, a folded subject line ${rest}`, 'utf8'),
    );
    expect(utf8).toEqual(
      Buffer.from(`("Mon, 1 Jan 2024 10:00:00 +0000" "Привет, a folded subject line" ${rest}`, 'utf8'),
    );
  });

  it('writes an envelope with nothing in it as ten NILs', () => {
    // Prepare
    const { structure } = parseMimeTree(Buffer.from('\r\nbody'));

    // Act, Assess
    expect(text(encodeEnvelope(structure.envelope, false))).toBe('(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)');
  });
});

describe('encodeBodyStructure', () => {
  it('writes the RFC 3501 §7.4.2 BODYSTRUCTURE example as BODY, byte for byte', () => {
    // Prepare
    const { structure } = parseMimeTree(RFC3501);

    // Act
    const body = text(encodeBodyStructure(structure.body, false, false));

    // Assess
    expect(body).toBe(
      '(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)' +
        '("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") ' +
        '"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) "MIXED")',
    );
  });

  it('adds the extension data for BODYSTRUCTURE', () => {
    // Prepare
    const { structure } = parseMimeTree(RFC3501);

    // Act
    const body = text(encodeBodyStructure(structure.body, true, false));

    // Assess
    expect(body).toBe(
      '(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23 NIL NIL NIL NIL)' +
        '("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") ' +
        '"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73 NIL NIL NIL NIL) ' +
        '"MIXED" ("BOUNDARY" "4554-1152") NIL NIL NIL)',
    );
  });

  /*
   * Dovecot, for the same message, writes types, subtypes, encodings and parameter names as the
   * header has them ("text" "plain" ("charset" "utf-8") ... "quoted-printable"), keeps the RFC
   * 2231 parameters in their encoded `name*` form, and counts 1 line for parts 1.1 and 2 fewer
   * lines in general (LFs only; see lib/mail/mime-tree.ts). Everything else below is what it
   * writes too: the default charset on text/plain without one, language as a list, the enclosed
   * message's envelope and structure.
   */
  const innerEnvelope =
    '("Sun, 31 Dec 2023 09:00:00 +0000" "inner" (("Carol" NIL "carol" "example.org")) ' +
    '(("Carol" NIL "carol" "example.org")) (("Carol" NIL "carol" "example.org")) ' +
    '((NIL NIL "bob" "example.test")) NIL NIL NIL "<inner@example.org>")';
  const innerSize = Buffer.byteLength(INNER);

  it('writes a nested message: alternative, an enclosed multipart message, RFC 2231 names, language, md5, location', () => {
    // Prepare
    const { structure } = parseMimeTree(NESTED);
    const name = "utf-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.pdf";

    // Act
    const body = text(encodeBodyStructure(structure.body, true, false));

    // Assess
    expect(body).toBe(
      '(' +
        '(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 32 2 NIL NIL NIL NIL)' +
        '("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "BASE64" 28 1 NIL NIL NIL NIL) ' +
        '"ALTERNATIVE" ("BOUNDARY" "alt") ("INLINE" NIL) NIL NIL)' +
        `("MESSAGE" "RFC822" NIL NIL "forwarded" "7BIT" ${innerSize} ${innerEnvelope} ` +
        '(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 10 1 NIL NIL NIL NIL)' +
        '("APPLICATION" "OCTET-STREAM" ("NAME" "data.bin") NIL NIL "BASE64" 8 NIL ' +
        '("ATTACHMENT" ("FILENAME" "data.bin")) NIL NIL) "MIXED" ("BOUNDARY" "inner") NIL NIL NIL) ' +
        '19 NIL NIL NIL NIL)' +
        `("APPLICATION" "PDF" ("NAME*" "${name}") NIL NIL "BASE64" 12 "Q2hlY2sgSW50ZWdyaXR5IQ==" ` +
        `("ATTACHMENT" ("FILENAME*" "${name}")) ("ru" "en") "https://example.net/r.pdf")` +
        '("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "X-UUENCODE" 11 1 NIL NIL NIL NIL) ' +
        '"MIXED" ("BOUNDARY" "outer") NIL NIL NIL)',
    );
  });

  it('writes non-ASCII parameter values as UTF-8 when UTF8=ACCEPT is on', () => {
    // Prepare
    const { structure } = parseMimeTree(NESTED);
    const pdf = structure.body.parts?.[2];
    if (pdf === undefined) throw new Error('no part 3');

    // Act
    const body = text(encodeBodyStructure(pdf, true, true));

    // Assess
    expect(body).toBe(
      '("APPLICATION" "PDF" ("NAME" "отчёт.pdf") NIL NIL "BASE64" 12 "Q2hlY2sgSW50ZWdyaXR5IQ==" ' +
        '("ATTACHMENT" ("FILENAME" "отчёт.pdf")) ("ru" "en") "https://example.net/r.pdf")',
    );
  });

  it('leaves the extension data out of BODY, also inside the enclosed message', () => {
    // Prepare
    const { structure } = parseMimeTree(NESTED);

    // Act
    const body = text(encodeBodyStructure(structure.body, false, false));

    // Assess
    expect(body).toBe(
      '(' +
        '(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 32 2)' +
        '("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "BASE64" 28 1) "ALTERNATIVE")' +
        `("MESSAGE" "RFC822" NIL NIL "forwarded" "7BIT" ${innerSize} ${innerEnvelope} ` +
        '(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 10 1)' +
        '("APPLICATION" "OCTET-STREAM" ("NAME" "data.bin") NIL NIL "BASE64" 8) "MIXED") 19)' +
        `("APPLICATION" "PDF" ("NAME*" "utf-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.pdf") NIL NIL "BASE64" 12)` +
        '("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "X-UUENCODE" 11 1) "MIXED")',
    );
  });

  it('writes a message without MIME headers as the text/plain default', () => {
    // Prepare
    const { structure } = parseMimeTree(Buffer.from('Subject: hi\r\n\r\nHello\r\nWorld\r\n'));

    // Act, Assess
    expect(text(encodeBodyStructure(structure.body, true, false))).toBe(
      '("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 14 2 NIL NIL NIL NIL)',
    );
  });
});
