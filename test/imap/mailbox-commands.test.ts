import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../lib/auth/password.js';
import { FsBlobStore } from '../../lib/blob/fs/fs-blob-store.js';
import type { CommandSpec } from '../../lib/imap/command.js';
import { commandRegistry } from '../../lib/imap/commands/index.js';
import { append } from '../../lib/imap/commands/append.js';
import { listMailboxes, lsub } from '../../lib/imap/commands/list.js';
import {
  create,
  deleteMailbox,
  rename,
  subscribeMailbox,
  unsubscribeMailbox,
} from '../../lib/imap/commands/mailboxes.js';
import { status } from '../../lib/imap/commands/status.js';
import { APPEND_LIMIT } from '../../lib/imap/limits.js';
import { createImapDeps, createImapServer, type ImapServer } from '../../lib/imap/server.js';
import type { ImapDeps } from '../../lib/imap/session.js';
import { silentLogger } from '../../lib/log.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';

/**
 * A scripted IMAP client over a real socket: sends tagged commands and reads lines (UTF-8, a
 * line that ends in a literal `{n}` carries the literal and the rest of the line with it).
 */
class ImapClient {
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private closed = false;
  private next = 1;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<ImapClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new ImapClient(socket)));
      socket.once('error', reject);
    });
  }

  /** The next response line, without CRLF. */
  async line(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.lineEnd();
      if (end >= 0) {
        const text = this.buffer.subarray(0, end).toString('utf8');
        this.buffer = this.buffer.subarray(end + 2);
        return text;
      }
      if (this.closed)
        throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer.toString('utf8'))}`);
      if (Date.now() > deadline)
        throw new Error(
          `no line within ${timeoutMs} ms; unread: ${JSON.stringify(this.buffer.toString('utf8'))}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Where the CRLF of the first complete line is, following `{n}` literals; -1 if none yet. */
  private lineEnd(): number {
    let from = 0;
    for (;;) {
      const crlf = this.buffer.indexOf('\r\n', from);
      if (crlf < 0) return -1;
      const literal = /\{(\d+)\}$/.exec(this.buffer.subarray(from, crlf).toString('latin1'));
      if (!literal) return crlf;
      from = crlf + 2 + Number(literal[1]);
      if (from > this.buffer.length) return -1;
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  newTag(): string {
    return `A${this.next++}`;
  }

  /** Reads until the tagged reply of `tag`: the untagged lines, and the tagged one without its tag. */
  async until(tag: string): Promise<{ untagged: string[]; tagged: string }> {
    const untagged: string[] = [];
    for (;;) {
      const line = await this.line();
      if (line.startsWith(`${tag} `)) return { untagged, tagged: line.slice(tag.length + 1) };
      untagged.push(line);
    }
  }

  /** Sends one command (text or raw bytes after the tag) and reads its whole answer. */
  async command(text: string | Buffer): Promise<{ untagged: string[]; tagged: string }> {
    const tag = this.newTag();
    this.write(Buffer.concat([Buffer.from(`${tag} `), Buffer.from(text), Buffer.from('\r\n')]));
    return this.until(tag);
  }

  /** The lines a command answers with, untagged then tagged: what most assertions compare. */
  async lines(text: string | Buffer): Promise<string[]> {
    const { untagged, tagged } = await this.command(text);
    return [...untagged, tagged];
  }

  close(): void {
    this.socket.destroy();
  }
}

const PASSWORD = 'secret-password';
const MESSAGE = Buffer.from(
  'From: Ann <ann@example.test>\r\nTo: demo@example.test\r\nSubject: Hello\r\nDate: Tue, 5 Mar 2024 10:00:00 +0100\r\n\r\nHi there.\r\n',
);

let dir: string;
let store: SqliteStore;
let blobs: FsBlobStore;
let deps: ImapDeps;
let imap: ImapServer;
let port: number;
let passwordHash: string;
let accounts = 0;
let account: string;
let client: ImapClient;

function registry(): Map<string, CommandSpec> {
  const mine = [
    listMailboxes,
    lsub,
    create,
    deleteMailbox,
    rename,
    subscribeMailbox,
    unsubscribeMailbox,
    status,
    append,
  ];
  return new Map([...commandRegistry(), ...mine.map((spec): [string, CommandSpec] => [spec.name, spec])]);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mailroom-imap-mailboxes-'));
  store = SqliteStore.open(join(dir, 'mailroom.db'));
  blobs = new FsBlobStore(join(dir, 'blobs'));
  deps = { ...createImapDeps(store, blobs, silentLogger), commands: registry() };
  imap = createImapServer(deps, { hostname: 'mailroom.test', allowInsecureAuth: true });
  port = await new Promise<number>((resolve) => {
    imap.server.listen(0, '127.0.0.1', () => resolve((imap.server.address() as AddressInfo).port));
  });
  await store.addDomain('example.test');
  passwordHash = await hashPassword(PASSWORD);
});

