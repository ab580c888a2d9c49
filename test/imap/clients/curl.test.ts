import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMailroom, type TestMailroom } from '../../helpers/mailroom.js';
import {
  DEMO,
  DEMO_PASSWORD,
  deliver,
  multipartMessage,
  plainMessage,
  run,
  storedRaw,
  uniqueTag,
} from '../../helpers/imap-fixtures.js';
import type { MessageMeta } from '../../../lib/store/types.js';

/*
 * curl's IMAP support (RFC 5092 URLs): what shell scripts and monitoring probes use. curl
 * logs in with AUTHENTICATE PLAIN (SASL-IR), SELECTs the mailbox of the URL, and fetches
 * with UID FETCH ... BODY[section]<partial>, which is not a PEEK.
 */

const CURL = '/usr/bin/curl';
const PART_TEXT = 'Section one, fetched by curl.';

describe.skipIf(!existsSync(CURL) && !process.env.CI)('curl against the Mailroom IMAP server', () => {
  let mailroom: TestMailroom;
  let base: string;
  let plain: MessageMeta;
  let multi: MessageMeta;
  let multiTag: string;

  function curl(url: string, ...args: string[]) {
    return run(CURL, ['-s', '-S', '--max-time', '10', '-u', `${DEMO}:${DEMO_PASSWORD}`, ...args, url]);
  }

  beforeAll(async () => {
    mailroom = await startTestMailroom();
    base = `imap://127.0.0.1:${mailroom.imapPort}`;
    const tag = uniqueTag('curl');
    multiTag = `${tag}-multi`;
    [plain, multi] = (await deliver(mailroom, [
      plainMessage(`${tag}-plain`),
      multipartMessage(multiTag, PART_TEXT),
    ])) as [MessageMeta, MessageMeta];
  });

  afterAll(async () => {
    await mailroom?.cleanup();
  });

  it('fetches a whole message by UID, byte for byte, and marks it \\Seen', async () => {
    const result = await curl(`${base}/INBOX;UID=${plain.uid}`);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.equals(await storedRaw(mailroom, plain))).toBe(true);
    // BODY[] without .PEEK sets \Seen (RFC 3501 §6.4.5).
    expect((await mailroom.embedded.store.getMessage(DEMO, 'INBOX', plain.uid))!.flags).toEqual(['\\Seen']);
  });

  it('fetches one section, and a byte range of it', async () => {
    const section = await curl(`${base}/INBOX;UID=${multi.uid};SECTION=1`);
    const partial = await curl(`${base}/INBOX;UID=${multi.uid};SECTION=1;PARTIAL=8.3`);

    expect(section.code).toBe(0);
    expect(section.stdout.toString('latin1')).toBe(PART_TEXT);
    expect(partial.code).toBe(0);
    expect(partial.stdout.toString('latin1')).toBe('one');
  });

  it('lists the mailboxes, by default and with -X LIST', async () => {
    const plainList = await curl(`${base}/`);
    const custom = await curl(`${base}/`, '-X', 'LIST "" *');

    expect(custom.code).toBe(0);
    const lines = custom.stdout.toString().trimEnd().split('\r\n');
    expect(lines).toEqual([
      '* LIST (\\HasNoChildren) "/" INBOX',
      '* LIST (\\HasNoChildren \\Archive) "/" Archive',
      '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
      '* LIST (\\HasNoChildren \\Junk) "/" Junk',
      '* LIST (\\HasNoChildren \\Sent) "/" Sent',
      '* LIST (\\HasNoChildren \\Trash) "/" Trash',
    ]);
    expect(plainList.code).toBe(0);
    expect(plainList.stdout.toString()).toBe(custom.stdout.toString());
  });

  it('runs UID SEARCH ALL in the selected mailbox, and a URL search', async () => {
    const all = await curl(`${base}/INBOX`, '-X', 'UID SEARCH ALL');
    // RFC 5092: the query is the search criteria, URL-encoded; one atom here.
    const bySubject = await curl(`${base}/INBOX?SUBJECT%20${multiTag}`);

    expect(all.code).toBe(0);
    expect(all.stdout.toString()).toBe(`* SEARCH ${plain.uid} ${multi.uid}\r\n`);
    expect(bySubject.code).toBe(0);
    // A URL search is a plain SEARCH: sequence numbers.
    expect(bySubject.stdout.toString()).toBe('* SEARCH 2\r\n');
  });

  it('EXAMINEs INBOX read-only with the store counts', async () => {
    const box = await mailroom.embedded.store.getMailbox(DEMO, 'INBOX');

    const result = await curl(`${base}/`, '-X', 'EXAMINE INBOX');

    expect(result.code).toBe(0);
    const lines = result.stdout.toString().trimEnd().split('\r\n');
    expect(lines).toContain(`* ${box!.messages} EXISTS`);
    expect(lines).toContain(`* OK [UIDVALIDITY ${box!.uidValidity}] UIDs valid`);
    expect(lines).toContain(`* OK [UIDNEXT ${box!.uidNext}] Predicted next UID`);
    expect(lines).toContain('* OK [PERMANENTFLAGS ()] Flags permitted');
  });

  it('fails with curl\'s "login denied" on a wrong password', async () => {
    const result = await run(CURL, [
      '-s',
      '--max-time',
      '10',
      '-u',
      `${DEMO}:wrong`,
      `${base}/INBOX;UID=${plain.uid}`,
    ]);

    expect(result.code).toBe(67);
    expect(result.stdout.length).toBe(0);
  });
});
