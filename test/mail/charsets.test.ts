import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../lib/mail/index.js';
import { bytes, compose, crlf, percent, qp, rawMessage, wordB, wordQ } from './fixtures.js';

/**
 * Cyrillic mail as it still arrives (DESIGN.md): UTF-8 from nodemailer, and KOI8-R,
 * windows-1251, CP866 and ISO-8859-5 written by hand with iconv-lite, the way old clients
 * wrote them (nodemailer itself only writes UTF-8).
 */

const SUBJECT = 'Съешь же ещё этих мягких французских булок';
const NAME = 'Иван Петров';
const TEXT = 'Здравствуйте! Высылаю отчёт за квартал.';
const FILE_2231 = 'Отчёт за квартал.xls';
const FILE_2047 = 'Смета ёлка.doc';
const FILE_2047_CT = 'Фото.jpg';

/** [charset label in the message, iconv-lite name, transfer encoding of the text] */
const LEGACY: [string, string, string][] = [
  ['koi8-r', 'koi8-r', 'quoted-printable'],
  ['KOI8-R', 'koi8-r', '8bit'],
  ['windows-1251', 'windows-1251', 'base64'],
  ['cp866', 'cp866', '8bit'],
  ['ibm866', 'cp866', 'quoted-printable'],
  ['iso-8859-5', 'iso-8859-5', 'base64'],
];

function legacyMessage(label: string, charset: string, encoding: string): Buffer {
  const text =
    encoding === 'base64'
      ? bytes(TEXT, charset).toString('base64')
      : encoding === 'quoted-printable'
        ? qp(TEXT, charset)
        : bytes(TEXT, charset);
  return rawMessage(
    crlf(
      `From: ${wordQ(NAME, label, charset)} <ivan@example.ru>`,
      'To: =?us-ascii?Q?Bob?= <bob@example.test>',
      `Cc: ${wordB('Отдел', label, charset)}: ${wordB('Мария', label, charset)} <maria@example.ru>;`,
      `Subject: ${wordB(SUBJECT.slice(0, 20), label, charset)}`,
      ` ${wordQ(SUBJECT.slice(20), label, charset)}`,
      'Date: Tue, 2 Jan 2024 12:00:00 +0300',
      'Message-ID: <legacy@example.ru>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="=_legacy"',
      '',
      '--=_legacy',
      `Content-Type: text/plain; charset=${label}`,
      `Content-Transfer-Encoding: ${encoding}`,
      '',
      '',
    ),
    text,
    crlf(
      '',
      '--=_legacy',
      'Content-Type: application/vnd.ms-excel',
      'Content-Transfer-Encoding: base64',
      `Content-Disposition: attachment; filename*=${label}'ru'${percent(FILE_2231, charset)}`,
      '',
      'AAECAwQ=',
      '--=_legacy',
      'Content-Type: application/msword',
      'Content-Transfer-Encoding: base64',
      `Content-Disposition: attachment; filename="${wordB(FILE_2047, label, charset)}"`,
      '',
      'AAEC',
      '--=_legacy',
      `Content-Type: image/jpeg; name="${wordQ(FILE_2047_CT, label, charset)}"`,
      'Content-Transfer-Encoding: base64',
      '',
      '/9j/',
      '--=_legacy--',
      '',
    ),
  );
}

