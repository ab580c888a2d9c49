import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMailroom, type TestMailroom } from '../../helpers/mailroom.js';
import {
  DEMO,
  DEMO_PASSWORD,
  cyrillicMessage,
  deliver,
  multipartMessage,
  plainMessage,
  run,
  storedRaw,
  uniqueTag,
} from '../../helpers/imap-fixtures.js';
import type { MessageMeta } from '../../../lib/store/types.js';

/*
 * curl's POP3 support (RFC 2384 URLs): what shell scripts and monitoring probes use.
 * `pop3://host/` is LIST, `pop3://host/n` is RETR n, and -X sends any other command,
 * whose reply curl reads as a multi-line response; with -I (no body) it reads a
 * single-line one, as DELE gives. curl logs in with AUTH PLAIN since CAPA offers SASL
 * PLAIN, answering the "+ " continuation (or on the command line with --sasl-ir), undoes
 * the byte-stuffing and prints the body without the terminating ".", and sends QUIT when
 * it is done.
 */

const CURL = '/usr/bin/curl';

const DOTTED_BODY = '.starts with a dot\r\n..starts with two\r\n.\r\nafter a lone dot\r\n';

describe.skipIf(!existsSync(CURL) && !process.env.CI)('curl against the Mailroom POP3 server', () => {
  let mailroom: TestMailroom;
  let base: string;
  let delivered: MessageMeta[];
  let raws: Buffer[];
  let uidValidity: number;

  function curl(url: string, ...args: string[]) {
    return run(CURL, ['-s', '-S', '--max-time', '10', '-u', `${DEMO}:${DEMO_PASSWORD}`, ...args, url]);
  }

  beforeAll(async () => {
    mailroom = await startTestMailroom();
    base = `pop3://127.0.0.1:${mailroom.pop3Port}`;
    const tag = uniqueTag('curl');
    delivered = await deliver(mailroom, [
      plainMessage(`${tag}-plain`),
      plainMessage(`${tag}-dots`, DOTTED_BODY),
      cyrillicMessage('windows-1251', `${tag}-1251`, 'Отчёт за ноябрь', 'Привет из windows-1251.\r\n'),
      multipartMessage(`${tag}-multi`, 'Part one, fetched by curl.'),
    ]);
    raws = await Promise.all(delivered.map((m) => storedRaw(mailroom, m)));
    uidValidity = (await mailroom.embedded.store.getMailbox(DEMO, 'INBOX'))!.uidValidity;
  });

  afterAll(async () => {
    await mailroom?.cleanup();
  });

  it('lists the messages with their exact sizes', async () => {
    const result = await curl(`${base}/`);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.toString()).toBe(raws.map((raw, i) => `${i + 1} ${raw.length}\r\n`).join(''));
  });

  it('retrieves each message byte for byte, dots unstuffed, and QUIT marks it \\Seen', async () => {
    for (const [i, raw] of raws.entries()) {
      const result = await curl(`${base}/${i + 1}`);

      expect(result.code).toBe(0);
      expect(result.stdout.equals(raw), `message ${i + 1}`).toBe(true);
    }
    expect(raws[1]!.toString('latin1')).toContain(`\r\n\r\n${DOTTED_BODY}`);
    const inbox = await mailroom.embedded.store.listMessages(DEMO, 'INBOX');
    expect(inbox.map((m) => m.flags)).toEqual(raws.map(() => ['\\Seen']));
  });

  it('sends UIDL with -X: UIDVALIDITY.UID for every message', async () => {
    const result = await curl(`${base}/`, '-X', 'UIDL');

    expect(result.code).toBe(0);
    expect(result.stdout.toString()).toBe(
      delivered.map((m, i) => `${i + 1} ${uidValidity}.${m.uid}\r\n`).join(''),
    );
  });

  it('sends TOP with -X: the header and the empty line, then the lines asked for', async () => {
    const text = raws[1]!.toString('latin1');
    const header = text.slice(0, text.indexOf('\r\n\r\n') + 4);

    const top0 = await curl(`${base}/`, '-X', 'TOP 2 0');
    const top3 = await curl(`${base}/`, '-X', 'TOP 2 3');

    expect(top0.code).toBe(0);
    expect(top0.stdout.toString('latin1')).toBe(header);
    expect(top3.code).toBe(0);
    expect(top3.stdout.toString('latin1')).toBe(header + '.starts with a dot\r\n..starts with two\r\n.\r\n');
  });

  it('logs in with the AUTH PLAIN initial response too (--sasl-ir)', async () => {
    const result = await curl(`${base}/3`, '--sasl-ir');

    expect(result.code).toBe(0);
    expect(result.stdout.equals(raws[2]!)).toBe(true);
  });

  it('fails with "login denied" on a wrong password, and on a message that does not exist', async () => {
    const wrong = await run(CURL, ['-s', '--max-time', '10', '-u', `${DEMO}:wrong`, `${base}/1`]);
    const missing = await curl(`${base}/${raws.length + 1}`);

    expect(wrong.code).toBe(67);
    expect(wrong.stdout.length).toBe(0);
    // RETR of a message that is not there: -ERR, which curl calls a weird server reply.
    expect(missing.code).toBe(8);
    expect(missing.stdout.length).toBe(0);
  });

  it('deletes with -X DELE (and -I, as DELE answers on one line), committed by its QUIT', async () => {
    const result = await curl(`${base}/`, '-I', '-X', 'DELE 1');

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBe(0);
    const inbox = await mailroom.embedded.store.listMessages(DEMO, 'INBOX');
    expect(inbox.map((m) => m.uid)).toEqual(delivered.slice(1).map((m) => m.uid));
    // The maildrop is numbered afresh in the next session.
    const list = await curl(`${base}/`);
    expect(list.stdout.toString()).toBe(
      raws
        .slice(1)
        .map((raw, i) => `${i + 1} ${raw.length}\r\n`)
        .join(''),
    );
  });
});
