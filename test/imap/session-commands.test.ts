import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestMailroom, DEMO_PASSWORD, tempDir, type TestMailroom } from '../helpers/mailroom.js';
import { ImapTranscript, loggedIn } from '../helpers/imap-transcript.js';
import { parseMessage } from '../../lib/mail/parse.js';
import { ensureSelfSignedCertificate } from '../../lib/tls/certificate.js';
import { connect as tlsConnect } from 'node:tls';
import { MAX_MAILBOXES_PER_ACCOUNT } from '../../lib/imap/limits.js';

const USER = 'demo@example.test';
let counter = 0;

/** Files a message straight into a mailbox, as ingest would. */
async function deliver(
  mailroom: TestMailroom,
  raw: string,
  mailbox = 'INBOX',
  flags: string[] = [],
): Promise<number> {
  const bytes = Buffer.from(raw, 'utf8');
  const key = `raw/test/${++counter}-${Date.now()}.eml`;
  await mailroom.embedded.blobs.put(key, bytes);
  const parsed = await parseMessage(bytes);
  const result = await mailroom.embedded.store.appendMessage(USER, mailbox, {
    blobKey: key,
    size: bytes.length,
    internalDate: Date.UTC(2026, 10, 20, 10, 0, 0),
    flags,
    ...parsed,
  });
  return result.uid;
}

const message = (subject: string, body = 'hello') =>
  `From: Ann <ann@elsewhere.test>\r\nTo: demo@example.test\r\nSubject: ${subject}\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@x>\r\n\r\n${body}\r\n`;

const MULTIPART =
  'From: ann@elsewhere.test\r\nSubject: parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' +
  '--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nfirst part\r\n' +
  '--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC/w==\r\n--b--\r\n';