describe('legacy Cyrillic charsets', () => {
  for (const [label, charset, encoding] of LEGACY) {
    it(`reads ${label} (${encoding}) subject, names, text and file names right`, async () => {
      // Prepare
      const raw = legacyMessage(label, charset, encoding);

      // Act
      const parsed = await parseMessage(raw);

      // Assess
      expect(parsed.summary.subject).toBe(SUBJECT);
      expect(parsed.summary.from).toBe(`${NAME} <ivan@example.ru>`);
      expect(parsed.summary.to).toBe('Bob <bob@example.test>');
      expect(parsed.summary.cc).toBe('Отдел: Мария <maria@example.ru>;');
      expect(parsed.bodyText.trim()).toBe(TEXT);
      expect(parsed.summary.attachments).toEqual([
        { filename: FILE_2231, contentType: 'application/vnd.ms-excel', size: 5, part: '2' },
        { filename: FILE_2047, contentType: 'application/msword', size: 3, part: '3' },
        { filename: FILE_2047_CT, contentType: 'image/jpeg', size: 3, part: '4' },
      ]);
      expect(parsed.headerText).toContain(`Subject: ${SUBJECT}\r\n`);
      expect(parsed.headerText).toContain(`From: ${NAME} <ivan@example.ru>\r\n`);
      // the ENVELOPE keeps the encoded words for the client to decode
      expect(parsed.structure.envelope.subject).toMatch(/^=\?[\w-]+\?B\?/i);
      expect(parsed.structure.envelope.from?.[0]?.name).toBe(wordQ(NAME, label, charset));
      // BODYSTRUCTURE parameters: RFC 2231 decoded to UTF-8, RFC 2047 left to the client
      expect(parsed.structure.body.parts?.[1]?.disposition?.params).toEqual([['filename', FILE_2231]]);
      expect(parsed.structure.body.parts?.[2]?.disposition?.params).toEqual([
        ['filename', wordB(FILE_2047, label, charset)],
      ]);
    });
  }

  it('reads RFC 2231 continuations split in the middle of a multi-byte character', async () => {
    // Prepare: "Годовой отчёт.pdf" in UTF-8, %-encoded and cut into three segments, the
    // second one split inside a two-octet character; a plain continuation at the end
    const encoded = percent('Годовой отчёт', 'utf-8');
    const cut1 = encoded.indexOf('%', 10) + 3; // inside the second character
    const raw = rawMessage(
      crlf(
        'Content-Type: multipart/mixed; boundary=b',
        '',
        '--b',
        'Content-Type: application/pdf;',
        ` name*0*=utf-8''${encoded.slice(0, cut1)};`,
        ` name*1*=${encoded.slice(cut1)};`,
        ' name*2=".pdf"',
        'Content-Disposition: attachment;',
        ` filename*1*=${encoded.slice(cut1)};`,
        ` filename*0*="utf-8'ru'${encoded.slice(0, cut1)}";`,
        ' filename*2=".pdf"; filename="fallback.pdf"',
        '',
        'JVBERi0=',
        '--b--',
      ),
    );

    // Act
    const parsed = await parseMessage(raw);

    // Assess
    const pdf = parsed.structure.body.parts?.[0];
    expect(pdf?.params).toEqual([['name', 'Годовой отчёт.pdf']]);
    expect(pdf?.disposition?.params).toEqual([['filename', 'Годовой отчёт.pdf']]);
    expect(parsed.summary.attachments[0]?.filename).toBe('Годовой отчёт.pdf');
  });

  it('reads a raw 8-bit KOI8-R subject and file name by the charset the message declares', async () => {
    // Prepare
    const raw = rawMessage(
      'Subject: ',
      bytes('Счёт на оплату', 'koi8-r'),
      '\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=koi8-r\r\n\r\n',
      bytes('Оплатите счёт', 'koi8-r'),
      '\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="',
      bytes('счёт.pdf', 'koi8-r'),
      '"\r\n\r\nJVBE\r\n--b--\r\n',
    );

    // Act
    const parsed = await parseMessage(raw);

    // Assess
    expect(parsed.summary.subject).toBe('Счёт на оплату');
    expect(parsed.structure.envelope.subject).toBe('Счёт на оплату');
    expect(parsed.headerText).toContain('Subject: Счёт на оплату\r\n');
    expect(parsed.bodyText.trim()).toBe('Оплатите счёт');
    expect(parsed.summary.attachments.map((a) => a.filename)).toEqual(['счёт.pdf']);
  });
});

describe('UTF-8 from nodemailer', () => {
  for (const textEncoding of ['base64', 'quoted-printable'] as const) {
    it(`reads subject, text and Cyrillic file names (${textEncoding})`, async () => {
      // Prepare
      const raw = await compose({
        from: { name: 'Иван Петров', address: 'ivan@example.ru' },
        to: 'Мария <maria@example.ru>, bob@example.test',
        cc: { name: 'Отдел продаж, Москва', address: 'sales@example.ru' },
        subject: 'Привет, мир — тест №1',
        text: `${TEXT}\nВторая строка.`,
        textEncoding,
        messageId: '<utf8@example.ru>',
        date: new Date('2024-03-04T05:06:07Z'),
        attachments: [
          {
            filename: 'Отчёт за квартал очень длинное имя файла чтобы было продолжение.pdf',
            content: Buffer.from('%PDF-1.4'),
          },
          { filename: 'ёжик.txt', content: 'текст', contentType: 'text/plain; charset=utf-8' },
        ],
      });

      // Act
      const parsed = await parseMessage(raw);

      // Assess
      expect(parsed.summary).toMatchObject({
        subject: 'Привет, мир — тест №1',
        from: 'Иван Петров <ivan@example.ru>',
        to: 'Мария <maria@example.ru>, bob@example.test',
        cc: '"Отдел продаж, Москва" <sales@example.ru>',
        date: Date.UTC(2024, 2, 4, 5, 6, 7),
        messageId: '<utf8@example.ru>',
      });
      expect(parsed.bodyText.trim()).toBe(`${TEXT}\nВторая строка.`);
      expect(parsed.summary.attachments).toEqual([
        {
          filename: 'Отчёт за квартал очень длинное имя файла чтобы было продолжение.pdf',
          contentType: 'application/pdf',
          size: 8,
          part: '2',
        },
        { filename: 'ёжик.txt', contentType: 'text/plain', size: Buffer.byteLength('текст'), part: '3' },
      ]);
      expect(parsed.structure.body.parts?.[0]).toMatchObject({
        type: 'text',
        subtype: 'plain',
        encoding: textEncoding,
      });
    });
  }

  it('turns an HTML-only message into text', async () => {
    // Prepare
    const raw = await compose({
      from: 'a@example.net',
      to: 'b@example.net',
      subject: 'html',
      html: '<html><body><h1>Заголовок</h1><p>Первый абзац &amp; <b>жирный</b></p><script>var x = 1;</script></body></html>',
    });

    // Act
    const parsed = await parseMessage(raw);

    // Assess
    expect(parsed.bodyText).toContain('Первый абзац & жирный');
    expect(parsed.bodyText.toLowerCase()).toContain('заголовок');
    expect(parsed.bodyText).not.toContain('<p>');
    expect(parsed.bodyText).not.toContain('var x');
  });
});
