import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import iconv from 'iconv-lite';
import { startTestMailroom, eventually, type TestMailroom } from '../helpers/mailroom.js';

const SUBJECT = 'Привет, мир: отчёт за ноябрь';
const TEXT = 'Съешь же ещё этих мягких французских булок, да выпей чаю.\r\n';
const FILENAME = 'Отчёт за квартал.txt';

/**
 * Builds the message as an old mail client in that charset would: RFC 2047 encoded
 * subject and sender name, the text in the charset's own bytes, an attachment whose name
 * is RFC 2231 encoded in the same charset.
 */
function cyrillicMessage(charset: string, tag: string): Buffer {
  const enc = (s: string) => iconv.encode(s, charset);
  const word = (s: string) => `=?${charset}?B?${enc(s).toString('base64')}?=`;
  const pct = (s: string) =>
    [...enc(s)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  const head = [
    `From: ${word('Иван Петров')} <ivan@sender.test>`,
    'To: demo@example.test',
    `Subject: ${word(SUBJECT)} ${tag}`,
    `Message-ID: <${tag}@sender.test>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    `Content-Type: text/plain; charset=${charset}`,
    'Content-Transfer-Encoding: 8bit',
    '',
    '',
  ].join('\r\n');
  const attachment = [
    '',
    '--b1',
    'Content-Type: text/plain; name="report.txt"',
    `Content-Disposition: attachment; filename*=${charset}''${pct(FILENAME)}`,
    'Content-Transfer-Encoding: base64',
    '',
    enc('данные отчёта').toString('base64'),
    '--b1--',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), enc(TEXT), Buffer.from(attachment, 'latin1')]);
}

describe('Cyrillic mail in the charsets it still arrives in', () => {
  let mailroom: TestMailroom;
  beforeAll(async () => {
    mailroom = await startTestMailroom();
  });
  afterAll(async () => {
    await mailroom.cleanup();
  });

  it.each(['koi8-r', 'windows-1251', 'cp866', 'iso-8859-5', 'utf-8'])(
    'stores %s mail decoded right, its raw bytes kept exactly',
    async (charset) => {
      const raw = cyrillicMessage(charset, `t-${charset}`);
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port: mailroom.smtpPort,
        secure: false,
        ignoreTLS: true,
      });
      await transport.sendMail({ envelope: { from: 'ivan@sender.test', to: ['demo@example.test'] }, raw });

      const stored = await eventually(async () =>
        (await mailroom.embedded.store.listMessages('demo@example.test', 'INBOX')).find((m) =>
          m.summary.subject.endsWith(`t-${charset}`),
        ),
      );
      expect(stored.summary.subject).toBe(`${SUBJECT} t-${charset}`);
      expect(stored.summary.from).toContain('Иван Петров');
      expect(stored.summary.attachments.map((a) => a.filename)).toEqual([FILENAME]);
      const full = await mailroom.embedded.store.getMessage('demo@example.test', 'INBOX', stored.uid);
      expect(full!.bodyText).toContain('французских булок');

      const blob = await mailroom.embedded.blobs.getBuffer(stored.blobKey);
      const trace = /^Received: (?:[^\r]*\r\n\t)*[^\r]*\r\n/.exec(blob.toString('latin1'))![0];
      // nodemailer's SMTP client dot-stuffs and the server un-stuffs: what arrives is what was sent.
      expect(blob.subarray(Buffer.byteLength(trace, 'latin1')).equals(raw)).toBe(true);
    },
  );
});
