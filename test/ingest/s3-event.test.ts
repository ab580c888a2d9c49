import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../../lib/config.js';
import { silentLogger } from '../../lib/log.js';
import { openEmbedded, type Backend } from '../../lib/app/mailroom.js';
import { hashPassword } from '../../lib/auth/password.js';
import { createIngestHandler } from '../../functions/ingest.js';
import { S3BlobStore } from '../../lib/blob/s3/s3-blob-store.js';
import { PermanentIngestError } from '../../lib/ingest/service.js';
import {
  blobKeyOf,
  ingestS3Notification,
  parseS3Notification,
  readSesEnvelope,
  SES_SETUP_OBJECT,
  type S3Notification,
} from '../../lib/ingest/s3-event.js';
import type { SqsEvent } from '../../lib/queue/sqs-event.js';
import { tempDir } from '../helpers/mailroom.js';
import { clientConfig, uniqueName } from '../helpers/aws.js';

const SES_ID = 'o3vhmh6a6g2i0dbcvhv8bdmmnb9e7n8ttasg5s81';

/** A message as SES's S3 action stores it: SES's fields prepended to what the sender sent. */
function sesMessage(options: { virus?: string; rcpt?: string; returnPath?: string } = {}): Buffer {
  return Buffer.from(
    [
      `Return-Path: ${options.returnPath ?? '<alice@sender.example>'}`,
      'Received: from mail-wm1-f41.google.com (mail-wm1-f41.google.com [209.85.128.41])',
      ` by inbound-smtp.us-east-1.amazonaws.com with SMTP id ${SES_ID}`,
      ` for ${options.rcpt ?? 'demo@example.test'};`,
      ' Thu, 02 May 2024 10:15:29 +0000 (UTC)',
      'X-SES-Spam-Verdict: PASS',
      `X-SES-Virus-Verdict: ${options.virus ?? 'PASS'}`,
      'Received-SPF: pass (spfCheck: domain of sender.example designates 209.85.128.41 as permitted sender)',
      ' client-ip=209.85.128.41; envelope-from=alice@sender.example; helo=mail-wm1-f41.google.com;',
      'Authentication-Results: amazonses.com;',
      ' spf=pass (spfCheck: domain of sender.example designates 209.85.128.41 as permitted sender)',
      ' client-ip=209.85.128.41; envelope-from=alice@sender.example; helo=mail-wm1-f41.google.com;',
      ' dkim=pass header.i=@sender.example; dmarc=pass header.from=sender.example;',
      'X-SES-RECEIPT: AEFBQUFBQUFBQUFHbWVzc2FnZS1yZWNlaXB0LWJsb2I=',
      'X-SES-DKIM-SIGNATURE: a=rsa-sha256; q=dns/txt; c=relaxed/simple; s=224i4yxa5dv7c2xz3womw6peuasteono; d=amazonses.com; v=1; bh=x; h=From:To:Subject; b=y',
      'Received: by mail-wm1-f41.google.com with SMTP id 5b1f17b1804b1 for <someone@else.test>;',
      ' Thu, 02 May 2024 03:15:28 -0700 (PDT)',
      // A sender's own verdict: SES's, above, is the one read.
      'X-SES-Virus-Verdict: FAIL',
      'From: Alice <alice@sender.example>',
      'To: Demo <demo@example.test>, friend@elsewhere.test',
      'Cc: team@example.test',
      'Subject: via SES',
      'Date: Thu, 02 May 2024 12:15:20 +0200',
      'Message-ID: <CAF1@mail.gmail.com>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=UTF-8',
      '',
      'Hello over SES.',
      '',
    ].join('\r\n'),
  );
}

