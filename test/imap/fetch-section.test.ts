import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../lib/blob/index.js';
import type { BlobInfo, BlobStore, ByteRange } from '../../lib/blob/types.js';
import { toBuffer } from '../../lib/imap/encode.js';
import {
  binarySize,
  encodeBinarySizeResponse,
  encodeSectionResponse,
  filterHeaderFields,
  isSectionAttribute,
  parseSection,
  readSection,
  responseName,
  rfc822Spec,
  SectionError,
  UnknownCteError,
  type SectionSpec,
} from '../../lib/imap/fetch-section.js';
import type { ImapArg, ImapAtom } from '../../lib/imap/types.js';
import { parseMimeTree } from '../../lib/mail/index.js';
import type { MessageStructure } from '../../lib/mail/types.js';

const crlf = (...lines: string[]): string => lines.join('\r\n');

// ---- fetch attributes as the command parser hands them over (lib/imap/types.ts) ----

function atom(value: string, section?: ImapArg[], partial?: [number, number?]): ImapAtom {
  const a: ImapAtom = { type: 'atom', value };
  if (section !== undefined) a.section = section;
  if (partial !== undefined) a.partial = partial;
  return a;
}
const str = (value: string): ImapArg => ({
  type: 'string',
  value: Buffer.from(value, 'latin1'),
  literal: false,
});
const lst = (...items: ImapArg[]): ImapArg => ({ type: 'list', items });

/** BODY.PEEK[<section>] with an optional header list and partial. */
function peek(section: string | null, fields?: ImapArg[], partial?: [number, number?]): SectionSpec {
  const items: ImapArg[] = section === null ? [] : [atom(section)];
  if (fields !== undefined) items.push(lst(...fields));
  return parseSection(atom('BODY.PEEK', items, partial));
}

// ---- the messages ----

/**
 * The inner message of part 2: a multipart/mixed of its own with a text part and a base64
 * attachment. Its last line has no line break: the CRLF before "--outer" is the boundary's.
 */
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

const TOP_HEADER = crlf(
  'Return-Path: <alice@example.net>',
  'Received: from mx.example.net by mx.example.test;',
  '\tMon, 1 Jan 2024 10:00:00 +0000',
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
  '',
);

/**
 * Sections: 1 multipart/alternative (1.1 text/plain QP, 1.2 text/html base64 with bare LFs
 * inside), 2 message/rfc822 (2.1 text/plain, 2.2 base64 octets with a NUL), 3 application/pdf
 * with an RFC 2231 name, 4 text/plain in x-uuencode with a NUL. Raw UTF-8 in Subject, folded
 * To, Subject and Received.
 */
const NESTED = Buffer.from(
  TOP_HEADER +
    crlf(
      'preamble',
      '--outer',
      'Content-Type: multipart/alternative; boundary="alt"',
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
      'PHA+SGk8L3A+CjxwPkJ5ZTwvcD4K', // "<p>Hi</p>\n<p>Bye</p>\n"
      '--alt--',
      '--outer',
      'Content-Type: message/rfc822',
      'Content-Description: forwarded',
      '',
      INNER,
      '--outer',
      "Content-Type: application/pdf; name*=utf-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.pdf",
      'Content-Transfer-Encoding: base64',
      '',
      'JVBERi0xLjQK', // "%PDF-1.4\n"
      '--outer',
      'Content-Type: text/plain',
      'Content-Transfer-Encoding: x-uuencode',
      '',
      'begin 644 x\u0000end',
      '--outer--',
      'epilogue',
      '',
    ),
  'utf8',
);

/** Bare LF line ends, and no blank line at all: a message that is all header. */
const LF_ONLY = Buffer.from('Subject: lf\nX-Long: a\n\tb\nFrom: a@example.net\n\nbody\n', 'latin1');
const NO_BODY = Buffer.from('Subject: only a header\r\nFrom: a@example.net\r\n', 'latin1');

