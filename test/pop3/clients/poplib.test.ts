import { spawnSync } from 'node:child_process';
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
 * Python's poplib: the standard library client under getmail and many a mail-fetching
 * script. It reads replies line by line, undoes byte-stuffing and counts octets itself,
 * so what it returns is what a careful client makes of our bytes. It has no AUTH helper:
 * AUTH PLAIN goes out through _shortcmd, with the initial response on the command line
 * (RFC 5034 §4).
 */

const hasPython = spawnSync('python3', ['--version']).status === 0;

const DOTTED_BODY = '.starts with a dot\r\n..starts with two\r\n.\r\n. \r\nafter the dots\r\n';

/** Reads its orders as JSON on stdin, prints one JSON object; message bytes go as base64. */
const SCRIPT = String.raw`
import base64, json, poplib, sys

cfg = json.load(sys.stdin)
out = {}

def s(value):
    return value.decode('latin-1') if isinstance(value, bytes) else value

def joined(lines):
    # poplib strips each line's CRLF: put them back, the last one included.
    return base64.b64encode(b''.join(line + b'\r\n' for line in lines)).decode()

M = poplib.POP3('127.0.0.1', cfg['port'], timeout=10)
out['welcome'] = s(M.getwelcome())
out['capa'] = M.capa()
out['user'] = s(M.user(cfg['user']))
out['pass'] = s(M.pass_(cfg['password']))
out['stat'] = list(M.stat())
resp, lines, octets = M.list()
out['list'] = [s(resp), [s(l) for l in lines]]
resp, lines, octets = M.uidl()
out['uidl'] = [s(resp), [s(l) for l in lines]]
out['uidl_one'] = s(M.uidl(cfg['count']))
out['retr'] = []
for n in range(1, cfg['count'] + 1):
    resp, lines, octets = M.retr(n)
    out['retr'].append([s(resp), joined(lines), octets])
resp, lines, octets = M.top(cfg['top'], 0)
out['top0'] = [s(resp), joined(lines), s(lines[-1])]
resp, lines, octets = M.top(cfg['top'], 2)
out['top2'] = [s(resp), joined(lines)]
out['dele'] = [s(M.dele(n)) for n in cfg['dele']]
try:
    M.retr(cfg['dele'][0])
    out['retr_deleted'] = None
except poplib.error_proto as err:
    out['retr_deleted'] = s(err.args[0])
out['quit'] = s(M.quit())

# A second session, logged in with SASL PLAIN: the deletions were committed by QUIT.
M = poplib.POP3('127.0.0.1', cfg['port'], timeout=10)
token = base64.b64encode(('\0%s\0%s' % (cfg['user'], cfg['password'])).encode()).decode()
out['auth'] = s(M._shortcmd('AUTH PLAIN ' + token))
out['stat_after'] = list(M.stat())
resp, lines, octets = M.uidl()
out['uidl_after'] = [s(l) for l in lines]
out['quit_after'] = s(M.quit())

M = poplib.POP3('127.0.0.1', cfg['port'], timeout=10)
M.user(cfg['user'])
try:
    M.pass_('wrong-password')
    out['wrong'] = None
except poplib.error_proto as err:
    out['wrong'] = s(err.args[0])
M.quit()
print(json.dumps(out))
`;

interface PoplibOutput {
  welcome: string;
  capa: Record<string, string[]>;
  user: string;
  pass: string;
  stat: [number, number];
  list: [string, string[]];
  uidl: [string, string[]];
  uidl_one: string;
  retr: [string, string, number][];
  top0: [string, string, string];
  top2: [string, string];
  dele: string[];
  retr_deleted: string | null;
  quit: string;
  auth: string;
  stat_after: [number, number];
  uidl_after: string[];
  quit_after: string;
  wrong: string | null;
}