/** An S3 event notification as S3 puts it on the queue (event structure version 2.1). */
function s3Event(key: string, bucket = 'mailroom-raw', eventName = 'ObjectCreated:Put') {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: '2024-05-02T10:15:30.123Z',
        eventName,
        userIdentity: { principalId: 'AWS:AROAEXAMPLE:ses-receipt' },
        requestParameters: { sourceIPAddress: '10.0.0.1' },
        responseElements: {
          'x-amz-request-id': 'C3D13FE58DE4C810',
          'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD',
        },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'SesIngressNotification',
          bucket: {
            name: bucket,
            ownerIdentity: { principalId: 'A3NL1KOZZKExample' },
            arn: `arn:aws:s3:::${bucket}`,
          },
          object: {
            key,
            size: 1024,
            eTag: 'd41d8cd98f00b204e9800998ecf8427e',
            sequencer: '0055AED6DCD90281E5',
          },
        },
      },
    ],
  };
}

const TEST_EVENT = {
  Service: 'Amazon S3',
  Event: 's3:TestEvent',
  Time: '2024-05-02T10:00:00.000Z',
  Bucket: 'mailroom-raw',
  RequestId: '5582815E1AEA5ADF',
  HostId: '8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE',
};

function sqsEvent(body: unknown, messageId = 'm-1'): SqsEvent {
  return {
    Records: [
      {
        messageId,
        receiptHandle: 'r',
        body: JSON.stringify(body),
        attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()) },
        messageAttributes: {},
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:111111111111:ingest',
        awsRegion: 'us-east-1',
      },
    ],
  };
}

function objects(notification: S3Notification | undefined) {
  if (notification?.kind !== 'objects')
    throw new Error(`expected objects, got ${JSON.stringify(notification)}`);
  return notification.objects;
}

describe('parseS3Notification', () => {
  it('reads bucket, decoded key and event time from an ObjectCreated record', () => {
    // Prepare: S3 form-encodes keys: a space as +, a + as %2B.
    const body = JSON.stringify(s3Event('ses/a+b%2Bc%3D'));

    // Act
    const [object] = objects(parseS3Notification(body));

    // Assess
    expect(object).toEqual({
      eventName: 'ObjectCreated:Put',
      eventTime: '2024-05-02T10:15:30.123Z',
      bucket: 'mailroom-raw',
      key: 'ses/a b+c=',
    });
  });

  it("recognises S3's test event", () => {
    expect(parseS3Notification(JSON.stringify(TEST_EVENT))).toEqual({ kind: 'test', bucket: 'mailroom-raw' });
  });

  it('leaves IngestJobs and non-JSON to parseJob', () => {
    expect(
      parseS3Notification(JSON.stringify({ id: 'x', blobKey: 'raw/x.eml', rcptTo: [] })),
    ).toBeUndefined();
    expect(parseS3Notification('not json')).toBeUndefined();
    expect(parseS3Notification(JSON.stringify({ Records: [{ eventSource: 'aws:sns' }] }))).toBeUndefined();
  });

  it('refuses for good an S3 record without its key', () => {
    const event = s3Event('ses/x');
    delete (event.Records[0]!.s3.object as { key?: string }).key;
    expect(() => parseS3Notification(JSON.stringify(event))).toThrow(PermanentIngestError);
  });
});

describe('readSesEnvelope', () => {
  it('reads the envelope SES wrote on top of the stored message', () => {
    expect(readSesEnvelope(sesMessage())).toEqual({
      mailFrom: 'alice@sender.example',
      forRecipients: ['demo@example.test'],
      headerRecipients: ['demo@example.test', 'friend@elsewhere.test', 'team@example.test'],
      clientAddress: '209.85.128.41',
      helo: 'mail-wm1-f41.google.com',
      spamVerdict: 'PASS',
      virusVerdict: 'PASS',
    });
  });

  it('takes every address of the for clause, and <> as the null reverse path', () => {
    const envelope = readSesEnvelope(
      sesMessage({ rcpt: '<ann@example.test>, <ben@example.test>', returnPath: '<>' }),
    );
    expect(envelope.forRecipients).toEqual(['ann@example.test', 'ben@example.test']);
    expect(envelope.mailFrom).toBeNull();
  });

  it('reads only the topmost verdicts, the ones SES wrote', () => {
    expect(readSesEnvelope(sesMessage()).virusVerdict).toBe('PASS');
    expect(readSesEnvelope(sesMessage({ virus: 'FAIL' })).virusVerdict).toBe('FAIL');
  });

  it('falls back to Received-SPF for the client, and has no recipients when nothing names one', () => {
    const raw = Buffer.from(
      'Received-SPF: none client-ip=192.0.2.7; envelope-from=x@y.test; helo=relay.y.test;\r\nSubject: bare\r\n\r\nx\r\n',
    );
    expect(readSesEnvelope(raw)).toMatchObject({
      clientAddress: '192.0.2.7',
      helo: 'relay.y.test',
      mailFrom: null,
      forRecipients: [],
      headerRecipients: [],
    });
  });
});

