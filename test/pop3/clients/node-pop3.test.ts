import Pop3Command from 'node-pop3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD, startTestMailroom, type TestMailroom } from '../../helpers/mailroom.js';
import {
  DEMO,
  cyrillicMessage,
  deliver,
  multipartMessage,
  plainMessage,
  storedRaw,
  uniqueTag,
} from '../../helpers/imap-fixtures.js';
import type { MessageMeta } from '../../../lib/store/types.js';

/*
 * node-pop3: the promise-based POP3 client on npm that Node mail tools pick up. It is a
 * thin one: it logs in with USER/PASS, hands back multi-line bodies as UTF-8 strings with
 * the byte-stuffing still in place, and finds the end of a body by looking at the end of
 * each TCP chunk it reads. So what it returns shows the wire itself: dots doubled, every
 * line CRLF. Where a chunk ends with the message's last CRLF and the terminator together,
 * it cuts that CRLF off along with the "." line; where the terminator comes on its own, the
 * CRLF stays. Which happens depends on timing, so a body may come back either way
 * (poplib.test.ts and curl.test.ts hold the last bytes to account).
 */

const DOTTED_BODY = '.starts with a dot\r\n..starts with two\r\n.\r\nafter a lone dot\r\n';

/** RFC 1939 §3: a line that starts with "." goes out with another "." in front. */
function stuffed(text: string): string {
  return text.replace(/^\./gm, '..');
}

/** What node-pop3 returns for a body that ends in CRLF: all of it, or all but that CRLF (see above). */
function asReturned(body: string): string[] {
  expect(body.endsWith('\r\n')).toBe(true);
  return [body, body.slice(0, -2)];
}

function connect(port: number, password = DEMO_PASSWORD): Pop3Command {
  const client = new Pop3Command({ host: '127.0.0.1', port, user: DEMO, password, timeout: 10_000 });
  // It emits 'error' for any -ERR outside a command (a server shutting down): never crash the worker.
  client.on('error', () => undefined);
  return client;
}

describe('node-pop3 against the Mailroom POP3 server', () => {
  let mailroom: TestMailroom;
  let delivered: MessageMeta[];
  /** The stored messages, as node-pop3 decodes them (UTF-8). */
  let texts: string[];
  let uidValidity: number;

  beforeAll(async () => {
    mailroom = await startTestMailroom();
    const tag = uniqueTag('nodepop3');
    delivered = await deliver(mailroom, [
      plainMessage(`${tag}-plain`),
      plainMessage(`${tag}-dots`, DOTTED_BODY),
      // UTF-8, since node-pop3 decodes every body as UTF-8 (KOI8-R would not survive it).
      cyrillicMessage('utf-8', `${tag}-utf8`, 'Отчёт за ноябрь', 'Привет из UTF-8.\r\n'),
      multipartMessage(`${tag}-multi`, 'Part one, read by node-pop3.'),
    ]);
    texts = await Promise.all(delivered.map(async (m) => (await storedRaw(mailroom, m)).toString('utf8')));
    uidValidity = (await mailroom.embedded.store.getMailbox(DEMO, 'INBOX'))!.uidValidity;
  });

  afterAll(async () => {
    await mailroom?.cleanup();
  });

  it('reads STAT, LIST and UIDL that agree with the store', async () => {
    const client = connect(mailroom.pop3Port);
    try {
      const stat = await client.STAT();
      const list = (await client.LIST()) as string[][];
      const uidl = (await client.UIDL()) as string[][];
      const one = (await client.UIDL(2)) as string[];
      const size = (await client.LIST(4)) as string[];

      const octets = delivered.reduce((sum, m) => sum + m.size, 0);
      expect(stat).toBe(`${delivered.length} ${octets}`);
      expect(list).toEqual(delivered.map((m, i) => [String(i + 1), String(m.size)]));
      expect(uidl).toEqual(delivered.map((m, i) => [String(i + 1), `${uidValidity}.${m.uid}`]));
      expect(one).toEqual(['2', `${uidValidity}.${delivered[1]!.uid}`]);
      expect(size).toEqual(['4', String(delivered[3]!.size)]);
    } finally {
      await client.QUIT();
    }
  });

  it('retrieves every message as stored, with leading dots stuffed on the wire', async () => {
    const client = connect(mailroom.pop3Port);
    try {
      for (const [i, text] of texts.entries()) {
        const got = await client.RETR(i + 1);
        expect(asReturned(stuffed(text)), `message ${i + 1}`).toContain(got);
      }
      // Only the dotted message has lines to stuff: the others came back unchanged.
      expect(stuffed(texts[1]!)).toContain('\r\n\r\n..starts with a dot\r\n...starts with two\r\n..\r\n');
      expect(texts.filter((t, i) => i !== 1).every((t) => stuffed(t) === t)).toBe(true);
    } finally {
      await client.QUIT();
    }
  });

  it('answers TOP with the header, and as many body lines as asked', async () => {
    const client = connect(mailroom.pop3Port);
    try {
      const top0 = await client.TOP(2, 0);
      const top2 = await client.TOP(2, 2);

      const text = texts[1]!;
      const header = text.slice(0, text.indexOf('\r\n\r\n') + 4);
      expect(asReturned(header)).toContain(top0);
      expect(asReturned(header + '..starts with a dot\r\n...starts with two\r\n')).toContain(top2);
    } finally {
      await client.QUIT();
    }
  });

  it('deletes at QUIT exactly the messages marked with DELE', async () => {
    const client = connect(mailroom.pop3Port);
    let quit: string;
    try {
      expect(await client.DELE(1)).toBe('Message 1 deleted');
      expect(await client.DELE(3)).toBe('Message 3 deleted');
      expect(await client.STAT()).toBe(`2 ${delivered[1]!.size + delivered[3]!.size}`);
    } finally {
      quit = await client.QUIT();
    }

    expect(quit).toMatch(/ signing off \(2 messages deleted\)$/);
    const inbox = await mailroom.embedded.store.listMessages(DEMO, 'INBOX');
    expect(inbox.map((m) => m.uid)).toEqual([delivered[1]!.uid, delivered[3]!.uid]);
    const again = connect(mailroom.pop3Port);
    try {
      expect(await again.UIDL()).toEqual([
        ['1', `${uidValidity}.${delivered[1]!.uid}`],
        ['2', `${uidValidity}.${delivered[3]!.uid}`],
      ]);
    } finally {
      await again.QUIT();
    }
  });

  it('rejects a wrong password with the AUTH response code', async () => {
    const client = connect(mailroom.pop3Port, 'wrong-password');
    try {
      await expect(client.STAT()).rejects.toThrow('[AUTH] Invalid user name or password');
    } finally {
      await client.QUIT();
    }
  });
});