describe.skipIf(!hasPython && !process.env.CI)("python's poplib against the Mailroom POP3 server", () => {
  let mailroom: TestMailroom;
  let delivered: MessageMeta[];
  let raws: Buffer[];
  let uidValidity: number;
  let out: PoplibOutput;
  let stderr: string;
  /** 1-based message numbers that the first session deletes. */
  const DELE = [2, 5];
  /** The message whose header TOP reads: the one with leading dots in its body. */
  const TOP = 3;

  beforeAll(async () => {
    // Prepare: a maildrop of known messages, delivered through SMTP.
    mailroom = await startTestMailroom();
    const tag = uniqueTag('poplib');
    delivered = await deliver(mailroom, [
      plainMessage(`${tag}-plain`),
      multipartMessage(`${tag}-multi`, 'Part one, read by poplib.'),
      plainMessage(`${tag}-dots`, DOTTED_BODY),
      cyrillicMessage('koi8-r', `${tag}-koi8`, 'Отчёт за ноябрь', 'Привет из KOI8-R.\r\n'),
      cyrillicMessage('utf-8', `${tag}-utf8`, 'Отчёт за ноябрь', 'Привет из UTF-8.\r\n'),
    ]);
    raws = await Promise.all(delivered.map((m) => storedRaw(mailroom, m)));
    uidValidity = (await mailroom.embedded.store.getMailbox(DEMO, 'INBOX'))!.uidValidity;

    // Act: three poplib sessions, one after another.
    const result = await run('python3', ['-c', SCRIPT], {
      input: JSON.stringify({
        port: mailroom.pop3Port,
        user: DEMO,
        password: DEMO_PASSWORD,
        count: delivered.length,
        top: TOP,
        dele: DELE,
      }),
    });
    stderr = result.stderr;
    out = JSON.parse(result.stdout.toString() || 'null') as PoplibOutput;
  });

  afterAll(async () => {
    await mailroom?.cleanup();
  });

  it('runs every session without a Python exception', () => {
    expect(stderr).toBe('');
    expect(out).not.toBeNull();
  });

  it('reads the greeting and the capabilities, and logs in with USER/PASS', () => {
    expect(out.welcome).toMatch(/^\+OK .* Mailroom POP3 ready$/);
    expect(out.capa).toEqual({
      TOP: [],
      UIDL: [],
      'RESP-CODES': [],
      'AUTH-RESP-CODE': [],
      PIPELINING: [],
      USER: [],
      SASL: ['PLAIN'],
      IMPLEMENTATION: ['Mailroom'],
    });
    expect(out.user).toBe('+OK Send PASS');
    const octets = raws.reduce((sum, raw) => sum + raw.length, 0);
    expect(out.pass).toBe(`+OK Logged in, ${raws.length} messages (${octets} octets)`);
    expect(out.stat).toEqual([raws.length, octets]);
  });

  it('lists every message with its exact size, and UIDL as UIDVALIDITY.UID', () => {
    expect(out.list[1]).toEqual(raws.map((raw, i) => `${i + 1} ${raw.length}`));
    expect(delivered.map((m) => m.size)).toEqual(raws.map((raw) => raw.length));
    expect(out.uidl[1]).toEqual(delivered.map((m, i) => `${i + 1} ${uidValidity}.${m.uid}`));
    const last = delivered.length;
    expect(out.uidl_one).toBe(`+OK ${last} ${uidValidity}.${delivered[last - 1]!.uid}`);
  });

  it('retrieves every message byte for byte, leading dots and 8-bit Cyrillic included', () => {
    expect(out.retr).toHaveLength(raws.length);
    out.retr.forEach(([resp, body, octets], i) => {
      const raw = raws[i]!;
      expect(resp).toBe(`+OK ${raw.length} octets`);
      expect(Buffer.from(body, 'base64').equals(raw), `message ${i + 1}`).toBe(true);
      // poplib's own count of what it read, stuffing undone.
      expect(octets).toBe(raw.length);
    });
    expect(raws[TOP - 1]!.toString('latin1')).toContain(`\r\n\r\n${DOTTED_BODY}`);
  });

  it('answers TOP n 0 with the header and the empty line, and TOP n 2 with two body lines more', () => {
    const raw = raws[TOP - 1]!.toString('latin1');
    const header = raw.slice(0, raw.indexOf('\r\n\r\n') + 4);
    expect(out.top0[0]).toBe('+OK Top of message follows');
    expect(Buffer.from(out.top0[1], 'base64').toString('latin1')).toBe(header);
    expect(out.top0[2]).toBe('');
    expect(Buffer.from(out.top2[1], 'base64').toString('latin1')).toBe(
      header + '.starts with a dot\r\n..starts with two\r\n',
    );
  });

  it('deletes exactly the messages marked with DELE, at QUIT', async () => {
    expect(out.dele).toEqual(DELE.map((n) => `+OK Message ${n} deleted`));
    expect(out.retr_deleted).toBe(`-ERR Message ${DELE[0]} already deleted`);
    expect(out.quit).toMatch(new RegExp(`^\\+OK .* signing off \\(${DELE.length} messages deleted\\)$`));
    const kept = delivered.filter((_, i) => !DELE.includes(i + 1));
    const inbox = await mailroom.embedded.store.listMessages(DEMO, 'INBOX');
    expect(inbox.map((m) => m.uid)).toEqual(kept.map((m) => m.uid));
    // What RETR downloaded in full reads as seen in IMAP too.
    expect(inbox.map((m) => m.flags)).toEqual(kept.map(() => ['\\Seen']));
  });

  it('logs in with AUTH PLAIN and sees the maildrop renumbered, with the same UIDLs', () => {
    const kept = delivered.filter((_, i) => !DELE.includes(i + 1));
    const keptOctets = kept.reduce((sum, m) => sum + m.size, 0);
    expect(out.auth).toBe(`+OK Logged in, ${kept.length} messages (${keptOctets} octets)`);
    expect(out.stat_after).toEqual([kept.length, keptOctets]);
    expect(out.uidl_after).toEqual(kept.map((m, i) => `${i + 1} ${uidValidity}.${m.uid}`));
    expect(out.quit_after).toMatch(/signing off \(0 messages deleted\)$/);
  });

  it('refuses a wrong password with the AUTH response code', () => {
    expect(out.wrong).toBe('-ERR [AUTH] Invalid user name or password');
  });
});
