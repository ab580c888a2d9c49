import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestMailroom, tempDir, type TestMailroom } from '../../helpers/mailroom.js';
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
 * fetchmail: the classic POP3 collector that pulls a remote maildrop into local delivery,
 * from cron or as a daemon. Here it runs once per poll, in the foreground, and hands each
 * message to an MDA that writes it to a file of its own. It asks CAPA, logs in with
 * USER/PASS, reads STAT, UIDL and LIST, then RETR and DELE, or TOP n 99999999 instead
 * of RETR when it keeps the mail (so that the server does not mark it read).
 */

const FETCHMAIL = '/usr/bin/fetchmail';

/**
 * The trace header fetchmail puts before every message it delivers, three lines with CRLF
 * under `no stripcr`: everything after it must be the stored message, unchanged.
 */
const FETCHMAIL_RECEIVED =
  /^Received: from 127\.0\.0\.1 \[127\.0\.0\.1\]\r\n\tby \S+ with POP3 \(fetchmail-[\d.]+\)\r\n\tfor <[^>\r\n]+> \(single-drop\); [^\r\n]+\r\n/;

const DOTTED_BODY = '.starts with a dot\r\n..starts with two\r\n.\r\nafter a lone dot\r\n';

interface Poll {
  code: number | null;
  stdout: string;
  /** What fetchmail delivered in this poll, its own Received header removed, by Message-ID. */
  delivered: Map<string, Buffer>;
}