/** A BlobStore that records every range read, to check that only the needed bytes are read. */
class SpyBlobStore implements BlobStore {
  readonly reads: ByteRange[] = [];
  constructor(private readonly inner: BlobStore) {}
  put(key: string, body: Buffer): Promise<BlobInfo> {
    return this.inner.put(key, body);
  }
  get(key: string, range?: ByteRange): Promise<Readable> {
    this.reads.push(range ?? { start: 0 });
    return this.inner.get(key, range);
  }
  getBuffer(key: string): Promise<Buffer> {
    this.reads.push({ start: 0 });
    return this.inner.getBuffer(key);
  }
  head(key: string): Promise<BlobInfo | undefined> {
    return this.inner.head(key);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}

let root: string;
let blobs: SpyBlobStore;
const structures = new Map<string, MessageStructure>();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mailroom-fetch-section-'));
  blobs = new SpyBlobStore(new FsBlobStore(root));
  for (const [key, raw] of [
    ['m/nested.eml', NESTED],
    ['m/lf.eml', LF_ONLY],
    ['m/nobody.eml', NO_BODY],
  ] as const) {
    await blobs.put(key, raw);
    structures.set(key, parseMimeTree(raw).structure);
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function read(spec: SectionSpec, key = 'm/nested.eml'): Promise<string> {
  const data = await readSection(blobs, key, structures.get(key) as MessageStructure, spec);
  return data.toString('latin1');
}

/** What `text` is as the latin1 view of its UTF-8 octets (how read() shows bytes). */
const octets = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

const HEADER_BYTES = octets(TOP_HEADER);

describe('parseSection and responseName', () => {
  it('echoes each section as RFC 3501 §7.4.2 names it, upper case, PEEK dropped, origin only', () => {
    // Prepare
    const cases: [ImapAtom, string, boolean][] = [
      [atom('BODY', []), 'BODY[]', true],
      [atom('body.peek', []), 'BODY[]', false],
      [atom('BODY', [atom('header')]), 'BODY[HEADER]', true],
      [atom('BODY.PEEK', [atom('Text')], [100, 50]), 'BODY[TEXT]<100>', false],
      [atom('BODY', [atom('1.2.3')]), 'BODY[1.2.3]', true],
      [atom('BODY.PEEK', [atom('2.mime')]), 'BODY[2.MIME]', false],
      [atom('BODY.PEEK', [atom('2.HEADER')]), 'BODY[2.HEADER]', false],
      [atom('BODY', [atom('2.TEXT')], [0, 1]), 'BODY[2.TEXT]<0>', true],
      [
        atom('BODY.PEEK', [atom('1.HEADER.FIELDS'), lst(atom('From'), atom('To'))], [0, 100]),
        'BODY[1.HEADER.FIELDS (FROM TO)]<0>',
        false,
      ],
      [
        atom('BODY', [atom('HEADER.FIELDS.NOT'), lst(atom('received'), str('X-Spam'))]),
        'BODY[HEADER.FIELDS.NOT (RECEIVED "X-SPAM")]',
        true,
      ],
      [atom('BINARY', [atom('1.2')]), 'BINARY[1.2]', true],
      [atom('BINARY.PEEK', [], [10, 20]), 'BINARY[]<10>', false],
      [atom('BINARY.SIZE', [atom('3')]), 'BINARY.SIZE[3]', false],
      [atom('RFC822'), 'RFC822', true],
      [atom('rfc822.header'), 'RFC822.HEADER', false],
      [atom('RFC822.TEXT'), 'RFC822.TEXT', true],
    ];

    for (const [attr, name, seen] of cases) {
      // Act
      const spec = parseSection(attr);

      // Assess
      expect(responseName(spec), name).toBe(name);
      expect(spec.setsSeen, name).toBe(seen);
    }
  });

  it('rejects what the section grammar does not allow with a SectionError (BAD)', () => {
    // Prepare
    const bad: ImapAtom[] = [
      atom('BODY.PEEK'), // no section: BODY alone is BODYSTRUCTURE, BODY.PEEK needs one
      atom('BODY', [atom('MIME')]), // MIME only after a part number
      atom('BODY', [atom('1.')]),
      atom('BODY', [atom('1..2')]),
      atom('BODY', [atom('0')]),
      atom('BODY', [atom('01')]),
      atom('BODY', [atom('99999999999')]),
      atom('BODY', [atom('1.FOO')]),
      atom('BODY', [atom('HEADER.1')]),
      atom('BODY', [atom('HEADER.FIELDS')]), // no list
      atom('BODY', [atom('HEADER.FIELDS'), lst()]), // empty list
      atom('BODY', [atom('HEADER.FIELDS'), lst(lst(atom('From')))]),
      atom('BODY', [atom('HEADER.FIELDS'), lst(str('Fr om'))]),
      atom('BODY', [atom('TEXT'), lst(atom('From'))]),
      atom('BODY', [str('1')]),
      atom('BODY', [], [0]), // <start> without length
      atom('BODY', [], [0, 0]), // length is nz-number
      atom('BODY', [], [2 ** 32, 1]),
      atom('BINARY', [atom('1.MIME')]), // section-binary is part numbers only (RFC 3516)
      atom('BINARY.PEEK', [atom('HEADER')]),
      atom('BINARY', [atom('TEXT')]),
      atom('BINARY.SIZE', [atom('1')], [0, 10]),
      atom('BINARY'),
      atom('RFC822', []),
      atom('RFC822.SIZE'),
    ];

    for (const attr of bad) {
      // Act
      const parsing = (): SectionSpec => parseSection(attr);

      // Assess
      expect(parsing, JSON.stringify(attr)).toThrow(SectionError);
    }
  });

  it('tells section attributes from the other FETCH items', () => {
    // Prepare, Act, Assess
    expect(isSectionAttribute(atom('BODY'))).toBe(false);
    expect(isSectionAttribute(atom('BODY', []))).toBe(true);
    expect(isSectionAttribute(atom('BINARY.SIZE', [atom('1')]))).toBe(true);
    expect(isSectionAttribute(atom('rfc822.text'))).toBe(true);
    expect(isSectionAttribute(atom('RFC822.SIZE'))).toBe(false);
    expect(isSectionAttribute(atom('BODYSTRUCTURE'))).toBe(false);
  });

  it('maps RFC822, RFC822.HEADER and RFC822.TEXT to BODY[], BODY.PEEK[HEADER], BODY[TEXT]', () => {
    // Prepare, Act
    const whole = rfc822Spec('RFC822');
    const header = rfc822Spec('RFC822.HEADER');
    const text = rfc822Spec('RFC822.TEXT');

    // Assess
    expect([whole.text, whole.setsSeen]).toEqual(['', true]);
    expect([header.text, header.setsSeen]).toEqual(['HEADER', false]);
    expect([text.text, text.setsSeen]).toEqual(['TEXT', true]);
  });
});

describe('readSection: BODY sections of a nested message', () => {
  it('serves BODY[], BODY[HEADER] and BODY[TEXT] of the message, and the RFC822 forms', async () => {
    // Prepare
    const raw = NESTED.toString('latin1').replace('\u0000', '\u0080');

    // Act, Assess
    expect(await read(peek(null))).toBe(raw);
    expect(await read(rfc822Spec('RFC822'))).toBe(raw);
    expect(await read(peek('HEADER'))).toBe(HEADER_BYTES);
    expect(await read(rfc822Spec('RFC822.HEADER'))).toBe(HEADER_BYTES);
    expect(await read(peek('TEXT'))).toBe(raw.slice(HEADER_BYTES.length));
    expect(await read(rfc822Spec('RFC822.TEXT'))).toBe(raw.slice(HEADER_BYTES.length));
  });

  it('serves parts, MIME headers and the header and text of an enclosed message', async () => {
    // Prepare
    const innerHeader = INNER.slice(0, INNER.indexOf('\r\n\r\n') + 4);

    // Act, Assess
    expect(await read(peek('1.1'))).toBe('Caf=C3=A9 au lait=\r\n, soft break');
    expect(await read(peek('1.1.MIME'))).toBe(
      'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n',
    );
    expect(await read(peek('1.2'))).toBe('PHA+SGk8L3A+CjxwPkJ5ZTwvcD4K');
    expect(await read(peek('1'))).toMatch(/^--alt\r\n[^]*\r\n--alt--$/);
    expect(await read(peek('2'))).toBe(INNER);
    expect(await read(peek('2.MIME'))).toBe(
      'Content-Type: message/rfc822\r\nContent-Description: forwarded\r\n\r\n',
    );
    expect(await read(peek('2.HEADER'))).toBe(innerHeader);
    expect(await read(peek('2.TEXT'))).toBe(INNER.slice(innerHeader.length));
    expect(await read(peek('2.1'))).toBe('Inner text');
    expect(await read(peek('2.2'))).toBe('AAEC/w==');
    expect(await read(peek('2.2.MIME'))).toBe(
      crlf(
        'Content-Type: application/octet-stream; name=data.bin',
        'Content-Disposition: attachment; filename=data.bin',
        'Content-Transfer-Encoding: base64',
        '',
        '',
      ),
    );
    expect(await read(peek('3'))).toBe('JVBERi0xLjQK');
  });

  it('gives an empty string for a missing part and for HEADER/TEXT of a part that is no message, as Dovecot', async () => {
    // Prepare
    blobs.reads.length = 0;

    // Act, Assess
    expect(await read(peek('9'))).toBe('');
    expect(await read(peek('1.3'))).toBe('');
    expect(await read(peek('2.1.1'))).toBe('');
    expect(await read(peek('1.HEADER'))).toBe('');
    expect(await read(peek('3.TEXT'))).toBe('');
    expect(await read(peek('3.HEADER.FIELDS', [atom('From')]))).toBe('');
    expect(blobs.reads).toEqual([]);
  });

  it('turns NUL into 0x80 in BODY data, which no IMAP literal may carry', async () => {
    // Prepare, Act
    const data = await read(peek('4'));

    // Assess
    expect(data).toBe('begin 644 x\u0080end');
  });

  it('selects header fields without case, keeping folded lines, message order and the blank line', async () => {
    // Prepare
    const spec = peek('HEADER.FIELDS', [atom('Subject'), str('to')]);

    // Act
    const data = await read(spec);

    // Assess
    expect(responseName(spec)).toBe('BODY[HEADER.FIELDS (SUBJECT "TO")]');
    expect(data).toBe(
      octets(
        crlf(
          'To: "Bob Builder" <bob@example.test>,',
          ' carol@example.test',
          'Subject: Привет, a folded',
          ' subject line',
        ),
      ) + '\r\n\r\n',
    );
  });

  it('drops the named fields with HEADER.FIELDS.NOT, folded continuations included', async () => {
    // Prepare
    const names = [
      'Received',
      'Return-Path',
      'FROM',
      'to',
      'Cc',
      'Subject',
      'Date',
      'Message-ID',
      'In-Reply-To',
    ];

    // Act
    const data = await read(
      peek(
        'HEADER.FIELDS.NOT',
        names.map((n) => atom(n)),
      ),
    );

    // Assess
    expect(data).toBe(crlf('MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="outer"', '', ''));
  });

  it('gives the blank line alone when no field matches, and reads the enclosed header for 2.HEADER.FIELDS', async () => {
    // Prepare, Act, Assess
    expect(await read(peek('HEADER.FIELDS', [atom('X-Absent')]))).toBe('\r\n');
    expect(await read(peek('2.HEADER.FIELDS', [atom('subject'), atom('date')]))).toBe(
      'Subject: inner\r\nDate: Sun, 31 Dec 2023 09:00:00 +0000\r\n\r\n',
    );
  });

  it('keeps bare LF line ends as stored, and adds no blank line to a header that has none', async () => {
    // Prepare, Act, Assess
    expect(await read(peek('HEADER.FIELDS', [atom('X-LONG')]), 'm/lf.eml')).toBe('X-Long: a\n\tb\n\n');
    expect(await read(peek('TEXT'), 'm/lf.eml')).toBe('body\n');
    expect(await read(peek('HEADER.FIELDS', [atom('subject')]), 'm/nobody.eml')).toBe(
      'Subject: only a header\r\n',
    );
    expect(await read(peek('HEADER'), 'm/nobody.eml')).toBe(NO_BODY.toString('latin1'));
    expect(await read(peek('TEXT'), 'm/nobody.eml')).toBe('');
  });
});

describe('readSection: partial fetches', () => {
  it('cuts <start.length> out of the section, and gives nothing past its end (RFC 3501 §6.4.5)', async () => {
    // Prepare, Act, Assess
    expect(await read(peek(null, undefined, [0, 10]))).toBe('Return-Pat');
    expect(await read(peek('1.1', undefined, [5, 4]))).toBe('3=A9');
    expect(await read(peek('1.1', undefined, [20, 1000]))).toBe(', soft break');
    expect(await read(peek('1.1', undefined, [32, 10]))).toBe('');
    expect(await read(peek('1.1', undefined, [4000, 10]))).toBe('');
    expect(await read(peek('2.HEADER.FIELDS', [atom('Subject')], [9, 100]))).toBe('inner\r\n\r\n');
  });

  it('reads only the bytes it needs from the blob', async () => {
    // Prepare
    const structure = structures.get('m/nested.eml') as MessageStructure;
    const part11 = structure.body.parts?.[0]?.parts?.[0];
    if (part11 === undefined) throw new Error('no part 1.1');
    const inner = structure.body.parts?.[1]?.message;
    if (inner === undefined) throw new Error('no part 2 message');
    blobs.reads.length = 0;

    // Act
    await read(peek('1.1', undefined, [5, 4]));
    await read(peek('1.1.MIME'));
    await read(peek('2.HEADER.FIELDS', [atom('Subject')]));
    await read(peek('HEADER'));

    // Assess
    expect(blobs.reads).toEqual([
      { start: part11.bodyStart + 5, end: part11.bodyStart + 9 },
      { start: part11.headerStart, end: part11.bodyStart },
      { start: inner.headerStart, end: inner.bodyStart },
      { start: 0, end: structure.body.bodyStart },
    ]);
  });
});

describe('readSection: BINARY (RFC 3516)', () => {
  const binary = (section: string, partial?: [number, number]): SectionSpec =>
    parseSection(atom('BINARY.PEEK', section === '' ? [] : [atom(section)], partial));
  const sizeOf = (section: string): Promise<number> =>
    binarySize(
      blobs,
      'm/nested.eml',
      structures.get('m/nested.eml') as MessageStructure,
      parseSection(atom('BINARY.SIZE', [atom(section)])),
    );

  it('decodes quoted-printable and base64, and gives text parts CRLF line ends', async () => {
    // Prepare, Act, Assess
    expect(await read(binary('1.1'))).toBe(octets('Café au lait, soft break'));
    expect(await read(binary('1.2'))).toBe('<p>Hi</p>\r\n<p>Bye</p>\r\n');
    expect(await read(binary('3'))).toBe('%PDF-1.4\n'); // not text: the LF is data
    expect(await read(binary('2.1'))).toBe('Inner text');
  });

  it('keeps NUL in BINARY data and sends it as literal8', async () => {
    // Prepare
    const spec = binary('2.2');

    // Act
    const data = await readSection(
      blobs,
      'm/nested.eml',
      structures.get('m/nested.eml') as MessageStructure,
      spec,
    );
    const wire = toBuffer(encodeSectionResponse(spec, data));

    // Assess
    expect([...data]).toEqual([0x00, 0x01, 0x02, 0xff]);
    expect(wire).toEqual(Buffer.concat([Buffer.from('BINARY[2.2] ~{4}\r\n'), data]));
    expect(toBuffer(encodeSectionResponse(binary('3'), Buffer.from('%PDF')))).toEqual(
      Buffer.from('BINARY[3] {4}\r\n%PDF'),
    );
  });

  it('applies the partial to the decoded data', async () => {
    // Prepare, Act, Assess
    expect(await read(binary('1.2', [9, 6]))).toBe('\r\n<p>B');
    expect(await read(binary('1.1', [100, 1]))).toBe('');
  });

  it('returns multiparts, enclosed messages and BINARY[] as stored', async () => {
    // Prepare, Act, Assess
    expect(await read(binary('2'))).toBe(INNER);
    expect(await read(binary('1'))).toBe(await read(peek('1')));
    expect(await read(binary(''))).toBe(NESTED.toString('latin1')); // NUL kept: BINARY data
  });

  it('refuses a transfer encoding it cannot decode with UNKNOWN-CTE', async () => {
    // Prepare
    const reading = read(binary('4'));

    // Act, Assess
    await expect(reading).rejects.toBeInstanceOf(UnknownCteError);
    await expect(sizeOf('4')).rejects.toMatchObject({ code: 'UNKNOWN_CTE', encoding: 'x-uuencode' });
  });

  it('gives BINARY.SIZE equal to the length of the BINARY data', async () => {
    // Prepare
    const sections = ['1', '1.1', '1.2', '2', '2.1', '2.2', '3', '9'];

    for (const section of sections) {
      // Act
      const size = await sizeOf(section);

      // Assess
      expect(size, section).toBe(Buffer.from(await read(binary(section)), 'latin1').length);
    }
    expect(await sizeOf('1.1')).toBe(25);
    expect(await sizeOf('1.2')).toBe(23); // 21 octets, two bare LFs made CRLF
    expect(toBuffer(encodeBinarySizeResponse(parseSection(atom('BINARY.SIZE', [atom('1.2')])), 23))).toEqual(
      Buffer.from('BINARY.SIZE[1.2] 23'),
    );
  });

  it('decodes base64 leniently: junk skipped, n characters give floor(n*3/4) octets', async () => {
    // Prepare
    const raw = Buffer.from(
      crlf(
        'Content-Type: application/octet-stream',
        'Content-Transfer-Encoding: BASE64',
        '',
        'QU!JD',
        'R*A',
        '',
      ),
    );
    await blobs.put('m/junk.eml', raw);
    const structure = parseMimeTree(raw).structure;

    // Act
    const data = await readSection(blobs, 'm/junk.eml', structure, binary('1'));

    // Assess
    expect(data.toString('latin1')).toBe('ABCD');
  });
});

describe('encodeSectionResponse', () => {
  it('writes the name and a literal counted in octets, {0} for an empty section', async () => {
    // Prepare
    const spec = peek('HEADER.FIELDS', [atom('subject')], [0, 12]);
    const data = await readSection(
      blobs,
      'm/nested.eml',
      structures.get('m/nested.eml') as MessageStructure,
      spec,
    );

    // Act
    const wire = toBuffer(encodeSectionResponse(spec, data));
    const empty = toBuffer(encodeSectionResponse(peek('7'), Buffer.alloc(0)));

    // Assess
    // 12 octets end inside the UTF-8 of "р": a partial counts octets, not characters
    expect(wire.toString('latin1')).toBe(
      `BODY[HEADER.FIELDS (SUBJECT)]<0> {12}\r\nSubject: ${octets('Пр').slice(0, 3)}`,
    );
    expect(empty.toString('latin1')).toBe('BODY[7] {0}\r\n');
  });
});

describe('filterHeaderFields', () => {
  it('keeps a field whose name has white space before the colon, and junk lines only for .NOT', () => {
    // Prepare
    const header = Buffer.from('From : a@example.net\r\nnot a field\r\n cont\r\nTo: b@example.net\r\n\r\n');

    // Act
    const include = filterHeaderFields(header, ['FROM'], false).toString('latin1');
    const exclude = filterHeaderFields(header, ['FROM'], true).toString('latin1');

    // Assess
    expect(include).toBe('From : a@example.net\r\n\r\n');
    expect(exclude).toBe('not a field\r\n cont\r\nTo: b@example.net\r\n\r\n');
  });
});