describe('blobKeyOf', () => {
  it('strips the BlobStore prefix as S3BlobStore adds it', () => {
    expect(blobKeyOf(`ses/${SES_ID}`)).toBe(`ses/${SES_ID}`);
    expect(blobKeyOf(`mail/ses/${SES_ID}`, 'mail')).toBe(`ses/${SES_ID}`);
    expect(blobKeyOf(`mail/ses/${SES_ID}`, 'mail/')).toBe(`ses/${SES_ID}`);
  });

  it('refuses for good a key outside the prefix or one no BlobStore can hold', () => {
    expect(() => blobKeyOf(`ses/${SES_ID}`, 'mail/')).toThrow(PermanentIngestError);
    expect(() => blobKeyOf('ses/a b')).toThrow(PermanentIngestError);
    expect(() => blobKeyOf('ses/../x')).toThrow(PermanentIngestError);
  });
});

describe('SES ingress through the ingest handler (local backend)', () => {
  let dataDir: string;
  let data: Backend;
  beforeEach(async () => {
    dataDir = await tempDir();
    data = openEmbedded(loadConfig({ dataDir }, {}));
    await data.store.addDomain('example.test');
    await data.store.addAccount('demo@example.test', await hashPassword('demo-password'));
    await data.store.addAccount('carol@example.test', await hashPassword('carol-password'));
    await data.store.addAlias('team@example.test', ['carol@example.test']);
  });
  afterEach(async () => {
    await data.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('files a message SES stored when its S3 notification arrives, once however often it arrives', async () => {
    // Prepare
    const handler = createIngestHandler({ ...data, logger: silentLogger });
    await data.blobs.put(`raw/ses/${SES_ID}`, sesMessage());

    // Act
    const first = await handler(sqsEvent(s3Event(`raw/ses/${SES_ID}`)), {} as never);
    const again = await handler(sqsEvent(s3Event(`raw/ses/${SES_ID}`), 'm-2'), {} as never);

    // Assess
    expect(first).toEqual({ batchItemFailures: [] });
    expect(again).toEqual({ batchItemFailures: [] });
    const [stored, ...more] = await data.store.listMessages('demo@example.test', 'INBOX');
    expect(more).toEqual([]);
    expect(stored!.summary.subject).toBe('via SES');
    expect(stored!.blobKey).toBe(`raw/ses/${SES_ID}`);
    expect(stored!.internalDate).toBe(Date.parse('2024-05-02T10:15:30.123Z'));
    // Cc'd to an alias of ours: its target gets the message too.
    expect(await data.store.listMessages('carol@example.test', 'INBOX')).toHaveLength(1);
  });

  it('acknowledges the S3 test event and files nothing', async () => {
    const handler = createIngestHandler({ ...data, logger: silentLogger });
    expect(await handler(sqsEvent(TEST_EVENT), {} as never)).toEqual({ batchItemFailures: [] });
    expect(await data.store.listMessages('demo@example.test', 'INBOX')).toEqual([]);
  });

  it('acknowledges the object SES writes when its rule is made, and files nothing', async () => {
    // Prepare: SES checks it may write by storing this object under the prefix.
    const handler = createIngestHandler({ ...data, logger: silentLogger });
    await data.blobs.put(`raw/ses/${SES_SETUP_OBJECT}`, Buffer.from('Amazon SES setup notification\r\n'));

    // Act
    const response = await handler(sqsEvent(s3Event(`raw/ses/${SES_SETUP_OBJECT}`)), {} as never);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await data.store.listMessages('demo@example.test', 'INBOX')).toEqual([]);
  });

  it('builds the job from the stored message: id from the key, envelope from the header', async () => {
    await data.blobs.put(`raw/ses/${SES_ID}`, sesMessage());
    const [outcome] = await ingestS3Notification(
      { ...data, logger: silentLogger },
      {
        kind: 'objects',
        objects: objects(parseS3Notification(JSON.stringify(s3Event(`raw/ses/${SES_ID}`)))),
      },
    );
    expect(outcome).toMatchObject({
      job: {
        id: SES_ID,
        blobKey: `raw/ses/${SES_ID}`,
        mailFrom: 'alice@sender.example',
        // friend@elsewhere.test is in To but not ours: never a recipient (no forward, no warning).
        rcptTo: ['demo@example.test', 'team@example.test'],
        clientAddress: '209.85.128.41',
        helo: 'mail-wm1-f41.google.com',
        tls: true,
        receivedAt: '2024-05-02T10:15:30.123Z',
      },
    });
  });

  it('drops mail SES found a virus in, and acknowledges it', async () => {
    const handler = createIngestHandler({ ...data, logger: silentLogger });
    await data.blobs.put(`raw/ses/${SES_ID}`, sesMessage({ virus: 'FAIL' }));
    expect(await handler(sqsEvent(s3Event(`raw/ses/${SES_ID}`)), {} as never)).toEqual({
      batchItemFailures: [],
    });
    expect(await data.store.listMessages('demo@example.test', 'INBOX')).toEqual([]);
  });

  it('fails the record of an object in another bucket, and keeps the reason', async () => {
    const failures: string[] = [];
    const handler = createIngestHandler({
      ...data,
      rawBucket: 'mailroom-raw',
      logger: silentLogger,
      queue: { recordFailure: async (_id, reason) => void failures.push(reason) },
    });
    const response = await handler(sqsEvent(s3Event(`raw/ses/${SES_ID}`, 'someone-elses')), {} as never);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    expect(failures[0]).toMatch(/PermanentIngestError: .*someone-elses/);
  });
});

describe('SES ingress with the S3 BlobStore under a prefix (fauxqs)', () => {
  let s3: S3Client;
  let bucket: string;
  let dataDir: string;
  let data: Backend;
  beforeAll(async () => {
    process.env.AWS_ACCESS_KEY_ID ??= 'test';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
    s3 = new S3Client({ ...clientConfig('fauxqs'), forcePathStyle: true });
    bucket = uniqueName('ses');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    dataDir = await tempDir();
    data = openEmbedded(loadConfig({ dataDir }, {}));
    await data.store.addDomain('example.test');
    await data.store.addAccount('demo@example.test', await hashPassword('demo-password'));
  });
  afterAll(async () => {
    await data.close();
    s3.destroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('reads the object SES wrote at <bucket prefix>ses/<id> through the BlobStore', async () => {
    // Prepare: SES writes the object itself, under the whole prefix; fauxqs sends no
    // notifications, so the test hands the handler the one S3 would send.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `mail/ses/${SES_ID}`, Body: sesMessage() }));
    const blobs = new S3BlobStore({ client: s3, bucket, prefix: 'mail' });
    const handler = createIngestHandler({
      ...data,
      blobs,
      rawBucket: bucket,
      blobPrefix: 'mail',
      logger: silentLogger,
    });

    // Act
    const response = await handler(sqsEvent(s3Event(`mail/ses/${SES_ID}`, bucket)), {} as never);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const [stored] = await data.store.listMessages('demo@example.test', 'INBOX');
    expect(stored!.blobKey).toBe(`ses/${SES_ID}`);
    expect((await blobs.getBuffer(stored!.blobKey)).toString()).toContain('Hello over SES.');
  });
});
