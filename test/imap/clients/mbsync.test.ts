import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
 * mbsync (isync): two-way sync between the server and a local Maildir, the way many
 * terminal mail users (mutt, neomutt, aerc, notmuch) read mail. It leans on UIDPLUS,
 * UID FETCH of flags and bodies, STORE, APPEND, CREATE, LIST and EXPUNGE, and keeps its
 * own state between runs, so each step below is one more run over the same state.
 *
 * The steps run in order and build on each other (one Maildir, one server).
 */

const MBSYNC = '/usr/bin/mbsync';

interface LocalMessage {
  /** Path relative to the folder: "new/..." or "cur/...". */
  path: string;
  uid: number | undefined;
  flags: string;
}

/** The messages of one Maildir folder, with the UID and flags mbsync encodes in the file name. */
async function maildir(folder: string): Promise<LocalMessage[]> {
  const out: LocalMessage[] = [];
  for (const sub of ['new', 'cur']) {
    const names = await readdir(join(folder, sub)).catch(() => [] as string[]);
    for (const name of names) {
      const uid = /,U=(\d+)/.exec(name)?.[1];
      out.push({
        path: join(sub, name),
        uid: uid === undefined ? undefined : Number(uid),
        flags: /:2,([A-Za-z]*)$/.exec(name)?.[1] ?? '',
      });
    }
  }
  return out;
}

/** Maildir keeps local line endings: mbsync turns the wire's CRLF into LF (and back when it uploads). */
function lf(raw: Buffer): string {
  return raw.toString('latin1').replace(/\r\n/g, '\n');
}

/**
 * mbsync adds an `X-TUID` header to every message it copies, either way, at the end of the
 * header (its own tracking id, for servers without UIDPLUS): everything else must be intact.
 */
function withoutTuid(text: string): string {
  const header = text.split(/\r?\n\r?\n/)[0]!;
  expect(header).toMatch(/^X-TUID: [A-Za-z0-9+/]{12}\r?$/m);
  return text.replace(/^X-TUID: [A-Za-z0-9+/]{12}\r?\n/m, '');
}

