import { randomBytes, scryptSync } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BlobStore } from '../lib/blob/types.js';
import type { NewMessage, Store } from '../lib/store/types.js';
import { parseMessage } from '../lib/mail/parse.js';
import { newQueueId, rawBlobKey } from '../lib/smtp/ids.js';
import { maildirName } from './imap-dovecot.js';
import { makeMessageFactory } from './message.js';

/*
 * The same messages into both servers, each through its own fast path rather than
 * through IMAP APPEND (100,000 APPENDs would take longer than the rest of the bench):
 *  - Mailroom: the raw message into the BlobStore, then MailStore.appendMessage with the
 *    parse result, as ingest files a message (lib/ingest/service.ts);
 *  - Dovecot: one file per message in Maildir/cur, as a delivery agent would leave it.
 *    Dovecot assigns UIDs and builds its index at the first SELECT, which the bench
 *    does (and times) before measuring anything.
 */

/**
 * A scrypt hash in lib/auth/password.ts's format (`scrypt$N$r$p$salt$hash`), with N=16,
 * r=1, p=1: verifyPassword reads the parameters from the hash, so LOGIN on the bench
 * accounts costs microseconds, as Dovecot's {PLAIN} does, and the load phase measures
 * the IMAP server rather than the key derivation (bench/README.md, "LOGIN").
 */
export function lightPasswordHash(password: string): string {
  const params = { N: 16, r: 1, p: 1 };
  const salt = randomBytes(16);
  const key = scryptSync(password.normalize('NFC'), salt, 32, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/**
 * The load phase's messages: the SMTP bench's (bench/message.ts) at about `bytes` each,
 * Subject "Quarterly report, revision <index>", made once so both servers get the very
 * same octets.
 */
export function loadMessages(count: number, bytes: number, to: string): Buffer[] {
  const make = makeMessageFactory(bytes, to);
  return Array.from({ length: count }, (_, index) => make(index));
}

/**
 * Files raw messages into the INBOX of each account the way ingest does: the blob first
 * (one put, shared by the accounts, as a message for several recipients is), then the
 * parsed message.
 */
export async function seedMailroom(
  store: Store,
  blobs: BlobStore,
  accounts: string[],
  messages: Buffer[],
  internalDate: number,
): Promise<void> {
  for (const raw of messages) {
    const blobKey = rawBlobKey(newQueueId(), new Date(internalDate));
    await blobs.put(blobKey, raw);
    const parsed = await parseMessage(raw);
    for (const account of accounts) {
      await store.appendMessage(account, 'INBOX', {
        blobKey,
        size: raw.length,
        internalDate,
        flags: [],
        structure: parsed.structure,
        summary: parsed.summary,
        headerText: parsed.headerText,
        bodyText: parsed.bodyText,
      });
    }
  }
}

/**
 * Small messages (about 1 KB) for the big mailbox, made from one template: a placeholder
 * of fixed width stands where the index goes, so every message has the same length and
 * the same MIME offsets, and its parse result is the template's with the placeholder
 * replaced. Parsing 100,000 messages one by one would take minutes; this takes seconds.
 */
export class SmallMessages {
  readonly width: number;
  private readonly placeholder: string;
  private readonly template: string;

  constructor(
    count: number,
    to: string,
    private readonly date: Date,
  ) {
    this.width = Math.max(6, String(count).length);
    this.placeholder = 'Q'.repeat(this.width);
    const words = 'status update from the build farm all checks passed nothing to do here'.split(' ');
    const body: string[] = [];
    for (let line = 0; body.join('\r\n').length < 700; line++) {
      body.push(Array.from({ length: 10 }, (_, i) => words[(line + i) % words.length]).join(' '));
    }
    this.template = [
      'From: "Build Farm" <builds@sender.example>',
      `To: <${to}>`,
      `Subject: Build report ${this.placeholder}`,
      `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <${this.placeholder}.build@sender.example>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
      'Content-Transfer-Encoding: 7bit',
      '',
      ...body,
      '',
    ].join('\r\n');
  }

  raw(index: number): Buffer {
    return Buffer.from(this.template.replaceAll(this.placeholder, this.number(index)), 'latin1');
  }

  /** A function from index to the NewMessage fields the parser would have produced. */
  async parsed(): Promise<(index: number, blobKey: string) => NewMessage> {
    const raw = Buffer.from(this.template, 'latin1');
    const parsed = await parseMessage(raw);
    const json = JSON.stringify({
      structure: parsed.structure,
      summary: parsed.summary,
      headerText: parsed.headerText,
      bodyText: parsed.bodyText,
    });
    if (!parsed.summary.subject.includes(this.placeholder)) {
      throw new Error('the template of the big mailbox did not parse as expected');
    }
    const internalDate = this.date.getTime();
    return (index, blobKey) => ({
      ...(JSON.parse(json.replaceAll(this.placeholder, this.number(index))) as Pick<
        NewMessage,
        'structure' | 'summary' | 'headerText' | 'bodyText'
      >),
      blobKey,
      size: raw.length,
      internalDate,
      flags: [],
    });
  }

  private number(index: number): string {
    return String(index).padStart(this.width, '0');
  }
}

/**
 * Fills a mailbox with `count` small messages, one store transaction per message as ingest
 * does. The blobs are written straight into FsBlobStore's layout (`<root>/<key>`), several
 * at a time while the store appends, without the two fsyncs of a put: with them the seed
 * took over two minutes here. Nothing is measured while seeding; the bench checks that the
 * store finds the blobs where they were written.
 */
export async function seedMailroomBig(
  store: Store,
  blobs: BlobStore,
  blobsRoot: string,
  account: string,
  messages: SmallMessages,
  count: number,
  onProgress: (done: number) => boolean,
): Promise<void> {
  const make = await messages.parsed();
  const writes = new Set<Promise<unknown>>();
  const dirs = new Set<string>();
  const day = new Date();
  let firstKey: string | undefined;
  for (let index = 0; index < count; index++) {
    const blobKey = rawBlobKey(newQueueId(), day);
    firstKey ??= blobKey;
    const path = join(blobsRoot, blobKey);
    const dir = dirname(path);
    if (!dirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      dirs.add(dir);
    }
    const write = writeFile(path, messages.raw(index)).finally(() => writes.delete(write));
    writes.add(write);
    await store.appendMessage(account, 'INBOX', make(index, blobKey));
    if (writes.size >= 64) await Promise.race(writes);
    if (index % 1000 === 999 && !onProgress(index + 1)) break;
  }
  await Promise.all(writes);
  if (firstKey && !(await blobs.head(firstKey))) {
    throw new Error(`the blob store does not find ${firstKey} where the seed wrote it (${blobsRoot})`);
  }
}

/** Writes messages into Maildir/cur, several files at a time. */
export async function writeMaildir(
  maildir: string,
  count: number,
  raw: (index: number) => Buffer,
  onProgress: (done: number) => boolean = () => true,
): Promise<void> {
  // In the past, one second apart: Dovecot orders new files by this number (see maildirName).
  const baseSeconds = Math.floor(Date.now() / 1000) - count - 86_400;
  const writes = new Set<Promise<void>>();
  for (let index = 0; index < count; index++) {
    const body = raw(index);
    const write = writeFile(join(maildir, 'cur', maildirName(index, body.length, baseSeconds)), body).finally(
      () => writes.delete(write),
    );
    writes.add(write);
    if (writes.size >= 64) await Promise.race(writes);
    if (index % 1000 === 999 && !onProgress(index + 1)) break;
  }
  await Promise.all(writes);
}