describe('IMAP commands over a real socket (RFC 3501 transcripts)', () => {
  let mailroom: TestMailroom;
  beforeAll(async () => {
    mailroom = await startTestMailroom();
  });
  afterAll(async () => {
    await mailroom.cleanup();
  });

  describe('any state and login', () => {
    it('greets with capabilities and answers CAPABILITY, NOOP, ID and LOGOUT', async () => {
      const { client, greeting } = await ImapTranscript.open(mailroom.imapPort);
      expect(greeting).toMatch(/^\* OK \[CAPABILITY IMAP4rev1 .*AUTH=PLAIN.*\] /);
      const caps = await client.command('CAPABILITY');
      expect(caps.untagged[0]).toMatch(/^\* CAPABILITY IMAP4rev1 LITERAL\+ SASL-IR ID ENABLE IDLE/);
      expect(caps.tagged).toMatch(/^t1 OK /);
      expect((await client.command('NOOP')).tagged).toMatch(/ OK /);
      const id = await client.command('ID ("name" "test")');
      expect(id.untagged).toEqual(['* ID ("name" "Mailroom" "vendor" "Mailroom")']);
      const bye = await client.command('LOGOUT');
      expect(bye.untagged[0]).toMatch(/^\* BYE /);
      expect(bye.tagged).toMatch(/ OK /);
    });

    it('refuses a wrong password with NO [AUTHENTICATIONFAILED] and accepts the right one', async () => {
      const { client } = await ImapTranscript.open(mailroom.imapPort);
      expect((await client.command(`LOGIN ${USER} wrong`)).tagged).toMatch(
        /^t1 NO \[AUTHENTICATIONFAILED\] /,
      );
      const ok = await client.command(`LOGIN ${USER} "${DEMO_PASSWORD}"`);
      expect(ok.tagged).toMatch(/^t2 OK \[CAPABILITY IMAP4rev1 .*UIDPLUS.*\] /);
      client.close();
    });

    it('authenticates with AUTHENTICATE PLAIN, inline (SASL-IR) and after a continuation', async () => {
      const token = Buffer.from(`\0${USER}\0${DEMO_PASSWORD}`).toString('base64');
      const a = (await ImapTranscript.open(mailroom.imapPort)).client;
      expect((await a.command(`AUTHENTICATE PLAIN ${token}`)).tagged).toMatch(/ OK /);
      a.close();
      const b = (await ImapTranscript.open(mailroom.imapPort)).client;
      b.write('x1 AUTHENTICATE PLAIN\r\n');
      expect(await b.line()).toBe('+ ');
      b.write(`${token}\r\n`);
      expect((await b.until('x1')).tagged).toMatch(/^x1 OK /);
      b.close();
    });

    it('answers BAD for unknown commands, commands in the wrong state, and bad syntax, and goes on', async () => {
      const { client } = await ImapTranscript.open(mailroom.imapPort);
      expect((await client.command('FROBNICATE')).tagged).toMatch(/^t1 BAD /);
      expect((await client.command('SELECT INBOX')).tagged).toMatch(/^t2 BAD .*before login/);
      expect((await client.command('LOGIN "unterminated')).tagged).toMatch(/^t3 BAD /);
      expect((await client.command(`LOGIN ${USER} "${DEMO_PASSWORD}"`)).tagged).toMatch(/ OK /);
      expect((await client.command('FETCH 1 FLAGS')).tagged).toMatch(/ BAD .*without a selected mailbox/);
      expect((await client.command('LOGIN a b')).tagged).toMatch(/ BAD /);
      client.close();
    });

    it('answers an over-long line with BAD and a too large literal with BAD, then goes on', async () => {
      const client = await loggedIn(mailroom.imapPort, USER, DEMO_PASSWORD);
      expect((await client.command(`NOOP ${'x'.repeat(70_000)}`)).tagged).toMatch(/ BAD /);
      client.write('big SUBSCRIBE {999999}\r\n');
      expect((await client.until('big')).tagged).toMatch(/^big BAD /);
      client.write('ap APPEND INBOX {99999999}\r\n');
      expect((await client.until('ap')).tagged).toMatch(/^ap NO \[TOOBIG\]/);
      expect((await client.command('NOOP')).tagged).toMatch(/ OK /);
      client.close();
    });

    it('turns on CONDSTORE, QRESYNC and UTF8=ACCEPT with ENABLE, and answers NAMESPACE', async () => {
      const client = await loggedIn(mailroom.imapPort, USER, DEMO_PASSWORD);
      expect((await client.command('ENABLE QRESYNC UTF8=ACCEPT X-UNKNOWN')).untagged).toEqual([
        '* ENABLED QRESYNC UTF8=ACCEPT',
      ]);
      expect((await client.command('NAMESPACE')).untagged).toEqual(['* NAMESPACE (("" "/")) NIL NIL']);
      client.close();
    });
  });

  describe('selected state', () => {
    let client: ImapTranscript;
    let name: string;
    beforeEach(async () => {
      // A fresh mailbox per test, so UIDs and flags are known.
      name = `box${++counter}`;
      await mailroom.embedded.store.createMailbox(USER, name);
      await deliver(mailroom, message('one'), name);
      await deliver(mailroom, message('two', 'привет мир'), name, ['\\Seen']);
      await deliver(mailroom, MULTIPART, name);
      client = await loggedIn(mailroom.imapPort, USER, DEMO_PASSWORD);
      const selected = await client.command(`SELECT ${name}`);
      expect(selected.tagged).toMatch(/ OK \[READ-WRITE\] /);
      return () => client.close();
    });

    it('SELECT reports FLAGS, PERMANENTFLAGS, EXISTS, UNSEEN, UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ', async () => {
      const name = `sel${++counter}`;
      await mailroom.embedded.store.createMailbox(USER, name);
      await deliver(mailroom, message('a'), name, ['\\Seen']);
      await deliver(mailroom, message('b'), name, ['$Work']);
      const box = (await mailroom.embedded.store.getMailbox(USER, name))!;
      const reply = await client.command(`SELECT ${name}`);
      expect(reply.untagged).toEqual([
        '* OK [CLOSED] Previous mailbox closed',
        '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)',
        '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags permitted',
        '* 2 EXISTS',
        '* 0 RECENT',
        '* OK [UNSEEN 2] First unseen',
        `* OK [UIDVALIDITY ${box.uidValidity}] UIDs valid`,
        '* OK [UIDNEXT 3] Predicted next UID',
        `* OK [HIGHESTMODSEQ ${box.highestModseq}] Highest`,
      ]);
    });

    it('refuses SELECT of a missing mailbox with NO [NONEXISTENT] and leaves nothing selected', async () => {
      expect((await client.command('SELECT nowhere')).tagged).toMatch(/ NO \[NONEXISTENT\] /);
      expect((await client.command('FETCH 1 FLAGS')).tagged).toMatch(/ BAD /);
    });

    it('EXAMINE is read-only: STORE and EXPUNGE are refused, BODY[] does not set \\Seen', async () => {
      const box = client;
      expect((await box.command(`EXAMINE ${name}`)).tagged).toMatch(/ OK \[READ-ONLY\] /);
      expect((await box.command('STORE 1 +FLAGS (\\Flagged)')).tagged).toMatch(/ NO \[READ-ONLY\] /);
      expect((await box.command('EXPUNGE')).tagged).toMatch(/ NO \[READ-ONLY\] /);
      const body = await box.command('FETCH 1 (BODY[])');
      expect(body.untagged[0]).not.toContain('\\Seen');
      expect((await box.command('FETCH 1 FLAGS')).untagged).toEqual(['* 1 FETCH (FLAGS ())']);
    });

    it('CHECK is OK with a mailbox selected, BAD without one', async () => {
      expect((await client.command('CHECK')).tagged).toMatch(/ OK /);
      await client.command('UNSELECT');
      expect((await client.command('CHECK')).tagged).toMatch(/ BAD /);
    });

    it('FETCH returns FLAGS, UID, INTERNALDATE, RFC822.SIZE and ENVELOPE', async () => {
      const reply = await client.command('FETCH 1 (FLAGS UID INTERNALDATE RFC822.SIZE ENVELOPE)');
      expect(reply.untagged).toEqual([
        `* 1 FETCH (FLAGS () UID 1 INTERNALDATE "20-Nov-2026 10:00:00 +0000" RFC822.SIZE ${Buffer.byteLength(message('one'))} ` +
          'ENVELOPE ("Fri, 20 Nov 2026 10:00:00 +0000" "one" (("Ann" NIL "ann" "elsewhere.test")) (("Ann" NIL "ann" "elsewhere.test")) (("Ann" NIL "ann" "elsewhere.test")) ((NIL NIL "demo" "example.test")) NIL NIL NIL "<one@x>"))',
      ]);
    });

    it('FETCH serves parts, partials, headers and BINARY, and sets \\Seen only without PEEK', async () => {
      const part = await client.command(
        'FETCH 3 (BODY.PEEK[1] BODY.PEEK[2]<0.4> BINARY.PEEK[2] BINARY.SIZE[2])',
      );
      expect(part.untagged[0]).toBe(
        '* 3 FETCH (BODY[1] {10}\r\nfirst part BODY[2]<0> {4}\r\nAAEC BINARY[2] ~{4}\r\n\x00\x01\x02\xff BINARY.SIZE[2] 4)',
      );
      const header = await client.command('FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
      expect(header.untagged[0]).toBe(
        '* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {16}\r\nSubject: one\r\n\r\n)',
      );
      const seen = await client.command('FETCH 1 (BODY[TEXT])');
      expect(seen.untagged[0]).toBe('* 1 FETCH (FLAGS (\\Seen) BODY[TEXT] {7}\r\nhello\r\n)');
      expect((await client.command('FETCH 1 FLAGS')).untagged).toEqual(['* 1 FETCH (FLAGS (\\Seen))']);
    });

    it('FETCH BODYSTRUCTURE describes the multipart', async () => {
      const reply = await client.command('UID FETCH 3 BODYSTRUCTURE');
      expect(reply.untagged[0]).toMatch(
        /^\* 3 FETCH \(UID 3 BODYSTRUCTURE \(\("TEXT" "PLAIN" \("CHARSET" "utf-8"\) NIL NIL "7BIT" 10 1 .*\)\("APPLICATION" "OCTET-STREAM" NIL NIL NIL "BASE64" 8 .*\) "MIXED" \("BOUNDARY" "b"\)/,
      );
    });

    it('answers BAD for a sequence number past the end, and nothing for a UID that does not exist', async () => {
      expect((await client.command('FETCH 9 FLAGS')).tagged).toMatch(/ BAD /);
      const none = await client.command('UID FETCH 99 FLAGS');
      expect(none.untagged).toEqual([]);
      expect(none.tagged).toMatch(/ OK /);
    });

    it('STORE sets, adds and removes flags, .SILENT says nothing, UNCHANGEDSINCE reports MODIFIED', async () => {
      expect((await client.command('STORE 1 +FLAGS (\\Flagged $Work)')).untagged).toEqual([
        '* 1 FETCH (FLAGS (\\Flagged $Work))',
      ]);
      expect((await client.command('STORE 1 -FLAGS.SILENT ($Work)')).untagged).toEqual([]);
      expect((await client.command('UID STORE 1 FLAGS (\\Answered)')).untagged).toEqual([
        '* 1 FETCH (UID 1 FLAGS (\\Answered))',
      ]);
      // Message 2 has not changed since its MODSEQ; message 1 has (its MODSEQ is higher).
      const modseq = Number(
        /MODSEQ \((\d+)\)/.exec((await client.command('FETCH 2 MODSEQ')).untagged[0]!)![1],
      );
      const conditional = await client.command(`STORE 1:2 (UNCHANGEDSINCE ${modseq}) +FLAGS (\\Flagged)`);
      expect(conditional.tagged).toMatch(/ OK \[MODIFIED 1\] /);
      expect(conditional.untagged).toEqual([
        expect.stringMatching(/^\* 2 FETCH \(FLAGS \(\\Seen \\Flagged\) MODSEQ/),
      ]);
    });

    it('COPY answers COPYUID, or NO [TRYCREATE] for a missing mailbox', async () => {
      const archive = (await mailroom.embedded.store.getMailbox(USER, 'Archive'))!;
      const reply = await client.command('COPY 1:2 Archive');
      expect(reply.tagged).toMatch(
        new RegExp(`OK \\[COPYUID ${archive.uidValidity} 1:2 ${archive.uidNext}:${archive.uidNext + 1}\\] `),
      );
      expect((await client.command('COPY 1 Nowhere')).tagged).toMatch(/ NO \[TRYCREATE\] /);
    });

    it('MOVE sends COPYUID, then EXPUNGE for the moved messages', async () => {
      const reply = await client.command('UID MOVE 1 Trash');
      expect(reply.untagged[0]).toMatch(/^\* OK \[COPYUID \d+ 1 \d+\] Moved$/);
      expect(reply.untagged[1]).toBe('* 1 EXPUNGE');
      expect((await client.command('FETCH 1:* UID')).untagged).toEqual([
        '* 1 FETCH (UID 2)',
        '* 2 FETCH (UID 3)',
      ]);
    });

    it('EXPUNGE removes \\Deleted messages, UID EXPUNGE only those named, CLOSE silently', async () => {
      await client.command('STORE 1:3 +FLAGS.SILENT (\\Deleted)');
      expect((await client.command('UID EXPUNGE 2')).untagged).toEqual(['* 2 EXPUNGE']);
      expect((await client.command('EXPUNGE')).untagged).toEqual(['* 1 EXPUNGE', '* 1 EXPUNGE']);
      expect((await mailroom.embedded.store.getMailbox(USER, name))!.messages).toBe(0);
    });

    it('UNSELECT keeps \\Deleted messages; CLOSE expunges them', async () => {
      await client.command('STORE 1 +FLAGS (\\Deleted)');
      await client.command('UNSELECT');
      expect((await mailroom.embedded.store.getMailbox(USER, name))!.messages).toBe(3);
      await client.command(`SELECT ${name}`);
      const closed = await client.command('CLOSE');
      expect(closed.untagged).toEqual([]);
      expect((await mailroom.embedded.store.getMailbox(USER, name))!.messages).toBe(2);
    });

    it('SEARCH finds by flags, text (Cyrillic, any case) and sequence, and ESEARCH/SAVE/$ work', async () => {
      expect((await client.command('SEARCH UNSEEN')).untagged).toEqual(['* SEARCH 1 3']);
      const word = Buffer.from('ПРИВЕТ');
      const cyrillic = Buffer.concat([Buffer.from(`SEARCH CHARSET UTF-8 BODY {${word.length}+}\r\n`), word]);
      expect((await client.command(cyrillic)).untagged).toEqual(['* SEARCH 2']);
      expect((await client.command('UID SEARCH OR SUBJECT one SUBJECT parts')).untagged).toEqual([
        '* SEARCH 1 3',
      ]);
      expect((await client.command('SEARCH RETURN (MIN MAX COUNT SAVE) ALL', 'es1')).untagged).toEqual([
        '* ESEARCH (TAG "es1") MIN 1 MAX 3 COUNT 3',
      ]);
      expect((await client.command('UID FETCH $ UID')).untagged).toHaveLength(3);
      expect((await client.command('SEARCH CHARSET KOI8-U ALL')).tagged).toMatch(/ NO \[BADCHARSET/);
      expect((await client.command('SEARCH FROBNICATE')).tagged).toMatch(/ BAD /);
    });

    it('FETCH with CHANGEDSINCE returns only what changed, with MODSEQ', async () => {
      const modseq = Number(
        /MODSEQ \((\d+)\)/.exec((await client.command('FETCH 3 MODSEQ')).untagged[0]!)![1],
      );
      await client.command('STORE 2 +FLAGS.SILENT (\\Flagged)');
      const changed = await client.command(`FETCH 1:* (FLAGS) (CHANGEDSINCE ${modseq})`);
      expect(changed.untagged).toHaveLength(1);
      expect(changed.untagged[0]).toMatch(/^\* 2 FETCH \(FLAGS \(\\Seen \\Flagged\) MODSEQ \(\d+\)\)$/);
    });
  });

  describe("one account never reaches another account's mail", () => {
    it('whatever mailbox name it sends', async () => {
      await mailroom.embedded.store.addAccount('bob@example.test', 'not-a-real-hash');
      await mailroom.embedded.store.createMailbox('bob@example.test', 'Secret');
      const bobInbox = (await mailroom.embedded.store.getMailbox('bob@example.test', 'INBOX'))!;
      const client = await loggedIn(mailroom.imapPort, USER, DEMO_PASSWORD);
      for (const name of [
        'Secret',
        '"bob@example.test/Secret"',
        '"../bob@example.test/INBOX"',
        `"${bobInbox.id}"`,
        '"/Secret"',
      ]) {
        expect((await client.command(`SELECT ${name}`)).tagged).toMatch(/ NO /);
        expect((await client.command(`STATUS ${name} (MESSAGES)`)).tagged).toMatch(/ NO /);
      }
      const listed = await client.command('LIST "" *');
      expect(listed.untagged.join('\n')).not.toContain('Secret');
      client.close();
    });
  });

  describe('limits', () => {
    it('refuses CREATE past the mailbox limit with NO [LIMIT]', async () => {
      await mailroom.embedded.store.addAccount('many@example.test', 'not-a-real-hash');
      const existing = (await mailroom.embedded.store.listMailboxes('many@example.test')).length;
      for (let i = existing; i < MAX_MAILBOXES_PER_ACCOUNT; i++) {
        await mailroom.embedded.store.createMailbox('many@example.test', `f${i}`);
      }
      await mailroom.embedded.store.setPasswordHash(
        'many@example.test',
        (await mailroom.embedded.store.getPasswordHash(USER))!,
      );
      const client = await loggedIn(mailroom.imapPort, 'many@example.test', DEMO_PASSWORD);
      expect((await client.command('CREATE one-too-many')).tagged).toMatch(/ NO \[LIMIT\] /);
      client.close();
    });
  });

  describe('two sessions on one mailbox', () => {
    it("see each other's flags and new mail at NOOP, and expunges not during FETCH but after", async () => {
      const name = `shared${++counter}`;
      await mailroom.embedded.store.createMailbox(USER, name);
      await deliver(mailroom, message('s1'), name);
      await deliver(mailroom, message('s2'), name);
      const a = await loggedIn(mailroom.imapPort, USER, DEMO_PASSWORD);
      const b = await loggedIn(mailroom.imapPort, USER, DEMO_PASSWORD);
      await a.command(`SELECT ${name}`);
      await b.command(`SELECT ${name}`);

      await a.command('STORE 1 +FLAGS.SILENT (\\Flagged)');
      expect((await b.command('NOOP')).untagged).toEqual(['* 1 FETCH (UID 1 FLAGS (\\Flagged))']);

      await deliver(mailroom, message('s3'), name);
      expect((await b.command('NOOP')).untagged).toEqual(['* 3 EXISTS']);

      await a.command('STORE 1 +FLAGS.SILENT (\\Deleted)');
      await a.command('EXPUNGE');
      // RFC 3501 §7.4.1: no EXPUNGE while the client may be counting on sequence numbers.
      const fetched = await b.command('FETCH 1:* UID');
      expect(fetched.untagged.filter((l) => l.includes('EXPUNGE'))).toEqual([]);
      expect((await b.command('NOOP')).untagged).toContain('* 1 EXPUNGE');
      a.close();
      b.close();
    });

    it('ends the session with BYE when another session deletes its selected mailbox', async () => {
      const name = `doomed${++counter}`;
      await mailroom.embedded.store.createMailbox(USER, name);
      const a = await loggedIn(mailroom.imapPort, USER, DEMO_PASSWORD);
      const b = await loggedIn(mailroom.imapPort, USER, DEMO_PASSWORD);
      await a.command(`SELECT ${name}`);
      expect((await b.command(`DELETE ${name}`)).tagged).toMatch(/ OK /);
      a.write('n1 NOOP\r\n');
      expect(await a.line()).toMatch(/^\* BYE /);
      b.close();
    });

    it('IDLE announces a change made by another session, and ends with DONE', async () => {
      const name = `idle${++counter}`;
      await mailroom.embedded.store.createMailbox(USER, name);
      await deliver(mailroom, message('i1'), name);
      const a = await loggedIn(mailroom.imapPort, USER, DEMO_PASSWORD);
      await a.command(`SELECT ${name}`);
      a.write('id1 IDLE\r\n');
      expect(await a.line()).toBe('+ idling');
      const started = Date.now();
      await deliver(mailroom, message('i2'), name);
      expect(await a.line(1500)).toBe('* 2 EXISTS');
      expect(Date.now() - started).toBeLessThan(1000);
      a.write('DONE\r\n');
      expect((await a.until('id1')).tagged).toMatch(/^id1 OK /);
      a.close();
    });
  });
});

describe('IMAP without TLS off loopback dev, and with TLS', () => {
  let mailroom: TestMailroom;
  beforeAll(async () => {
    const tls = await ensureSelfSignedCertificate(await tempDir(), 'imap.example.test');
    mailroom = await startTestMailroom({ allowInsecureAuth: false }, { tls: tls! });
  });
  afterAll(async () => {
    await mailroom.cleanup();
  });

  it('advertises LOGINDISABLED and STARTTLS, refuses LOGIN in clear, and logs in after STARTTLS', async () => {
    const { client, greeting } = await ImapTranscript.open(mailroom.imapPort);
    expect(greeting).toContain('LOGINDISABLED');
    expect(greeting).toContain('STARTTLS');
    expect((await client.command(`LOGIN ${USER} "${DEMO_PASSWORD}"`)).tagged).toMatch(
      / NO \[PRIVACYREQUIRED\] /,
    );
    expect((await client.command('STARTTLS')).tagged).toMatch(/ OK /);
    client.close();
  });

  it('serves IMAP over implicit TLS', async () => {
    const socket = tlsConnect({ host: '127.0.0.1', port: mailroom.imapTlsPort!, rejectUnauthorized: false });
    const greeting = await new Promise<string>((resolve, reject) => {
      socket.once('data', (d: Buffer) => resolve(d.toString()));
      socket.once('error', reject);
    });
    socket.destroy();
    expect(greeting).toMatch(/^\* OK \[CAPABILITY IMAP4rev1 .*AUTH=PLAIN/);
    expect(greeting).not.toContain('STARTTLS');
  });
});