describe.skipIf(!existsSync(MBSYNC) && !process.env.CI)(
  'mbsync (isync) against the Mailroom IMAP server',
  () => {
    let mailroom: TestMailroom;
    let dir: string;
    let mail: string;
    let rc: string;
    let delivered: MessageMeta[];

    async function sync() {
      const result = await run(MBSYNC, ['-c', rc, '-a'], { timeoutMs: 20_000 });
      // Without TLS mbsync warns that the password goes in the clear; anything else is an error.
      const stderr = result.stderr
        .split('\n')
        .filter((line) => line.trim() && !line.includes('Password is being sent in the clear'));
      expect({ code: result.code, stderr }).toEqual({ code: 0, stderr: [] });
    }

    beforeAll(async () => {
      mailroom = await startTestMailroom();
      const tag = uniqueTag('mbsync');
      delivered = await deliver(mailroom, [
        plainMessage(`${tag}-plain`),
        multipartMessage(`${tag}-multi`, 'Part one.'),
        cyrillicMessage('koi8-r', `${tag}-koi8`, 'Отчёт', 'Привет из KOI8-R.\r\n'),
      ]);
      dir = await tempDir('mailroom-mbsync-');
      mail = join(dir, 'mail');
      await mkdir(mail);
      rc = join(dir, 'mbsyncrc');
      await writeFile(
        rc,
        [
          'IMAPAccount mailroom',
          'Host 127.0.0.1',
          `Port ${mailroom.imapPort}`,
          `User ${DEMO}`,
          `Pass ${DEMO_PASSWORD}`,
          'SSLType None',
          'AuthMechs LOGIN',
          '',
          'IMAPStore remote',
          'Account mailroom',
          '',
          'MaildirStore local',
          `Path ${mail}/`,
          `Inbox ${mail}/INBOX`,
          'SubFolders Verbatim',
          '',
          'Channel mailroom',
          'Far :remote:',
          'Near :local:',
          'Patterns *',
          'Create Both',
          'Expunge Both',
          'SyncState *',
          '',
        ].join('\n'),
      );
    });

    afterAll(async () => {
      await mailroom?.cleanup();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('downloads every mailbox, and every message byte for byte', async () => {
      await sync();

      for (const name of ['INBOX', 'Sent', 'Drafts', 'Trash', 'Junk', 'Archive']) {
        expect(existsSync(join(mail, name, 'cur')), name).toBe(true);
      }
      const local = await maildir(join(mail, 'INBOX'));
      expect(local.map((m) => m.uid).sort()).toEqual(delivered.map((m) => m.uid).sort());
      for (const meta of delivered) {
        const file = local.find((m) => m.uid === meta.uid)!;
        const content = await readFile(join(mail, 'INBOX', file.path), 'latin1');
        expect(withoutTuid(content)).toBe(lf(await storedRaw(mailroom, meta)));
        expect(file.flags).toBe('');
      }
    });

    it('uploads flags set locally (\\Flagged \\Seen)', async () => {
      const target = delivered[0]!;
      const file = (await maildir(join(mail, 'INBOX'))).find((m) => m.uid === target.uid)!;
      const base = file.path.slice(4).replace(/:2,[A-Za-z]*$/, '');
      await rename(join(mail, 'INBOX', file.path), join(mail, 'INBOX', 'cur', `${base}:2,FS`));

      await sync();

      const stored = await mailroom.embedded.store.getMessage(DEMO, 'INBOX', target.uid);
      expect(stored!.flags.sort()).toEqual(['\\Flagged', '\\Seen']);
      const others = await mailroom.embedded.store.listMessages(DEMO, 'INBOX');
      expect(others.filter((m) => m.uid !== target.uid).map((m) => m.flags)).toEqual([[], []]);
    });

    it('downloads flags set on the server', async () => {
      const target = delivered[1]!;
      await mailroom.embedded.store.updateFlags(DEMO, 'INBOX', [target.uid], 'add', [
        '\\Flagged',
        '\\Answered',
      ]);

      await sync();

      const file = (await maildir(join(mail, 'INBOX'))).find((m) => m.uid === target.uid)!;
      expect(file.flags).toBe('FR');
      expect(file.path.startsWith('cur/')).toBe(true);
    });

    it('creates a new local folder on the server and appends its message', async () => {
      const folder = join(mail, 'Projects');
      for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(folder, sub), { recursive: true });
      const tag = uniqueTag('local');
      const raw = plainMessage(tag, 'Written locally, pushed by mbsync.\r\n');
      await writeFile(join(folder, 'new', `1700000000.${process.pid}_1.localhost`), lf(raw), 'latin1');

      await sync();

      const box = await mailroom.embedded.store.getMailbox(DEMO, 'Projects');
      expect(box).toBeDefined();
      const messages = await mailroom.embedded.store.listMessages(DEMO, 'Projects');
      expect(messages.map((m) => m.summary.messageId)).toEqual([`<${tag}@sender.test>`]);
      // Uploaded with CRLF line ends again: the very bytes the message was made of.
      expect(withoutTuid((await storedRaw(mailroom, messages[0]!)).toString('latin1'))).toBe(
        raw.toString('latin1'),
      );
      // The local file now carries the UID that APPENDUID reported.
      expect((await maildir(folder)).map((m) => m.uid)).toEqual([messages[0]!.uid]);
    });

    it('expunges on the server what was trashed locally', async () => {
      const target = delivered[2]!;
      const file = (await maildir(join(mail, 'INBOX'))).find((m) => m.uid === target.uid)!;
      const base = file.path.slice(4).replace(/:2,[A-Za-z]*$/, '');
      await rename(join(mail, 'INBOX', file.path), join(mail, 'INBOX', 'cur', `${base}:2,ST`));

      await sync();

      expect(await mailroom.embedded.store.getMessage(DEMO, 'INBOX', target.uid)).toBeUndefined();
      expect((await maildir(join(mail, 'INBOX'))).map((m) => m.uid)).not.toContain(target.uid);
      expect((await mailroom.embedded.store.listMessages(DEMO, 'INBOX')).length).toBe(2);
    });
  },
);
