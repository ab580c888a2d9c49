import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend } from '../../lib/app/backend.js';
import { startAccess, type Backend, type RunningAccess } from '../../lib/app/mailroom.js';
import { createIngestHandler } from '../../functions/ingest.js';
import { hashPassword } from '../../lib/auth/password.js';
import { silentLogger } from '../../lib/log.js';
import type { MessageMeta } from '../../lib/store/types.js';
import { createAwsStack, type AwsStack } from '../helpers/aws-backend.js';
import {
  DEMO,
  DEMO_PASSWORD,
  connectImapflow,
  cyrillicMessage,
  nextEvent,
  plainMessage,
  run,
  uniqueTag,
} from '../helpers/imap-fixtures.js';
import { eventually } from '../helpers/mailroom.js';
import { ingestJob, sqsEvent } from '../helpers/sqs.js';

/*
 * The IMAP and POP3 servers, unchanged, on the aws backend: DynamoDB for the mailboxes, S3
 * for the bodies. Mail arrives the way it does in the cloud, through the Lambda handler
 * fed an SQS-shaped event.
 */

/** Words that do not compress much: `length` characters of them. */
function noise(length: number): string {
  let text = '';
  for (let i = 1; text.length < length; i++)
    text += ((i * 2654435761) >>> 0).toString(36) + (i % 12 ? ' ' : '\r\n');
  return text;
}

describe('IMAP and POP3 on the aws backend (DynamoDB + S3 on emulators)', () => {
  let stack: AwsStack;
  let backend: Backend;
  let access: RunningAccess;
  let deliverByLambda: (raw: Buffer) => Promise<MessageMeta>;
  const delivered: { meta: MessageMeta; raw: Buffer }[] = [];

  beforeAll(async () => {
    stack = await createAwsStack();
    backend = await openBackend(stack.config);
    await backend.store.addDomain('example.test');
    await backend.store.addAccount(DEMO, await hashPassword(DEMO_PASSWORD));
    access = await startAccess(backend, stack.config, silentLogger, undefined);
    // The Lambda handler, as the cloud runs it: its own wiring, an SQS event per message.
    const handler = createIngestHandler({ ...backend, logger: silentLogger });
    let n = 0;
    deliverByLambda = async (raw) => {
      n += 1;
      const job = ingestJob(`lambda-${Date.now().toString(36)}-${n}`, [DEMO]);
      await backend.blobs.put(job.blobKey, raw);
      const event = sqsEvent([job]);
      expect(await handler(event, {} as never)).toEqual({ batchItemFailures: [] });
      const all = await backend.store.listMessages(DEMO, 'INBOX');
      return all.find((m) => m.blobKey === job.blobKey)!;
    };
    for (const raw of [
      plainMessage(uniqueTag('aws1'), '.dot first\r\nsecond\r\n'),
      cyrillicMessage('koi8-r', uniqueTag('aws2'), 'Привет из облака', 'Текст письма'),
      // Text too long to keep inline: the store keeps none, SEARCH reads it from S3.
      plainMessage(uniqueTag('aws3'), `${noise(4000)}\r\nquasiparticle\r\n${noise(2000)}\r\n`),
    ]) {
      delivered.push({ meta: await deliverByLambda(raw), raw });
    }
  });

  afterAll(async () => {
    await access?.close();
    await backend?.close();
    await stack?.cleanup();
  });

  it('imapflow lists, selects and fetches every message byte for byte', async () => {
    const { client } = await connectImapflow(access.imapPort);
    try {
      const boxes = await client.list();
      expect(boxes.map((b) => b.path)).toEqual(expect.arrayContaining(['INBOX', 'Sent', 'Trash']));
      const box = await client.mailboxOpen('INBOX');
      expect(box.exists).toBe(delivered.length);
      for (const { meta, raw } of delivered) {
        const message = await client.fetchOne(
          String(meta.uid),
          { source: true, envelope: true },
          { uid: true },
        );
        expect(message && message.source?.subarray(-raw.length).equals(raw)).toBe(true);
      }
      const cyrillic = await client.fetchOne(
        String(delivered[1]!.meta.uid),
        { envelope: true },
        { uid: true },
      );
      expect(cyrillic && cyrillic.envelope?.subject).toMatch(/^Привет из облака/);
      const found = await client.search({ body: 'письма' }, { uid: true });
      expect(found).toEqual([delivered[1]!.meta.uid]);
      const deep = await client.search({ body: 'quasiparticle' }, { uid: true });
      expect(deep).toEqual([delivered[2]!.meta.uid]);
    } finally {
      await client.logout();
    }
  });

  it("python's imaplib and poplib read the same mailbox", async () => {
    const script = `
import imaplib, poplib, json
M = imaplib.IMAP4('127.0.0.1', ${access.imapPort})
M.login('${DEMO}', '${DEMO_PASSWORD}')
typ, data = M.select('INBOX')
count = int(data[0])
typ, data = M.uid('fetch', '1:*', '(RFC822.SIZE)')
sizes = [d.decode() for d in data]
M.logout()
P = poplib.POP3('127.0.0.1', ${access.pop3Port})
P.user('${DEMO}'); P.pass_('${DEMO_PASSWORD}')
uidl = [x.decode() for x in P.uidl()[1]]
first = P.retr(1)
P.quit()
print(json.dumps({'count': count, 'sizes': sizes, 'uidl': uidl, 'octets': first[2], 'lines': [l.decode('latin1') for l in first[1]]}))
`;
    const result = await run('python3', ['-c', script]);
    expect(result.stderr).toBe('');
    const out = JSON.parse(result.stdout.toString()) as {
      count: number;
      sizes: string[];
      uidl: string[];
      octets: number;
      lines: string[];
    };
    const uidValidity = (await backend.store.getMailbox(DEMO, 'INBOX'))!.uidValidity;
    expect(out.count).toBe(delivered.length);
    expect(out.sizes.map((s) => Number(/RFC822\.SIZE (\d+)/.exec(s)![1]))).toEqual(
      delivered.map((d) => d.meta.size),
    );
    expect(out.uidl).toEqual(delivered.map((d, i) => `${i + 1} ${uidValidity}.${d.meta.uid}`));
    expect(out.octets).toBe(delivered[0]!.meta.size);
    const stored = await backend.blobs.getBuffer(delivered[0]!.meta.blobKey);
    expect(Buffer.from(out.lines.join('\r\n') + '\r\n', 'latin1').equals(stored)).toBe(true);
  });

  it('an IDLE session hears of a delivery made by the Lambda handler within 2 s', async () => {
    const { client, nextIdle } = await connectImapflow(access.imapPort);
    try {
      await client.mailboxOpen('INBOX');
      const idling = nextIdle();
      void client.idle();
      await idling;
      const heard = nextEvent(client, 'exists', (data) => data.count === delivered.length + 1, 2000);
      const sentAt = Date.now();
      const meta = await deliverByLambda(plainMessage(uniqueTag('idle')));
      const { at } = await heard;
      expect(at - sentAt).toBeLessThan(2000);
      delivered.push({ meta, raw: await backend.blobs.getBuffer(meta.blobKey) });
    } finally {
      await client.logout();
    }
    await eventually(async () =>
      (await backend.store.getMailbox(DEMO, 'INBOX'))!.messages === delivered.length ? true : undefined,
    );
  });
});
