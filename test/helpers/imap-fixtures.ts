import { spawn } from 'node:child_process';
import nodemailer from 'nodemailer';
import iconv from 'iconv-lite';
import { ImapFlow, type ImapFlowEvents, type ImapFlowOptions } from 'imapflow';
import type { MessageMeta } from '../../lib/store/types.js';
import { DEMO_PASSWORD, eventually, type TestMailroom } from './mailroom.js';

export const DEMO = 'demo@example.test';
export { DEMO_PASSWORD };

let counter = 0;

/** A unique tag for subjects and Message-IDs, so tests in one mailbox never mix messages up. */
export function uniqueTag(prefix = 'm'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/** A plain ASCII text/plain message; its Message-ID is `<tag@sender.test>`. */
export function plainMessage(tag: string, body = `Body of ${tag}.\r\n`, subject = `Subject ${tag}`): Buffer {
  return Buffer.from(
    [
      'From: Sender <sender@sender.test>',
      `To: ${DEMO}`,
      `Subject: ${subject}`,
      'Date: Tue, 02 Jan 2024 03:04:05 +0000',
      `Message-ID: <${tag}@sender.test>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
      'Content-Transfer-Encoding: 7bit',
      '',
      body,
    ].join('\r\n'),
    'latin1',
  );
}

/**
 * A two-part message (text and a small attachment) whose first part begins with `text`:
 * what partial fetches and BODYSTRUCTURE tests look at.
 */
export function multipartMessage(tag: string, text: string, subject = `Multipart ${tag}`): Buffer {
  return Buffer.from(
    [
      'From: Sender <sender@sender.test>',
      `To: ${DEMO}`,
      `Subject: ${subject}`,
      'Date: Tue, 02 Jan 2024 03:04:05 +0000',
      `Message-ID: <${tag}@sender.test>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=us-ascii',
      'Content-Transfer-Encoding: 7bit',
      '',
      text,
      '--b1',
      'Content-Type: application/octet-stream; name="data.bin"',
      'Content-Disposition: attachment; filename="data.bin"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('0123456789').toString('base64'),
      '--b1--',
      '',
    ].join('\r\n'),
    'latin1',
  );
}

/**
 * Cyrillic mail as an old client in `charset` writes it (as test/e2e/cyrillic.test.ts does):
 * RFC 2047 subject and sender name, the text 8bit in the charset's own bytes.
 */
export function cyrillicMessage(charset: string, tag: string, subject: string, text: string): Buffer {
  const enc = (s: string) => iconv.encode(s, charset);
  const word = (s: string) => `=?${charset}?B?${enc(s).toString('base64')}?=`;
  const head = [
    `From: ${word('Иван Петров')} <ivan@sender.test>`,
    `To: ${DEMO}`,
    `Subject: ${word(subject)} ${tag}`,
    'Date: Tue, 02 Jan 2024 03:04:05 +0000',
    `Message-ID: <${tag}@sender.test>`,
    'MIME-Version: 1.0',
    `Content-Type: text/plain; charset=${charset}`,
    'Content-Transfer-Encoding: 8bit',
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), enc(text)]);
}

/** The Message-ID (without brackets' content check) a raw message declares. */
function messageIdOf(raw: Buffer): string {
  const match = /^Message-ID:\s*(<[^>\r\n]+>)/im.exec(raw.toString('latin1'));
  if (!match) throw new Error('fixture message has no Message-ID');
  return match[1]!;
}

/**
 * Sends each raw message through the MX port (one SMTP transaction each) and waits until
 * ingest has stored all of them in `mailbox` of the demo account. Returns the stored
 * records in the order given.
 */
export async function deliver(
  mailroom: Pick<TestMailroom, 'smtpPort' | 'embedded'>,
  raws: Buffer[],
  mailbox = 'INBOX',
  timeoutMs = 10_000,
): Promise<MessageMeta[]> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: mailroom.smtpPort,
    secure: false,
    ignoreTLS: true,
  });
  try {
    for (const raw of raws) {
      await transport.sendMail({ envelope: { from: 'sender@sender.test', to: [DEMO] }, raw });
    }
  } finally {
    transport.close();
  }
  return waitStored(mailroom, raws.map(messageIdOf), mailbox, timeoutMs);
}

/** Waits until messages with these Message-IDs are in the mailbox; returns them in that order. */
export async function waitStored(
  mailroom: Pick<TestMailroom, 'embedded'>,
  messageIds: string[],
  mailbox = 'INBOX',
  timeoutMs = 10_000,
): Promise<MessageMeta[]> {
  return eventually(async () => {
    const all = await mailroom.embedded.store.listMessages(DEMO, mailbox);
    const found = messageIds.map((id) => all.find((m) => m.summary.messageId === id));
    return found.every((m) => m !== undefined) ? (found as MessageMeta[]) : undefined;
  }, timeoutMs);
}

/** The bytes the store serves for a message: its blob (the received message plus our trace header). */
export function storedRaw(mailroom: Pick<TestMailroom, 'embedded'>, meta: MessageMeta): Promise<Buffer> {
  return mailroom.embedded.blobs.getBuffer(meta.blobKey);
}

export interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a program to completion (never through a shell), with a hard timeout. */
export function run(
  command: string,
  args: string[],
  options: { input?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} timed out after ${options.timeoutMs ?? 20_000} ms; stderr: ${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

export interface FlowClient {
  client: ImapFlow;
  /** Resolves when the server has answered the next IDLE with its continuation ("+ idling"). */
  nextIdle(): Promise<void>;
}

/**
 * An imapflow client logged in as the demo account over plain text (the test server has no
 * TLS and allows LOGIN on loopback). Auto-IDLE is off: tests start IDLE when they mean to.
 */
export async function connectImapflow(
  port: number,
  options: Partial<ImapFlowOptions> = {},
): Promise<FlowClient> {
  let waiters: (() => void)[] = [];
  const onLog = (entry: { msg?: unknown }) => {
    // imapflow logs this when the server's "+" to IDLE arrives (commands/idle.js).
    if (entry.msg === 'Initiated IDLE, waiting for server input') {
      const ready = waiters;
      waiters = [];
      for (const resolve of ready) resolve();
    }
  };
  const quiet = () => undefined;
  const client = new ImapFlow({
    host: '127.0.0.1',
    port,
    secure: false,
    auth: { user: DEMO, pass: DEMO_PASSWORD },
    disableAutoIdle: true,
    logger: { debug: onLog, info: quiet, warn: quiet, error: quiet, trace: quiet },
    ...options,
  });
  // An 'error' event without a listener would crash the test worker.
  client.on('error', () => undefined);
  await client.connect();
  return {
    client,
    nextIdle: () => new Promise<void>((resolve) => waiters.push(resolve)),
  };
}

/**
 * The next `event` from an imapflow client that passes `match`, with the time it arrived;
 * rejects after timeoutMs. Listen before acting, so nothing is missed.
 */
export function nextEvent<E extends 'exists' | 'expunge' | 'flags'>(
  client: ImapFlow,
  event: E,
  match: (data: ImapFlowEvents[E][0]) => boolean = () => true,
  timeoutMs = 1000,
): Promise<{ data: ImapFlowEvents[E][0]; at: number }> {
  return new Promise((resolve, reject) => {
    const listener = (data: ImapFlowEvents[E][0]) => {
      if (!match(data)) return;
      clearTimeout(timer);
      client.off(event, listener);
      resolve({ data, at: Date.now() });
    };
    const timer = setTimeout(() => {
      client.off(event, listener);
      reject(new Error(`no matching '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    client.on(event, listener);
  });
}