afterAll(async () => {
  await imap.close();
  deps.notifier.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  // A fresh account per test: INBOX, Sent, Drafts, Trash, Junk, Archive, all subscribed.
  account = `user${++accounts}@example.test`;
  await store.addAccount(account, passwordHash);
  client = await ImapClient.open(port);
  expect(await client.line()).toMatch(/^\* OK /);
  expect((await client.command(`LOGIN ${account} ${PASSWORD}`)).tagged).toMatch(/^OK /);
});

afterEach(() => {
  client.close();
});

const DEFAULT_LIST = [
  '* LIST (\\HasNoChildren) "/" INBOX',
  '* LIST (\\HasNoChildren \\Archive) "/" Archive',
  '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
  '* LIST (\\HasNoChildren \\Junk) "/" Junk',
  '* LIST (\\HasNoChildren \\Sent) "/" Sent',
  '* LIST (\\HasNoChildren \\Trash) "/" Trash',
];

async function uidValidity(name: string): Promise<number> {
  return (await store.getMailbox(account, name))!.uidValidity;
}

/** Appends MESSAGE with a non-synchronizing literal (LITERAL+). */
async function appendPlus(mailbox: string, extra = ''): Promise<string> {
  const tag = client.newTag();
  client.write(
    Buffer.concat([
      Buffer.from(`${tag} APPEND ${mailbox}${extra} {${MESSAGE.length}+}\r\n`),
      MESSAGE,
      Buffer.from('\r\n'),
    ]),
  );
  return (await client.until(tag)).tagged;
}

