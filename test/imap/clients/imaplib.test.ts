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
 * Python's imaplib: the standard library client that scripts and tools (offlineimap,
 * getmail, countless cron jobs) are built on. It sends what it is told, literals with a
 * synchronising "+" wait, and parses very little: the script returns the raw replies and
 * the assertions below read them.
 */

const hasPython = spawnSync('python3', ['--version']).status === 0;

const PART_TEXT = '0123456789 is the start of part one.';
const SUBJECT = 'Отчёт за ноябрь';
const TEXT = 'Привет из старого почтового клиента.\r\n';

/** Reads its orders as JSON on stdin, prints one JSON object with what the server answered. */
const SCRIPT = String.raw`
import base64, imaplib, json, re, sys, time

cfg = json.load(sys.stdin)
out = {}

def s(value):
    if isinstance(value, bytes):
        return value.decode('utf-8', 'replace')
    if isinstance(value, tuple):
        return [s(v) for v in value]
    if isinstance(value, list):
        return [s(v) for v in value]
    return value

M = imaplib.IMAP4('127.0.0.1', cfg['port'])
out['capabilities'] = sorted(M.capabilities)
typ, data = M.login(cfg['user'], cfg['password'])
out['login'] = [typ, s(data)]

typ, data = M.list()
out['list'] = [typ, s(data)]

typ, data = M.select('INBOX')
out['select'] = [typ, int(data[0])]

multi = str(cfg['multi'])
typ, data = M.uid('FETCH', multi, '(ENVELOPE BODYSTRUCTURE)')
out['meta'] = [typ, s(data)]

typ, data = M.uid('FETCH', multi, '(BODY.PEEK[1]<0.10>)')
head, literal = data[0]
out['partial'] = [typ, s(head), base64.b64encode(literal).decode()]

typ, data = M.uid('FETCH', multi, '(FLAGS)')
out['flags_after_peek'] = [typ, s(data)]

# RFC 3501 6.4.4: the search string in the declared charset, sent as a literal.
M.literal = 'привет'.encode('utf-8')
typ, data = M.uid('SEARCH', 'CHARSET', 'UTF-8', 'BODY')
out['search_body'] = [typ, [int(n) for n in data[0].split()]]

M.literal = 'отчёт'.encode('utf-8')
typ, data = M.search('UTF-8', 'SUBJECT')
out['search_subject'] = [typ, [int(n) for n in data[0].split()]]

typ, data = M.uid('SEARCH', None, 'ALL')
out['search_all'] = [typ, [int(n) for n in data[0].split()]]

typ, data = M.uid('STORE', str(cfg['flag']), '+FLAGS', r'(\Flagged $Work)')
out['store'] = [typ, s(data)]

# imaplib files bracketed response codes (tagged or not) under their name: M.response() pops them.
typ, data = M.uid('COPY', str(cfg['copy']), 'Archive')
out['copy'] = [typ, s(M.response('COPYUID')[1])]

typ, data = M.uid('MOVE', str(cfg['move']), 'Trash')
out['move'] = [typ, s(M.response('COPYUID')[1]), s(M.response('EXPUNGE')[1])]

raw = cfg['append'].encode('latin-1')
typ, data = M.append('Sent', r'(\Seen \Draft)', imaplib.Time2Internaldate(time.time()), raw)
out['append'] = [typ, s(data)]

typ, data = M.uid('STORE', str(cfg['delete']), '+FLAGS.SILENT', r'(\Deleted)')
out['delete'] = [typ, s(data)]
typ, data = M.expunge()
out['expunge'] = [typ, s(data)]

typ, data = M.logout()
out['logout'] = [typ, s(data)]
print(json.dumps(out))
`;

interface ImaplibOutput {
  capabilities: string[];
  login: [string, string[]];
  list: [string, string[]];
  select: [string, number];
  meta: [string, string[]];
  partial: [string, string, string];
  flags_after_peek: [string, string[]];
  search_body: [string, number[]];
  search_subject: [string, number[]];
  search_all: [string, number[]];
  store: [string, string[]];
  copy: [string, string[]];
  move: [string, string[], string[]];
  append: [string, string[]];
  delete: [string, (string | null)[]];
  expunge: [string, (string | null)[]];
  logout: [string, string[]];
}

