import type { BodyPart, Envelope, MessageStructure, MessageSummary } from '../../lib/mail/types.js';
import type { NewMessage } from '../../lib/store/types.js';

let sequence = 0;

/**
 * A plausible single-part text/plain message as ingest would hand it to the store, built by
 * hand (no parser). Every call gets its own Message-ID, subject and blob key.
 */
export function makeNewMessage(overrides: Partial<NewMessage> = {}): NewMessage {
  sequence += 1;
  const n = sequence;
  const subject = `Test message ${n}`;
  const messageId = `<test-${n}@example.net>`;
  const date = Date.UTC(2024, 0, 2, 3, 4, 5) + n * 60_000;
  const dateHeader = new Date(date).toUTCString().replace('GMT', '+0000');
  const header =
    'From: Alice Example <alice@example.net>\r\n' +
    'To: Bob <bob@example.test>\r\n' +
    `Subject: ${subject}\r\n` +
    `Date: ${dateHeader}\r\n` +
    `Message-ID: ${messageId}\r\n` +
    'MIME-Version: 1.0\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    'Content-Transfer-Encoding: 7bit\r\n' +
    '\r\n';
  const body = `Hello Bob,\r\n\r\nthis is test message number ${n}.\r\n`;
  const headerBytes = Buffer.byteLength(header);
  const size = headerBytes + Buffer.byteLength(body);

  const envelope: Envelope = {
    date: dateHeader,
    subject,
    from: [{ name: 'Alice Example', adl: null, mailbox: 'alice', host: 'example.net' }],
    sender: [{ name: 'Alice Example', adl: null, mailbox: 'alice', host: 'example.net' }],
    replyTo: [{ name: 'Alice Example', adl: null, mailbox: 'alice', host: 'example.net' }],
    to: [{ name: 'Bob', adl: null, mailbox: 'bob', host: 'example.test' }],
    cc: null,
    bcc: null,
    inReplyTo: null,
    messageId,
  };
  const part: BodyPart = {
    headerStart: 0,
    bodyStart: headerBytes,
    end: size,
    type: 'text',
    subtype: 'plain',
    params: [['charset', 'utf-8']],
    id: null,
    description: null,
    encoding: '7bit',
    size: size - headerBytes,
    lines: body.split('\r\n').length - 1,
    md5: null,
    disposition: null,
    language: null,
    location: null,
  };
  const structure: MessageStructure = { size, envelope, body: part };
  const summary: MessageSummary = {
    subject,
    from: 'Alice Example <alice@example.net>',
    to: 'Bob <bob@example.test>',
    cc: '',
    date,
    messageId,
    attachments: [],
  };
  return {
    blobKey: `test/${n}.eml`,
    size,
    internalDate: date + 1_000,
    flags: [],
    structure,
    summary,
    headerText: header.replace(/\r\n\r\n$/, '\r\n'),
    bodyText: body,
    ...overrides,
  };
}