describe('LIST', () => {
  it('answers the delimiter for an empty pattern', async () => {
    expect(await client.lines('LIST "" ""')).toEqual(['* LIST (\\Noselect) "/" ""', 'OK LIST completed']);
  });

  it('lists every mailbox with "*": INBOX first, special uses and children attributes', async () => {
    expect(await client.lines('LIST "" *')).toEqual([...DEFAULT_LIST, 'OK LIST completed']);
  });

  it('shows parents the store does not have as \\Noselect (basic) or \\NonExistent (extended)', async () => {
    // Prepare
    expect((await client.command('CREATE Work/Projects/2024')).tagged).toBe('OK CREATE completed');

    // Act / Assess
    expect(await client.lines('LIST "" %')).toEqual([
      ...DEFAULT_LIST,
      '* LIST (\\Noselect \\HasChildren) "/" Work',
      'OK LIST completed',
    ]);
    expect(await client.lines('LIST "" Work/*')).toEqual([
      '* LIST (\\Noselect \\HasChildren) "/" Work/Projects',
      '* LIST (\\HasNoChildren) "/" Work/Projects/2024',
      'OK LIST completed',
    ]);
    expect(await client.lines('LIST "Work/" %')).toEqual([
      '* LIST (\\Noselect \\HasChildren) "/" Work/Projects',
      'OK LIST completed',
    ]);
    expect(await client.lines('LIST () "" W%')).toEqual([
      '* LIST (\\NonExistent \\HasChildren) "/" Work',
      'OK LIST completed',
    ]);
  });

  it('matches INBOX case-insensitively and always spells it INBOX', async () => {
    expect(await client.lines('LIST "" inbox')).toEqual([
      '* LIST (\\HasNoChildren) "/" INBOX',
      'OK LIST completed',
    ]);
    expect(await client.lines('LIST "" In%')).toEqual([
      '* LIST (\\HasNoChildren) "/" INBOX',
      'OK LIST completed',
    ]);
    expect(await client.lines('LIST "" inbOX*')).toEqual([
      '* LIST (\\HasNoChildren) "/" INBOX',
      'OK LIST completed',
    ]);
  });

  it('takes several patterns (LIST-EXTENDED) and lists each mailbox once', async () => {
    expect(await client.lines('LIST "" (INBOX Sent S* "")')).toEqual([
      '* LIST (\\Noselect) "/" ""',
      '* LIST (\\HasNoChildren) "/" INBOX',
      '* LIST (\\HasNoChildren \\Sent) "/" Sent',
      'OK LIST completed',
    ]);
  });

  it('selects special-use mailboxes with (SPECIAL-USE)', async () => {
    // Prepare
    await client.command('CREATE Plain');

    // Act / Assess
    expect(await client.lines('LIST (SPECIAL-USE) "" * RETURN (SPECIAL-USE)')).toEqual([
      '* LIST (\\HasNoChildren \\Archive) "/" Archive',
      '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
      '* LIST (\\HasNoChildren \\Junk) "/" Junk',
      '* LIST (\\HasNoChildren \\Sent) "/" Sent',
      '* LIST (\\HasNoChildren \\Trash) "/" Trash',
      'OK LIST completed',
    ]);
  });

  it('selects and returns subscriptions; RECURSIVEMATCH reports parents with CHILDINFO', async () => {
    // Prepare: Junk unsubscribed; "Lists/a" subscribed under a parent that does not exist.
    expect((await client.command('UNSUBSCRIBE Junk')).tagged).toBe('OK UNSUBSCRIBE completed');
    await client.command('CREATE Lists/a');

    // Act / Assess
    expect(await client.lines('LIST (SUBSCRIBED) "" %')).toEqual([
      '* LIST (\\Subscribed \\HasNoChildren) "/" INBOX',
      '* LIST (\\Subscribed \\HasNoChildren \\Archive) "/" Archive',
      '* LIST (\\Subscribed \\HasNoChildren \\Drafts) "/" Drafts',
      '* LIST (\\Subscribed \\HasNoChildren \\Sent) "/" Sent',
      '* LIST (\\Subscribed \\HasNoChildren \\Trash) "/" Trash',
      'OK LIST completed',
    ]);
    expect(await client.lines('LIST (SUBSCRIBED RECURSIVEMATCH) "" L%')).toEqual([
      '* LIST (\\NonExistent \\HasChildren) "/" Lists ("CHILDINFO" ("SUBSCRIBED"))',
      'OK LIST completed',
    ]);
    expect(await client.lines('LIST "" J* RETURN (SUBSCRIBED CHILDREN)')).toEqual([
      '* LIST (\\HasNoChildren \\Junk) "/" Junk',
      'OK LIST completed',
    ]);
    expect(await client.lines('LIST "" (Drafts Junk) RETURN (SUBSCRIBED)')).toEqual([
      '* LIST (\\Subscribed \\HasNoChildren \\Drafts) "/" Drafts',
      '* LIST (\\HasNoChildren \\Junk) "/" Junk',
      'OK LIST completed',
    ]);
  });

  it('answers BAD for unknown options and RECURSIVEMATCH alone', async () => {
    expect((await client.command('LIST (RECURSIVEMATCH) "" *')).tagged).toMatch(/^BAD /);
    expect((await client.command('LIST (BOGUS) "" *')).tagged).toMatch(/^BAD /);
    expect((await client.command('LIST "" * RETURN (BOGUS)')).tagged).toMatch(/^BAD /);
    expect((await client.command('LIST "" * NOTRETURN (CHILDREN)')).tagged).toMatch(/^BAD /);
    expect((await client.command('LIST "" ()')).tagged).toMatch(/^BAD /);
    expect((await client.command('LIST ""')).tagged).toMatch(/^BAD /);
  });

  it('returns STATUS after each selectable mailbox (LIST-STATUS)', async () => {
    // Prepare
    expect(await appendPlus('INBOX')).toMatch(/^OK \[APPENDUID /);
    await client.command('CREATE Lists/a');
    const inbox = await uidValidity('INBOX');
    const a = await uidValidity('Lists/a');

    // Act / Assess
    expect(
      await client.lines('LIST "" (INBOX Lists*) RETURN (STATUS (MESSAGES UNSEEN UIDNEXT UIDVALIDITY))'),
    ).toEqual([
      '* LIST (\\HasNoChildren) "/" INBOX',
      `* STATUS INBOX (MESSAGES 1 UNSEEN 1 UIDNEXT 2 UIDVALIDITY ${inbox})`,
      '* LIST (\\NonExistent \\HasChildren) "/" Lists',
      '* LIST (\\HasNoChildren) "/" Lists/a',
      `* STATUS Lists/a (MESSAGES 0 UNSEEN 0 UIDNEXT 1 UIDVALIDITY ${a})`,
      'OK LIST completed',
    ]);
  });

  it('encodes names in modified UTF-7, or UTF-8 after ENABLE UTF8=ACCEPT', async () => {
    // Prepare: "Отчёты" in modified UTF-7 (RFC 3501 §5.1.3).
    expect((await client.command('CREATE &BB4EQgRHBFEEQgRL-/2024')).tagged).toBe('OK CREATE completed');
    expect((await store.getMailbox(account, 'Отчёты/2024'))?.name).toBe('Отчёты/2024');

    // Act / Assess
    expect(await client.lines('LIST "" &BB4EQgRHBFEEQgRL-*')).toEqual([
      '* LIST (\\Noselect \\HasChildren) "/" &BB4EQgRHBFEEQgRL-',
      '* LIST (\\HasNoChildren) "/" &BB4EQgRHBFEEQgRL-/2024',
      'OK LIST completed',
    ]);
    expect(await client.lines('ENABLE UTF8=ACCEPT')).toEqual([
      '* ENABLED UTF8=ACCEPT',
      'OK ENABLE completed',
    ]);
    expect(await client.lines(Buffer.from('LIST "" "Отчёты/*"'))).toEqual([
      '* LIST (\\HasNoChildren) "/" "Отчёты/2024"',
      'OK LIST completed',
    ]);
    expect((await client.command(Buffer.from('CREATE "Входящие"'))).tagged).toBe('OK CREATE completed');
    expect(await client.lines(Buffer.from('STATUS "Входящие" (MESSAGES)'))).toEqual([
      '* STATUS "Входящие" (MESSAGES 0)',
      'OK STATUS completed',
    ]);
  });

  it('matches hostile patterns without backtracking blow-up', async () => {
    // Prepare
    await client.command(`CREATE ${'a'.repeat(200)}`);
    const started = Date.now();

    // Act / Assess
    expect(await client.lines(`LIST "" "${'*a'.repeat(150)}*b"`)).toEqual(['OK LIST completed']);
    expect(await client.lines(`LIST "" "${'%'.repeat(5000)}${'a'.repeat(201)}"`)).toEqual([
      'OK LIST completed',
    ]);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('is not allowed before login', async () => {
    const other = await ImapClient.open(port);
    await other.line();
    expect((await other.command('LIST "" *')).tagged).toMatch(/^BAD /);
    other.close();
  });
});

describe('LSUB', () => {
  it('lists subscribed mailboxes, and unsubscribed parents of subscribed ones as \\Noselect after "%"', async () => {
    // Prepare
    await client.command('UNSUBSCRIBE Junk');
    await client.command('CREATE Lists/a');

    // Act / Assess
    expect(await client.lines('LSUB "" *')).toEqual([
      '* LSUB () "/" INBOX',
      '* LSUB () "/" Archive',
      '* LSUB () "/" Drafts',
      '* LSUB () "/" Lists/a',
      '* LSUB () "/" Sent',
      '* LSUB () "/" Trash',
      'OK LSUB completed',
    ]);
    expect(await client.lines('LSUB "" L%')).toEqual(['* LSUB (\\Noselect) "/" Lists', 'OK LSUB completed']);
    expect(await client.lines('LSUB "" J*')).toEqual(['OK LSUB completed']);
  });
});

describe('CREATE', () => {
  it('creates a mailbox; a trailing delimiter only declares children', async () => {
    expect((await client.command('CREATE Projects/')).tagged).toBe('OK CREATE completed');
    expect(await client.lines('LIST "" Proj*')).toEqual([
      '* LIST (\\HasNoChildren) "/" Projects',
      'OK LIST completed',
    ]);
  });

  it('answers NO [ALREADYEXISTS] for an existing name and for INBOX in any case', async () => {
    expect(await client.lines('CREATE Sent')).toEqual(['NO [ALREADYEXISTS] Mailbox "Sent" already exists']);
    expect((await client.command('CREATE inbox')).tagged).toMatch(/^NO \[ALREADYEXISTS\] /);
    expect((await client.command('CREATE INBOX')).tagged).toMatch(/^NO \[ALREADYEXISTS\] /);
  });

  it('answers NO [CANNOT] for invalid names', async () => {
    expect((await client.command('CREATE a//b')).tagged).toMatch(/^NO \[CANNOT\] /);
    expect((await client.command('CREATE /abs')).tagged).toMatch(/^NO \[CANNOT\] /);
    // Not valid modified UTF-7: "&" must be written "&-", 8-bit needs UTF8=ACCEPT.
    expect((await client.command('CREATE "a&b"')).tagged).toMatch(/^NO \[CANNOT\] /);
    expect((await client.command(Buffer.from('CREATE "Отчёты"'))).tagged).toMatch(/^NO \[CANNOT\] /);
    expect((await client.command('CREATE "A&-B"')).tagged).toBe('OK CREATE completed');
    expect((await store.getMailbox(account, 'A&B'))?.name).toBe('A&B');
  });

  it('creates with a special use (CREATE-SPECIAL-USE), or answers NO [USEATTR]', async () => {
    expect((await client.command('CREATE "Sent Items" (USE (\\Sent))')).tagged).toBe('OK CREATE completed');
    expect(await client.lines('LIST "" "Sent Items"')).toEqual([
      '* LIST (\\HasNoChildren \\Sent) "/" "Sent Items"',
      'OK LIST completed',
    ]);
    expect((await client.command('CREATE Flagged (USE (\\Flagged))')).tagged).toMatch(/^NO \[USEATTR\] /);
    expect((await client.command('CREATE Odd (USE (\\Bogus))')).tagged).toMatch(/^NO \[USEATTR\] /);
    expect((await client.command('CREATE Two (USE (\\Sent \\Trash))')).tagged).toMatch(/^NO \[USEATTR\] /);
    expect((await client.command('CREATE Other (COLOR (red))')).tagged).toMatch(/^BAD /);
    expect(await client.lines('LIST "" (Flagged Odd Two Other)')).toEqual(['OK LIST completed']);
  });
});

describe('DELETE', () => {
  it('deletes a mailbox but leaves its children', async () => {
    await client.command('CREATE Old');
    await client.command('CREATE Old/Kid');
    expect((await client.command('DELETE Old')).tagged).toBe('OK DELETE completed');
    expect(await client.lines('LIST "" Old*')).toEqual([
      '* LIST (\\Noselect \\HasChildren) "/" Old',
      '* LIST (\\HasNoChildren) "/" Old/Kid',
      'OK LIST completed',
    ]);
  });

  it('refuses INBOX with NO [CANNOT] and a missing mailbox with NO [NONEXISTENT]', async () => {
    expect(await client.lines('DELETE inbox')).toEqual(['NO [CANNOT] INBOX cannot be deleted']);
    expect(await client.lines('DELETE Nope')).toEqual(['NO [NONEXISTENT] No mailbox "Nope"']);
  });

  it('closes the selected mailbox when it is deleted', async () => {
    // Prepare
    await client.command('CREATE Doomed');
    expect((await client.command('SELECT Doomed')).tagged).toMatch(/^OK \[READ-WRITE\] /);

    // Act
    const deleted = await client.lines('DELETE Doomed');

    // Assess
    expect(deleted).toEqual(['* OK [CLOSED] Selected mailbox was deleted', 'OK DELETE completed']);
    expect((await client.command('CLOSE')).tagged).toMatch(/^BAD /);
    expect((await client.command('NOOP')).tagged).toMatch(/^OK /);
  });
});

describe('RENAME', () => {
  it('renames a mailbox with its children', async () => {
    await client.command('CREATE P');
    await client.command('CREATE P/c');
    expect((await client.command('RENAME P Q')).tagged).toBe('OK RENAME completed');
    expect(await client.lines('LIST "" *')).toEqual([
      ...DEFAULT_LIST.slice(0, 4),
      '* LIST (\\HasChildren) "/" Q',
      '* LIST (\\HasNoChildren) "/" Q/c',
      ...DEFAULT_LIST.slice(4),
      'OK LIST completed',
    ]);
  });

  it('answers NO [NONEXISTENT], NO [ALREADYEXISTS] and NO [CANNOT]', async () => {
    await client.command('CREATE P');
    expect(await client.lines('RENAME Nope X')).toEqual(['NO [NONEXISTENT] No mailbox "Nope"']);
    expect((await client.command('RENAME P Sent')).tagged).toMatch(/^NO \[ALREADYEXISTS\] /);
    expect((await client.command('RENAME P inbox')).tagged).toMatch(/^NO \[ALREADYEXISTS\] /);
    expect((await client.command('RENAME P P/in')).tagged).toMatch(/^NO \[CANNOT\] /);
  });

  it('moves the messages of INBOX into the new mailbox and leaves INBOX empty', async () => {
    // Prepare
    await appendPlus('INBOX');

    // Act
    expect((await client.command('RENAME INBOX "Old Mail"')).tagged).toBe('OK RENAME completed');

    // Assess
    expect(await client.lines('STATUS INBOX (MESSAGES)')).toEqual([
      '* STATUS INBOX (MESSAGES 0)',
      'OK STATUS completed',
    ]);
    expect(await client.lines('STATUS "Old Mail" (MESSAGES)')).toEqual([
      '* STATUS "Old Mail" (MESSAGES 1)',
      'OK STATUS completed',
    ]);
  });

  it('closes the selected mailbox when it or its parent is renamed', async () => {
    await client.command('CREATE P/c');
    await client.command('SELECT P/c');
    expect(await client.lines('RENAME P/c R')).toEqual([
      '* OK [CLOSED] Selected mailbox was renamed',
      'OK RENAME completed',
    ]);
    await client.command('CREATE S');
    await client.command('CREATE S/c');
    await client.command('EXAMINE S/c');
    expect(await client.lines('RENAME S T')).toEqual([
      '* OK [CLOSED] Selected mailbox was renamed',
      'OK RENAME completed',
    ]);
    expect(await client.lines('LIST "" (T T/%)')).toEqual([
      '* LIST (\\HasChildren) "/" T',
      '* LIST (\\HasNoChildren) "/" T/c',
      'OK LIST completed',
    ]);
  });
});

describe('SUBSCRIBE and UNSUBSCRIBE', () => {
  it('changes the subscription, and needs the mailbox to exist', async () => {
    await client.command('CREATE News');
    expect((await client.command('UNSUBSCRIBE News')).tagged).toBe('OK UNSUBSCRIBE completed');
    expect(await client.lines('LSUB "" News')).toEqual(['OK LSUB completed']);
    expect((await client.command('SUBSCRIBE News')).tagged).toBe('OK SUBSCRIBE completed');
    expect(await client.lines('LSUB "" News')).toEqual(['* LSUB () "/" News', 'OK LSUB completed']);
    expect(await client.lines('SUBSCRIBE Nope')).toEqual(['NO [NONEXISTENT] No mailbox "Nope"']);
    expect((await client.command('UNSUBSCRIBE Nope')).tagged).toMatch(/^NO \[NONEXISTENT\] /);
  });
});

describe('STATUS', () => {
  it('answers every item from the mailbox record', async () => {
    // Prepare
    await appendPlus('INBOX');
    await appendPlus('INBOX', ' (\\Seen)');
    const box = (await store.getMailbox(account, 'INBOX'))!;

    // Act / Assess
    expect(
      await client.lines(
        'STATUS inbox (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ APPENDLIMIT)',
      ),
    ).toEqual([
      `* STATUS INBOX (MESSAGES 2 RECENT 0 UIDNEXT 3 UIDVALIDITY ${box.uidValidity} UNSEEN 1 HIGHESTMODSEQ ${box.highestModseq} APPENDLIMIT ${APPEND_LIMIT})`,
      'OK STATUS completed',
    ]);
  });

  it('answers NO [NONEXISTENT] for a missing mailbox and BAD for bad items', async () => {
    expect(await client.lines('STATUS Nope (MESSAGES)')).toEqual(['NO [NONEXISTENT] No mailbox "Nope"']);
    expect((await client.command('STATUS INBOX (BOGUS)')).tagged).toMatch(/^BAD /);
    expect((await client.command('STATUS INBOX ()')).tagged).toMatch(/^BAD /);
    expect((await client.command('STATUS INBOX')).tagged).toMatch(/^BAD /);
  });
});

describe('APPEND', () => {
  it('takes a synchronizing literal with flags and a date, and answers APPENDUID', async () => {
    // Act
    const tag = client.newTag();
    client.write(
      `${tag} APPEND Drafts (\\Seen \\Recent $Label) "05-Mar-2024 10:00:00 +0100" {${MESSAGE.length}}\r\n`,
    );
    expect(await client.line()).toMatch(/^\+ /);
    client.write(Buffer.concat([MESSAGE, Buffer.from('\r\n')]));
    const { untagged, tagged } = await client.until(tag);

    // Assess
    expect(untagged).toEqual([]);
    expect(tagged).toBe(`OK [APPENDUID ${await uidValidity('Drafts')} 1] APPEND completed`);
    const stored = (await store.getMessage(account, 'Drafts', 1))!;
    expect(stored.flags).toEqual(['\\Seen', '$Label']);
    expect(stored.internalDate).toBe(Date.UTC(2024, 2, 5, 9, 0, 0));
    expect(stored.size).toBe(MESSAGE.length);
    expect(stored.blobKey).toMatch(/^raw\/\d{4}\/\d{2}\/\d{2}\/\w+\.eml$/);
    expect(await blobs.getBuffer(stored.blobKey)).toEqual(MESSAGE);
    expect(stored.summary.subject).toBe('Hello');
  });

  it('takes a non-synchronizing literal (LITERAL+) and the UTF8 form, and counts UIDs up', async () => {
    const validity = await uidValidity('INBOX');
    expect(await appendPlus('INBOX')).toBe(`OK [APPENDUID ${validity} 1] APPEND completed`);
    const before = Date.now();
    const tagged = (
      await client.command(
        Buffer.concat([
          Buffer.from(`APPEND INBOX UTF8 (~{${MESSAGE.length}+}\r\n`),
          MESSAGE,
          Buffer.from(')'),
        ]),
      )
    ).tagged;
    expect(tagged).toBe(`OK [APPENDUID ${validity} 2] APPEND completed`);
    const stored = (await store.getMessage(account, 'INBOX', 2))!;
    expect(stored.flags).toEqual([]);
    expect(stored.internalDate).toBeGreaterThanOrEqual(before - 1000);
  });

  it('takes a literal8 (BINARY) holding NUL', async () => {
    const raw = Buffer.concat([MESSAGE, Buffer.from([0, 1, 2, 0x0d, 0x0a])]);
    const tag = client.newTag();
    client.write(
      Buffer.concat([Buffer.from(`${tag} APPEND INBOX ~{${raw.length}+}\r\n`), raw, Buffer.from('\r\n')]),
    );
    expect((await client.until(tag)).tagged).toMatch(/^OK \[APPENDUID \d+ 1\] /);
    expect(await blobs.getBuffer((await store.getMessage(account, 'INBOX', 1))!.blobKey)).toEqual(raw);
  });

  it('announces the new message when it lands in the selected mailbox', async () => {
    // Prepare
    expect((await client.command('SELECT INBOX')).tagged).toMatch(/^OK /);

    // Act
    const tag = client.newTag();
    client.write(
      Buffer.concat([
        Buffer.from(`${tag} APPEND INBOX {${MESSAGE.length}+}\r\n`),
        MESSAGE,
        Buffer.from('\r\n'),
      ]),
    );
    const { untagged, tagged } = await client.until(tag);

    // Assess
    expect(untagged).toEqual(['* 1 EXISTS']);
    expect(tagged).toMatch(/^OK \[APPENDUID \d+ 1\] /);
  });

  it('answers NO [TRYCREATE] when the mailbox does not exist', async () => {
    expect(await appendPlus('Nope')).toBe('NO [TRYCREATE] No mailbox "Nope"');
    expect(await store.getMailbox(account, 'Nope')).toBeUndefined();
  });

  it('answers NO [TOOBIG] to a literal above APPENDLIMIT, before the client sends it', async () => {
    const tag = client.newTag();
    client.write(`${tag} APPEND INBOX {${APPEND_LIMIT + 1}}\r\n`);
    const line = await client.line();
    expect(line).toMatch(new RegExp(`^${tag} NO \\[TOOBIG\\] `));
    expect(await client.lines('NOOP')).toEqual(['OK NOOP completed']);
  });

  it('answers BAD for invalid flags, dates and arguments', async () => {
    expect(await appendPlus('INBOX', ' (\\Bogus)')).toMatch(/^BAD /);
    expect(await appendPlus('INBOX', ' (\\*)')).toMatch(/^BAD /);
    expect(await appendPlus('INBOX', ' "31-Feb-2024 10:00:00 +0000"')).toMatch(/^BAD /);
    expect(await appendPlus('INBOX', ' "5-Mar-2024 25:00:00 +0000"')).toMatch(/^BAD /);
    expect(await appendPlus('INBOX', ' "yesterday"')).toMatch(/^BAD /);
    expect((await client.command('APPEND INBOX')).tagged).toMatch(/^BAD /);
    expect((await client.command('APPEND INBOX (\\Seen)')).tagged).toMatch(/^BAD /);
    expect((await store.getMailbox(account, 'INBOX'))!.messages).toBe(0);
    // A space-padded day is the RFC 3501 form.
    expect(await appendPlus('INBOX', ' " 5-Mar-2024 23:59:59 -0800"')).toMatch(/^OK \[APPENDUID /);
    expect((await store.getMessage(account, 'INBOX', 1))!.internalDate).toBe(Date.UTC(2024, 2, 6, 7, 59, 59));
  });

  it('writes the mUTF-7 mailbox name back to the store as UTF-8', async () => {
    await client.command('CREATE &BB4EQgRHBFEEQgRL-');
    expect(await appendPlus('&BB4EQgRHBFEEQgRL-')).toMatch(/^OK \[APPENDUID /);
    expect((await store.getMailbox(account, 'Отчёты'))!.messages).toBe(1);
  });
});
