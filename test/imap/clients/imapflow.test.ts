import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ExistsEvent, ImapFlow } from 'imapflow';
import { startTestMailroom, type TestMailroom } from '../../helpers/mailroom.js';
import {
  DEMO,
  connectImapflow,
  cyrillicMessage,
  deliver,
  multipartMessage,
  plainMessage,
  storedRaw,
  uniqueTag,
  type FlowClient,
} from '../../helpers/imap-fixtures.js';
import type { MessageMeta } from '../../../lib/store/types.js';

/*
 * imapflow (the IMAP client of the Nodemailer family) against our server: the calls a
 * Node mail app makes, over a real socket, mail delivered through SMTP as in production.
 */

const SUBJECT = 'Отчёт за ноябрь';
const TEXT = 'Привет! Съешь же ещё этих мягких французских булок.\r\n';
const CHARSETS = ['koi8-r', 'windows-1251', 'utf-8'] as const;
const PART_TEXT = 'First part text: 0123456789 and then some more.';

describe('imapflow against the Mailroom IMAP server', () => {
  let mailroom: TestMailroom;
  let flow: FlowClient;
  let client: ImapFlow;
  let plain: MessageMeta;
  let multipart: MessageMeta;
  let cyrillic: MessageMeta[];
  let cyrillicTags: string[];
  const extra: ImapFlow[] = [];

  beforeAll(async () => {
    mailroom = await startTestMailroom();
    const tag = uniqueTag('flow');
    cyrillicTags = CHARSETS.map((charset) => `${tag}-${charset}`);
    const delivered = await deliver(mailroom, [
      plainMessage(`${tag}-plain`),
      multipartMessage(`${tag}-multi`, PART_TEXT),
      ...CHARSETS.map((charset, i) => cyrillicMessage(charset, cyrillicTags[i]!, SUBJECT, TEXT)),
    ]);
    plain = delivered[0]!;
    multipart = delivered[1]!;
    cyrillic = delivered.slice(2);
    flow = await connectImapflow(mailroom.imapPort);
    client = flow.client;
  });

  afterEach(async () => {
    for (const other of extra.splice(0)) await other.logout().catch(() => other.close());
  });

  afterAll(async () => {
    await client?.logout().catch(() => client.close());
    await mailroom?.cleanup();
  });

  it('lists the mailboxes with their special-use flags', async () => {
    const boxes = await client.list();

    const byPath = new Map(boxes.map((box) => [box.path, box]));
    expect([...byPath.keys()]).toEqual(
      expect.arrayContaining(['INBOX', 'Sent', 'Drafts', 'Trash', 'Junk', 'Archive']),
    );
    expect(byPath.get('Sent')!.specialUse).toBe('\\Sent');
    expect(byPath.get('Drafts')!.specialUse).toBe('\\Drafts');
    expect(byPath.get('Trash')!.specialUse).toBe('\\Trash');
    expect(byPath.get('Junk')!.specialUse).toBe('\\Junk');
    expect(byPath.get('Archive')!.specialUse).toBe('\\Archive');
    // The server sends the attribute itself, not only imapflow's name-based guess.
    expect(byPath.get('Archive')!.flags.has('\\Archive')).toBe(true);
    expect(byPath.get('INBOX')!.delimiter).toBe('/');
  });

  it('opens INBOX with the counts and UIDs the store has', async () => {
    const stored = await mailroom.embedded.store.getMailbox(DEMO, 'INBOX');

    const box = await client.mailboxOpen('INBOX');

    expect(box.path).toBe('INBOX');
    expect(box.exists).toBe(stored!.messages);
    expect(box.uidValidity).toBe(BigInt(stored!.uidValidity));
    expect(box.uidNext).toBe(stored!.uidNext);
    expect(box.readOnly).toBe(false);
  });

  it('fetches ENVELOPE and BODYSTRUCTURE', async () => {
    await client.mailboxOpen('INBOX');

    const message = await client.fetchOne(
      String(multipart.uid),
      { uid: true, envelope: true, bodyStructure: true, size: true },
      { uid: true },
    );

    expect(message).not.toBe(false);
    if (!message) return;
    expect(message.uid).toBe(multipart.uid);
    expect(message.size).toBe(multipart.size);
    expect(message.envelope!.subject).toBe(multipart.summary.subject);
    expect(message.envelope!.messageId).toBe(multipart.summary.messageId);
    expect(message.envelope!.from).toEqual([{ name: 'Sender', address: 'sender@sender.test' }]);
    expect(message.envelope!.to).toEqual([{ name: '', address: DEMO }]);
    const structure = message.bodyStructure!;
    expect(structure.type).toBe('multipart/mixed');
    expect(structure.childNodes!.map((node) => node.type)).toEqual([
      'text/plain',
      'application/octet-stream',
    ]);
    expect(structure.childNodes![0]!.part).toBe('1');
    expect(structure.childNodes![0]!.parameters).toEqual({ charset: 'us-ascii' });
    expect(structure.childNodes![1]!.disposition).toBe('attachment');
    expect(structure.childNodes![1]!.dispositionParameters).toEqual({ filename: 'data.bin' });
    expect(structure.childNodes![1]!.encoding).toBe('base64');
  });

  it('fetches one body part, a byte range of it, and a range of the whole message', async () => {
    await client.mailboxOpen('INBOX');
    const raw = await storedRaw(mailroom, multipart);

    const whole = await client.fetchOne(String(multipart.uid), { bodyParts: ['1'] }, { uid: true });
    const ranged = await client.fetchOne(
      String(multipart.uid),
      { bodyParts: [{ key: '1', start: 17, maxLength: 10 }] },
      { uid: true },
    );
    const source = await client.fetchOne(
      String(multipart.uid),
      { source: { start: 5, maxLength: 20 } },
      { uid: true },
    );
    const attachment = await client.download(String(multipart.uid), '2', { uid: true });
    const chunks: Buffer[] = [];
    if (attachment.content) for await (const chunk of attachment.content) chunks.push(chunk as Buffer);

    expect(whole && whole.bodyParts?.get('1')?.toString('latin1')).toBe(PART_TEXT);
    expect(ranged && ranged.bodyParts?.get('1')?.toString('latin1')).toBe('0123456789');
    expect(source && source.source?.equals(raw.subarray(5, 25))).toBe(true);
    expect(Buffer.concat(chunks).toString()).toBe('0123456789');
    expect(attachment.meta?.filename).toBe('data.bin');
    // All of that was a peek: BODY.PEEK / BINARY.PEEK never set \Seen.
    const flags = (await mailroom.embedded.store.getMessage(DEMO, 'INBOX', multipart.uid))!.flags;
    expect(flags).not.toContain('\\Seen');
  });

  it('reads Cyrillic subjects from KOI8-R, windows-1251 and UTF-8 mail', async () => {
    await client.mailboxOpen('INBOX');

    const got = new Map<number, string | undefined>();
    for await (const message of client.fetch(
      cyrillic.map((m) => m.uid),
      { envelope: true },
      { uid: true },
    )) {
      got.set(message.uid, message.envelope?.subject);
    }

    expect(cyrillic.map((meta) => got.get(meta.uid))).toEqual(cyrillicTags.map((tag) => `${SUBJECT} ${tag}`));
  });

  it('finds Cyrillic text in the body and subject, whatever charset it came in', async () => {
    await client.mailboxOpen('INBOX');
    const wanted = cyrillic.map((m) => m.uid).sort((a, b) => a - b);

    const byBody = await client.search({ body: 'привет' }, { uid: true });
    const byBodyUpper = await client.search({ body: 'ПРИВЕТ' }, { uid: true });
    const bySubject = await client.search({ subject: 'Отчёт' }, { uid: true });
    const bySubjectLower = await client.search({ subject: 'отчёт за' }, { uid: true });
    const nothing = await client.search({ body: 'пока' }, { uid: true });

    expect(byBody).toEqual(wanted);
    expect(byBodyUpper).toEqual(wanted);
    expect(bySubject).toEqual(wanted);
    expect(bySubjectLower).toEqual(wanted);
    expect(nothing).toEqual([]);
  });

  it('adds and removes flags and keywords', async () => {
    await client.mailboxOpen('INBOX');
    const uid = String(plain.uid);

    const added = await client.messageFlagsAdd(uid, ['\\Flagged', '$Label1'], { uid: true });
    const afterAdd = await client.fetchOne(uid, { flags: true }, { uid: true });
    const storedAfterAdd = (await mailroom.embedded.store.getMessage(DEMO, 'INBOX', plain.uid))!.flags;
    const removed = await client.messageFlagsRemove(uid, ['\\Flagged'], { uid: true });
    const afterRemove = await client.fetchOne(uid, { flags: true }, { uid: true });
    const storedAfterRemove = (await mailroom.embedded.store.getMessage(DEMO, 'INBOX', plain.uid))!.flags;

    expect(added).toBe(true);
    expect(removed).toBe(true);
    expect(afterAdd && [...afterAdd.flags!].sort()).toEqual(['$Label1', '\\Flagged']);
    expect(storedAfterAdd.sort()).toEqual(['$Label1', '\\Flagged']);
    expect(afterRemove && [...afterRemove.flags!]).toEqual(['$Label1']);
    expect(storedAfterRemove).toEqual(['$Label1']);
  });

  it('moves a message to Archive and reports the new UID (COPYUID)', async () => {
    const tag = uniqueTag('move');
    const [meta] = await deliver(mailroom, [plainMessage(tag)]);
    await client.mailboxOpen('INBOX');
    const archiveBefore = await mailroom.embedded.store.getMailbox(DEMO, 'Archive');

    const result = await client.messageMove(String(meta!.uid), 'Archive', { uid: true });

    expect(result).not.toBe(false);
    if (!result) return;
    expect(result.destination).toBe('Archive');
    expect(result.uidValidity).toBe(BigInt(archiveBefore!.uidValidity));
    const newUid = result.uidMap?.get(meta!.uid);
    expect(newUid).toBe(archiveBefore!.uidNext);
    const archived = await mailroom.embedded.store.getMessage(DEMO, 'Archive', newUid!);
    expect(archived?.summary.messageId).toBe(`<${tag}@sender.test>`);
    expect(await mailroom.embedded.store.getMessage(DEMO, 'INBOX', meta!.uid)).toBeUndefined();
    // The client's own view lost the message too (EXPUNGE after the COPYUID).
    expect(await client.search({ uid: String(meta!.uid) }, { uid: true })).toEqual([]);
  });

  it('appends to Sent and gets the new UID (APPENDUID)', async () => {
    const tag = uniqueTag('append');
    const raw = plainMessage(tag, 'Sent from imapflow.\r\n');
    const sent = await mailroom.embedded.store.getMailbox(DEMO, 'Sent');

    const result = await client.append('Sent', raw, ['\\Seen'], new Date('2024-03-04T05:06:07Z'));

    expect(result).not.toBe(false);
    if (!result) return;
    expect(result.destination).toBe('Sent');
    expect(result.uid).toBe(sent!.uidNext);
    expect(result.uidValidity).toBe(BigInt(sent!.uidValidity));
    const stored = await mailroom.embedded.store.getMessage(DEMO, 'Sent', result.uid!);
    expect(stored?.summary.messageId).toBe(`<${tag}@sender.test>`);
    expect(stored?.flags).toEqual(['\\Seen']);
    expect(stored?.internalDate).toBe(Date.parse('2024-03-04T05:06:07Z'));
    expect((await mailroom.embedded.blobs.getBuffer(stored!.blobKey)).equals(raw)).toBe(true);
  });

  it('tells an IDLE client about mail delivered through SMTP within 1 s', async () => {
    const { client: idler, nextIdle } = await connectImapflow(mailroom.imapPort);
    extra.push(idler);
    // imapflow keeps updating the object it returned: copy what it says now.
    const { exists: before, uidNext } = await idler.mailboxOpen('INBOX');
    const idleStarted = nextIdle();
    const idling = idler.idle();
    await idleStarted;
    const exists = new Promise<ExistsEvent & { at: number }>((resolve) =>
      idler.once('exists', (event) => resolve({ ...event, at: Date.now() })),
    );

    const sentAt = Date.now();
    const [meta] = await deliver(mailroom, [plainMessage(uniqueTag('idle'))]);
    const event = await Promise.race([
      exists,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no EXISTS within 1 s')), 1000)),
    ]);

    expect(event.path).toBe('INBOX');
    expect(event.prevCount).toBe(before);
    expect(event.count).toBe(before + 1);
    expect(event.at - sentAt).toBeLessThan(1000);
    expect(meta!.uid).toBeGreaterThanOrEqual(uidNext);
    await idler.noop();
    await idling;
  });
});