describe.skipIf(!hasPython && !process.env.CI)("python's imaplib against the Mailroom IMAP server", () => {
  let mailroom: TestMailroom;
  let multi: MessageMeta;
  let cyrillic: MessageMeta[];
  let toFlag: MessageMeta;
  let toCopy: MessageMeta;
  let toMove: MessageMeta;
  let toDelete: MessageMeta;
  let inboxBefore: number[];
  let archiveBefore: { uidValidity: number; uidNext: number };
  let sentBefore: { uidValidity: number; uidNext: number };
  let appendRaw: string;
  let out: ImaplibOutput;
  let stderr: string;

  beforeAll(async () => {
    // Prepare: a mailbox with known messages, delivered through SMTP.
    mailroom = await startTestMailroom();
    const tag = uniqueTag('py');
    const delivered = await deliver(mailroom, [
      multipartMessage(`${tag}-multi`, PART_TEXT),
      ...['koi8-r', 'windows-1251', 'utf-8'].map((charset) =>
        cyrillicMessage(charset, `${tag}-${charset}`, SUBJECT, TEXT),
      ),
      plainMessage(`${tag}-flag`),
      plainMessage(`${tag}-copy`),
      plainMessage(`${tag}-move`),
      plainMessage(`${tag}-delete`),
    ]);
    const at = (i: number) => delivered[i]!;
    [multi, toFlag, toCopy, toMove, toDelete] = [at(0), at(4), at(5), at(6), at(7)];
    cyrillic = delivered.slice(1, 4);
    inboxBefore = delivered.map((m) => m.uid);
    archiveBefore = (await mailroom.embedded.store.getMailbox(DEMO, 'Archive'))!;
    sentBefore = (await mailroom.embedded.store.getMailbox(DEMO, 'Sent'))!;
    appendRaw = plainMessage(`${tag}-append`, 'Appended by imaplib.\r\n').toString('latin1');

    // Act: one imaplib session doing everything, in order.
    const result = await run('python3', ['-c', SCRIPT], {
      input: JSON.stringify({
        port: mailroom.imapPort,
        user: DEMO,
        password: DEMO_PASSWORD,
        multi: multi.uid,
        flag: toFlag.uid,
        copy: toCopy.uid,
        move: toMove.uid,
        delete: toDelete.uid,
        append: appendRaw,
      }),
    });
    stderr = result.stderr;
    out = JSON.parse(result.stdout.toString() || 'null') as ImaplibOutput;
  });

  afterAll(async () => {
    await mailroom?.cleanup();
  });

  it('runs the whole session without a Python exception', () => {
    expect(stderr).toBe('');
    expect(out).not.toBeNull();
  });

  it('logs in and lists the mailboxes with special-use attributes', () => {
    expect(out.login[0]).toBe('OK');
    expect(out.capabilities).toEqual(expect.arrayContaining(['IMAP4REV1', 'IDLE', 'AUTH=PLAIN']));
    expect(out.list[0]).toBe('OK');
    const lines = out.list[1];
    expect(lines).toContain('(\\HasNoChildren) "/" INBOX');
    expect(lines.find((l) => l.endsWith(' Sent'))).toMatch(/^\([^)]*\\Sent[^)]*\) "\/" Sent$/);
    expect(lines.find((l) => l.endsWith(' Archive'))).toMatch(/\\Archive/);
    expect(lines.find((l) => l.endsWith(' Trash'))).toMatch(/\\Trash/);
  });

  it('selects INBOX and fetches ENVELOPE and BODYSTRUCTURE', () => {
    expect(out.select).toEqual(['OK', inboxBefore.length]);
    expect(out.meta[0]).toBe('OK');
    const line = out.meta[1][0]!;
    expect(line).toContain(`UID ${multi.uid}`);
    expect(line).toContain(`"${multi.summary.subject}"`);
    expect(line).toContain(`"${multi.summary.messageId}"`);
    expect(line).toContain('(("Sender" NIL "sender" "sender.test"))');
    expect(line).toMatch(/BODYSTRUCTURE \(\("TEXT" "PLAIN" \("CHARSET" "us-ascii"\)/i);
    expect(line).toMatch(/"MIXED" \("BOUNDARY" "b1"\)/i);
    expect(line).toMatch(/\("ATTACHMENT" \("FILENAME" "data\.bin"\)\)/i);
  });

  it('fetches a byte range of part 1 without setting \\Seen', async () => {
    expect(out.partial[0]).toBe('OK');
    expect(out.partial[1]).toMatch(/BODY\[1\]<0> \{10\}$/);
    expect(Buffer.from(out.partial[2], 'base64').toString('latin1')).toBe(PART_TEXT.slice(0, 10));
    expect(out.flags_after_peek[1][0]).toMatch(/FLAGS \(\)/);
    const raw = await storedRaw(mailroom, multi);
    expect(raw.includes(Buffer.from(PART_TEXT))).toBe(true);
  });

  it('searches Cyrillic text sent as a UTF-8 literal, across KOI8-R, windows-1251 and UTF-8 mail', () => {
    const wanted = cyrillic.map((m) => m.uid);
    expect(out.search_body).toEqual(['OK', wanted]);
    // Plain SEARCH answers sequence numbers; nothing was expunged yet, so seq = position.
    expect(out.search_subject).toEqual(['OK', wanted.map((uid) => inboxBefore.indexOf(uid) + 1)]);
    expect(out.search_all).toEqual(['OK', inboxBefore]);
  });

  it('stores flags and keywords', async () => {
    expect(out.store[0]).toBe('OK');
    expect(out.store[1][0]).toMatch(new RegExp(`UID ${toFlag.uid} FLAGS \\(\\\\Flagged \\$Work\\)`));
    const stored = await mailroom.embedded.store.getMessage(DEMO, 'INBOX', toFlag.uid);
    expect(stored!.flags.sort()).toEqual(['$Work', '\\Flagged']);
  });

  it('copies with COPYUID', async () => {
    expect(out.copy).toEqual(['OK', [`${archiveBefore.uidValidity} ${toCopy.uid} ${archiveBefore.uidNext}`]]);
    const copied = await mailroom.embedded.store.getMessage(DEMO, 'Archive', archiveBefore.uidNext);
    expect(copied?.summary.messageId).toBe(toCopy.summary.messageId);
    expect(await mailroom.embedded.store.getMessage(DEMO, 'INBOX', toCopy.uid)).toBeDefined();
  });

  it('moves with UID MOVE: COPYUID first, then EXPUNGE', async () => {
    const trash = (await mailroom.embedded.store.listMessages(DEMO, 'Trash'))[0];
    expect(out.move[0]).toBe('OK');
    const trashBox = await mailroom.embedded.store.getMailbox(DEMO, 'Trash');
    expect(out.move[1]).toEqual([`${trashBox!.uidValidity} ${toMove.uid} ${trash!.uid}`]);
    expect(out.move[2]).toEqual([String(inboxBefore.indexOf(toMove.uid) + 1)]);
    expect(trash!.summary.messageId).toBe(toMove.summary.messageId);
    expect(await mailroom.embedded.store.getMessage(DEMO, 'INBOX', toMove.uid)).toBeUndefined();
  });

  it('appends with APPENDUID, keeping the flags and the bytes', async () => {
    expect(out.append).toEqual([
      'OK',
      [`[APPENDUID ${sentBefore.uidValidity} ${sentBefore.uidNext}] APPEND completed`],
    ]);
    const stored = await mailroom.embedded.store.getMessage(DEMO, 'Sent', sentBefore.uidNext);
    expect(stored!.flags.sort()).toEqual(['\\Draft', '\\Seen']);
    expect((await mailroom.embedded.blobs.getBuffer(stored!.blobKey)).toString('latin1')).toBe(appendRaw);
  });

  it('expunges \\Deleted messages and logs out', async () => {
    // After the MOVE, the doomed message sits one place earlier than it was delivered.
    const seq = inboxBefore.filter((u) => u !== toMove.uid).indexOf(toDelete.uid) + 1;
    expect(out.delete[0]).toBe('OK');
    expect(out.expunge).toEqual(['OK', [String(seq)]]);
    expect(await mailroom.embedded.store.getMessage(DEMO, 'INBOX', toDelete.uid)).toBeUndefined();
    expect(out.logout[0]).toBe('BYE');
  });
});