describe.skipIf(!existsSync(FETCHMAIL) && !process.env.CI)(
  'fetchmail against the Mailroom POP3 server',
  () => {
    let mailroom: TestMailroom;
    let dir: string;
    let polls = 0;

    /** One fetchmail poll with these user options (`keep`, `fetchall`, ...), over plain text. */
    async function poll(options: { uidl?: boolean; user: string[] }): Promise<Poll> {
      polls += 1;
      const out = join(dir, `poll-${polls}`);
      await mkdir(out);
      const rc = join(dir, 'fetchmailrc');
      await writeFile(
        rc,
        [
          'set no syslog',
          `poll 127.0.0.1 protocol POP3 port ${mailroom.pop3Port}${options.uidl ? ' uidl' : ''}`,
          `  user "${DEMO}" password "${DEMO_PASSWORD}"`,
          // `no stripcr`: deliver the CRLF line ends as they came, so bytes can be compared.
          `  ${options.user.join(' ')} no stripcr`,
          // An empty sslproto: no TLS, not even STLS when offered (fetchmail 6.4's opportunistic TLS).
          "  sslproto ''",
          // fetchmail runs the MDA through the shell: one file per message.
          `  mda "cat > $(mktemp ${out}/msg.XXXXXX)"`,
          '',
        ].join('\n'),
      );
      // fetchmail refuses a run control file that others may read.
      await chmod(rc, 0o600);
      const result = await run(
        FETCHMAIL,
        ['--nodetach', '--fetchmailrc', rc, '--idfile', join(dir, 'fetchids'), '--pidfile', join(dir, 'pid')],
        // HOME and FETCHMAILHOME keep it away from the real home; C for English messages.
        { env: { HOME: dir, FETCHMAILHOME: dir, LC_ALL: 'C' }, timeoutMs: 20_000 },
      );
      const stderr = result.stderr
        .split('\n')
        .filter((line) => line.trim() && !line.includes('Running as root is discouraged'));
      expect(stderr).toEqual([]);
      const delivered = new Map<string, Buffer>();
      for (const name of await readdir(out)) {
        const text = await readFile(join(out, name), 'latin1');
        expect(text).toMatch(FETCHMAIL_RECEIVED);
        const message = text.replace(FETCHMAIL_RECEIVED, '');
        const messageId = /^Message-ID: (<[^>\r\n]+>)\r$/im.exec(message)?.[1];
        expect(messageId, name).toBeDefined();
        delivered.set(messageId!, Buffer.from(message, 'latin1'));
      }
      return { code: result.code, stdout: result.stdout.toString(), delivered };
    }

    /** Expects exactly these stored messages in a poll, byte for byte. */
    async function expectDelivered(result: Poll, metas: MessageMeta[]) {
      expect([...result.delivered.keys()].sort()).toEqual(metas.map((m) => m.summary.messageId).sort());
      for (const meta of metas) {
        const got = result.delivered.get(meta.summary.messageId!)!;
        expect(got.toString('latin1'), meta.summary.messageId!).toBe(
          (await storedRaw(mailroom, meta)).toString('latin1'),
        );
      }
    }

    beforeEach(async () => {
      mailroom = await startTestMailroom();
      dir = await tempDir('mailroom-fetchmail-');
    });

    afterEach(async () => {
      await mailroom?.cleanup();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('downloads and deletes every message, byte for byte, leaving the INBOX empty', async () => {
      const tag = uniqueTag('fm');
      const delivered = await deliver(mailroom, [
        plainMessage(`${tag}-plain`),
        plainMessage(`${tag}-dots`, DOTTED_BODY),
        cyrillicMessage('koi8-r', `${tag}-koi8`, 'Отчёт за ноябрь', 'Привет из KOI8-R.\r\n'),
        cyrillicMessage('windows-1251', `${tag}-1251`, 'Отчёт', 'Привет из windows-1251.\r\n'),
        multipartMessage(`${tag}-multi`, 'Part one, collected by fetchmail.'),
      ]);
      const octets = delivered.reduce((sum, m) => sum + m.size, 0);

      const result = await poll({ user: ['no keep', 'fetchall'] });

      expect(result.code).toBe(0);
      // fetchmail reports what STAT said.
      expect(result.stdout).toContain(`5 messages for ${DEMO} at 127.0.0.1 (${octets} octets).`);
      expect(result.stdout.match(/ flushed$/gm)).toHaveLength(5);
      await expectDelivered(result, delivered);
      expect(await mailroom.embedded.store.listMessages(DEMO, 'INBOX')).toEqual([]);
    });

    it('keeps the mail and, by UIDL, fetches only what is new on each later poll', async () => {
      const tag = uniqueTag('fm');
      const first = await deliver(mailroom, [
        plainMessage(`${tag}-1`),
        plainMessage(`${tag}-dots`, DOTTED_BODY),
        cyrillicMessage('utf-8', `${tag}-utf8`, 'Отчёт', 'Привет из UTF-8.\r\n'),
      ]);
      const { uidValidity } = (await mailroom.embedded.store.getMailbox(DEMO, 'INBOX'))!;

      const initial = await poll({ uidl: true, user: ['keep'] });

      expect(initial.code).toBe(0);
      await expectDelivered(initial, first);
      // The id file holds the UIDL of each message seen: UIDVALIDITY.UID of the INBOX.
      const ids = (await readFile(join(dir, 'fetchids'), 'utf8')).trim().split('\n');
      expect(ids.sort()).toEqual(first.map((m) => `${DEMO}@127.0.0.1 ${uidValidity}.${m.uid}`).sort());

      const again = await poll({ uidl: true, user: ['keep'] });

      // Exit status 1: no new mail.
      expect(again.code).toBe(1);
      expect(again.delivered.size).toBe(0);
      expect(again.stdout).toContain(`3 messages (3 seen) for ${DEMO} at 127.0.0.1`);

      const [late] = await deliver(mailroom, [plainMessage(`${tag}-late`, 'Arrived after two polls.\r\n')]);
      const third = await poll({ uidl: true, user: ['keep'] });

      expect(third.code).toBe(0);
      await expectDelivered(third, [late!]);
      const inbox = await mailroom.embedded.store.listMessages(DEMO, 'INBOX');
      expect(inbox.map((m) => m.uid)).toEqual([...first, late!].map((m) => m.uid));
      // Kept mail was read with TOP, not RETR: none of it became \Seen.
      expect(inbox.map((m) => m.flags)).toEqual([[], [], [], []]);
    });
  },
);
