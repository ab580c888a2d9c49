/**
 * AWS cost benchmark: what one inbound message costs on the aws backend, request by request.
 * N messages of about 50 KB go over SMTP into Mailroom's ingress (S3 + SQS), a LocalRunner
 * hands them in batches to the real ingest handler (S3, DynamoDB, EventBridge), all on the
 * local emulators; middleware on every SDK client counts the requests and the DynamoDB
 * capacity they consume. Then one POP3 session and one IMAP session read the mailbox, counted
 * the same way. Prints the counts per message, the Lambda GB-seconds, and the dollars per
 * million messages at the list prices below; never asserts.
 *
 *   npx tsx bench/cost.ts                  # 200 messages of 50 KB, under a minute
 *   npx tsx bench/cost.ts --help
 *
 * See bench/README.md for how to read the numbers.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadConfig, type Config } from '../lib/config.js';
import { createLogger } from '../lib/log.js';
import { openAws } from '../lib/app/aws-backend.js';
import { startAccess, startIngress, type Backend } from '../lib/app/mailroom.js';
import { hashPassword } from '../lib/auth/password.js';
import { createQueuePair } from '../lib/queue/sqs/queue-pair.js';
import { createTable } from '../lib/store/dynamodb/schema.js';
import { DynamoDbStore } from '../lib/store/dynamodb/dynamodb-store.js';
import { LocalRunner, type BatchHandler } from '../lib/runner/local-runner.js';
import { createIngestHandler } from '../functions/ingest.js';
import { startDynamoDbLocal, type Emulator } from '../test/helpers/emulators.js';
import { positiveInt } from './args.js';
import {
  CapacitySizer,
  Meter,
  difference,
  merge,
  type ItemWrites,
  type OpStat,
  type Stats,
} from './cost-meter.js';
import { ascending, percentile } from './imap-report.js';
import { ImapLineClient } from './imap-line-client.js';
import { Pop3LineClient } from './pop3-line-client.js';
import { SmtpLineClient } from './smtp-line-client.js';

// ---------------------------------------------------------------------------------------
// Prices

/**
 * us-east-1 list prices, in dollars, as the cost issue lists them; recorded on this date and
 * not re-checked online. Storage (S3 GB-month, DynamoDB GB-month, SQS retention) is excluded.
 */
const PRICES_DATE = '2026-11-26';
const PRICES = {
  /** S3 Standard: PUT, COPY, POST, LIST requests, per 1,000. */
  s3PutClassPer1k: 0.005,
  /** S3 Standard: GET, SELECT and all other requests, per 1,000 (DELETE and abort are free). */
  s3GetClassPer1k: 0.0004,
  /** SQS standard queue, per million requests; each 64 KB chunk of a payload is one request. */
  sqsPerMillion: 0.4,
  /** Lambda on arm64, per GB-second of billed duration (1 ms granularity). */
  lambdaPerGbSecond: 0.0000133334,
  /** Lambda, per million invocations. */
  lambdaPerMillionRequests: 0.2,
  /** DynamoDB on demand, per million write request units. */
  dynamoDbPerMillionWrite: 0.625,
  /** DynamoDB on demand, per million read request units. */
  dynamoDbPerMillionRead: 0.125,
  /** SES receiving: per 1,000 emails... */
  sesReceivePer1k: 0.1,
  /** ...plus per 1,000 incoming 256 KB chunks. */
  sesChunkPer1k: 0.09,
  /** EventBridge custom events, per million (each 64 KB chunk of an entry is one event). */
  eventsPerMillion: 1.0,
} as const;

/** The issue's target: at most this many dollars per million inbound messages, storage excluded. */
const TARGET_PER_MILLION = 10;

const S3_PUT_CLASS = new Set([
  'PutObject',
  'CopyObject',
  'PostObject',
  'ListObjects',
  'ListObjectsV2',
  'ListBuckets',
  'CreateBucket',
  'CreateMultipartUpload',
  'UploadPart',
  'UploadPartCopy',
  'CompleteMultipartUpload',
  'ListMultipartUploads',
  'ListParts',
]);
const S3_FREE = new Set(['DeleteObject', 'DeleteObjects', 'AbortMultipartUpload']);

// ---------------------------------------------------------------------------------------
// Options

const USAGE = `usage: npx tsx bench/cost.ts [options]
  --messages N      messages measured (default 200)
  --recipients R    accounts they go to, in turn (default 1); R = N: every message to an
                    account the directory cache has not seen (reads as with no cache)
  --bytes B         approximate size of each message (default 51200)
  --shape S         mixed: text, HTML and a binary attachment (default); text: plain text only
  --batch-size K    records per Lambda batch, as the event source's BatchSize (default 10)
  --memory-mb M     Lambda memory the GB-seconds are computed at (default 512)
  --runner R        after: ingest once every message is queued, full batches (default);
                    during: the runner takes messages as they arrive
  --connections C   SMTP connections sending at once (default 4)
  --no-events       no EventBridge bus (default: on, to a recording endpoint, PutEvents counted)
  --no-access       skip the POP3 and IMAP reads
  --help`;

const option = (name: string, value: string | undefined, fallback: number) =>
  positiveInt(USAGE, name, value, fallback);

function parameters() {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string' },
      recipients: { type: 'string' },
      bytes: { type: 'string' },
      shape: { type: 'string' },
      'batch-size': { type: 'string' },
      'memory-mb': { type: 'string' },
      runner: { type: 'string' },
      connections: { type: 'string' },
      'no-events': { type: 'boolean' },
      'no-access': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  const choice = <T extends string>(name: string, value: string | undefined, allowed: T[]): T => {
    if (value === undefined) return allowed[0]!;
    if ((allowed as string[]).includes(value)) return value as T;
    process.stderr.write(
      `--${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}\n${USAGE}\n`,
    );
    process.exit(2);
  };
  const batchSize = option('batch-size', values['batch-size'], 10);
  if (batchSize > 10) {
    process.stderr.write(`--batch-size is at most 10 (an SQS receive)\n${USAGE}\n`);
    process.exit(2);
  }
  return {
    messages: option('messages', values.messages, 200),
    recipients: option('recipients', values.recipients, 1),
    bytes: option('bytes', values.bytes, 50 * 1024),
    shape: choice('shape', values.shape, ['mixed', 'text']),
    batchSize,
    memoryMb: option('memory-mb', values['memory-mb'], 512),
    runner: choice('runner', values.runner, ['after', 'during']),
    connections: option('connections', values.connections, 4),
    events: !values['no-events'],
    access: !values['no-access'],
  };
}

type Params = ReturnType<typeof parameters>;

// ---------------------------------------------------------------------------------------
// Messages

const HOST = '127.0.0.1';
const DOMAIN = 'example.test';
const ACCOUNT = `demo@${DOMAIN}`;
const WARMUP_ACCOUNT = `warmup@${DOMAIN}`;
const PASSWORD = 'bench-cost-password';
const MAIL_FROM = 'bench@sender.example';
const WARMUP_MESSAGES = 10;
const TIMEOUT_MS = 30_000;
/** Errors of any part go to stderr, as JSON lines: a run that printed some is not a clean run. */
const logger = createLogger({ level: 'error', pretty: false, destination: process.stderr });

/** A small deterministic generator, so every run sends the same octets. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VOCABULARY = (
  'the of and to a in is it you that he was for on are with as his they be at one have this from or ' +
  'had by word but what some we can out other were all there when up use your how said an each she ' +
  'which do their time if will way about many then them write would like so these her long make thing ' +
  'see him two has look more day could go come did number sound no most people my over know water than ' +
  'call first who may down side been now find any new work part take get place made live where after ' +
  'back little only round man year came show every good me give our under name very through just form ' +
  'sentence great think say help low line differ turn cause much mean before move right boy old too same ' +
  'tell does set three want air well also play small end put home read hand port large spell add even ' +
  'land here must big high such follow act why ask men change went light kind off need house picture ' +
  'invoice quarterly budget meeting contract revised attached schedule migration review figures vendor'
).split(' ');

/** Text of about `bytes` octets, lines of at most 72, words drawn at random (it deflates about as prose does). */
function prose(bytes: number, next: () => number): string[] {
  const lines: string[] = [];
  let size = 0;
  let line = '';
  let sentence = 0;
  while (size < bytes) {
    let word = VOCABULARY[Math.floor(next() * VOCABULARY.length)]!;
    if (sentence === 0) word = word[0]!.toUpperCase() + word.slice(1);
    sentence++;
    if (sentence > 6 && next() < 0.15) {
      word += '.';
      sentence = 0;
    }
    if (line.length + word.length + 1 > 72) {
      lines.push(line);
      size += line.length + 2;
      if (next() < 0.08) lines.push('');
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return lines;
}

function headers(index: number, to: string, contentType: string[]): string[] {
  const date = new Date(Date.UTC(2026, 0, 1) + index * 60_000);
  const rfcDate = date.toUTCString().replace('GMT', '+0000');
  const id = `${date.getTime().toString(36)}.${index}`;
  return [
    `Received: from mta-out-${index % 7}.sender.example (mta-out-${index % 7}.sender.example [192.0.2.${(index % 250) + 1}])`,
    `\tby mx.relay.example (Postfix) with ESMTPS id 4Q${id.toUpperCase()}`,
    `\tfor <${to}>; ${rfcDate}`,
    'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=sender.example; s=2024;',
    '\th=from:to:subject:date:message-id:mime-version:content-type;',
    '\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;',
    '\tb=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBidXQgaXQgaGFzIHRoZSBzaXplIG9mIG9uZSBh',
    '\t bmQgdGhhdCBpcyBhbGwgdGhlIGJlbmNoIG5lZWRzIGZyb20gaXQsIG5vdGhpbmcgbW9yZSB0aGFu',
    'Authentication-Results: mx.relay.example; dkim=pass header.d=sender.example; spf=pass smtp.mailfrom=sender.example',
    'From: "Bench Sender" <bench@sender.example>',
    `To: <${to}>`,
    `Subject: Quarterly report, revision ${index}`,
    `Date: ${rfcDate}`,
    `Message-ID: <${id}@sender.example>`,
    'MIME-Version: 1.0',
    ...contentType,
  ];
}

/**
 * Message `index` for `to`, about `bytes` octets, CRLF line ends, dot-stuffed and ending in
 * CRLF, ready for DATA. `mixed` is what a typical 50 KB message is: a short text and HTML
 * body and a binary attachment (base64) that fills the rest; `text` is plain text throughout.
 */
function makeMessage(index: number, bytes: number, to: string, shape: Params['shape']): Buffer {
  const next = random(index + 1);
  let lines: string[];
  if (shape === 'text') {
    lines = headers(index, to, [
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 7bit',
      '',
    ]);
    const used = lines.join('\r\n').length + 2;
    lines.push(...prose(Math.max(256, bytes - used), next));
  } else {
    const outer = `mixed-${index}`;
    const inner = `alt-${index}`;
    const text = prose(Math.round(bytes * 0.08), next);
    const html = ['<html><body>', ...text.map((l) => `<p>${l}</p>`), '</body></html>'];
    lines = [
      ...headers(index, to, [`Content-Type: multipart/mixed; boundary="${outer}"`, '']),
      `--${outer}`,
      `Content-Type: multipart/alternative; boundary="${inner}"`,
      '',
      `--${inner}`,
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 7bit',
      '',
      ...text,
      `--${inner}`,
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: 7bit',
      '',
      ...html,
      `--${inner}--`,
      `--${outer}`,
      `Content-Type: application/pdf; name="report-${index}.pdf"`,
      `Content-Disposition: attachment; filename="report-${index}.pdf"`,
      'Content-Transfer-Encoding: base64',
      '',
    ];
    const used = lines.join('\r\n').length + 2 + outer.length + 8;
    const encoded = Math.max(76, bytes - used);
    const binary = Buffer.alloc(Math.floor((encoded * 3) / 4 / (78 / 76)));
    for (let i = 0; i < binary.length; i++) binary[i] = Math.floor(next() * 256);
    lines.push(...(binary.toString('base64').match(/.{1,76}/g) ?? []), `--${outer}--`);
  }
  const stuffed = lines.map((l) => (l.startsWith('.') ? `.${l}` : l));
  return Buffer.from(stuffed.join('\r\n') + '\r\n', 'utf8');
}

// ---------------------------------------------------------------------------------------
// Emulators

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * fauxqs (SQS and S3) in a Node process of its own, so that the CPU time it spends serving
 * requests is not counted as the handler's.
 */
async function startFauxqsChild(): Promise<Emulator> {
  const script = [
    "const { startFauxqs } = await import('fauxqs');",
    'const server = await startFauxqs({ port: 0, logger: false });',
    'process.send({ port: server.port });',
    'const stop = async () => { await server.stop().catch(() => undefined); process.exit(0); };',
    "process.on('SIGTERM', () => void stop());",
    "process.on('disconnect', () => void stop());",
    "process.on('SIGINT', () => undefined);",
  ].join('\n');
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('fauxqs did not start within 30 s')), 30_000);
    child.once('message', (message: { port: number }) => {
      clearTimeout(timer);
      resolve(message.port);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fauxqs exited with ${code}`));
    });
  }).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return {
    endpoint: `http://${HOST}:${port}`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The EventBridge endpoint of the run: answers PutEvents as EventBridge does (every entry
 * accepted) and counts the entries. Any other request (SES, which only forwards would use)
 * gets an error, so nothing the bench does can reach AWS itself.
 */
async function startRecorder(): Promise<Emulator & { entries(): number }> {
  let entries = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() };
      if (target === 'AWSEvents.PutEvents') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Entries?: unknown[] };
        const n = body.Entries?.length ?? 0;
        entries += n;
        res.writeHead(200, headers);
        res.end(
          JSON.stringify({
            FailedEntryCount: 0,
            Entries: Array.from({ length: n }, () => ({ EventId: randomUUID() })),
          }),
        );
        return;
      }
      res.writeHead(400, headers);
      res.end(JSON.stringify({ __type: 'UnknownOperationException', message: `not recorded: ${target}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${HOST}:${port}`,
    entries: () => entries,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// ---------------------------------------------------------------------------------------
// The run

interface Invocation {
  records: number;
  /** Wall time of the handler call, without the bench's own side reads. */
  ms: number;
  /** CPU time of this process meanwhile, without the side reads. */
  cpuMs: number;
}

interface Results {
  params: Params;
  meanBytes: number;
  ingress: Stats;
  source: Stats;
  ingest: Stats;
  /** The DynamoDB items the ingest Lambda wrote, by call and kind (computed sizes). */
  ingestItems: ItemWrites[];
  invocations: Invocation[];
  pop3?: Stats;
  imap?: Stats;
  events: number;
  filed: number;
  sendSeconds: number;
  ingestSeconds: number;
  accessNote: string[];
  /** Calls whose capacity could not be computed. */
  sizerErrors: string[];
}

/** Sends `messages` over SMTP on `connections` connections, each reused for its share; message i to to[i % to.length]. */
async function sendAll(port: number, messages: Buffer[], to: string[], connections: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    const client = await SmtpLineClient.open(port, HOST, TIMEOUT_MS);
    try {
      await client.command('EHLO bench.sender.example', 250);
      for (let i = next++; i < messages.length; i = next++) {
        await client.command(`MAIL FROM:<${MAIL_FROM}>`, 250);
        await client.command(`RCPT TO:<${to[i % to.length]}>`, 250);
        await client.command('DATA', 354);
        await client.data(messages[i]!);
      }
      await client.quit();
    } finally {
      client.close();
    }
  };
  await Promise.all(Array.from({ length: Math.min(connections, messages.length) }, worker));
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not done within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function run(params: Params, cleanups: (() => Promise<void>)[]): Promise<Results> {
  // Never the caller's AWS credentials: everything goes to the emulators.
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;

  const started = performance.now();
  const [dynamodbLocal, fauxqs, recorder] = await Promise.all([
    startDynamoDbLocal(),
    startFauxqsChild(),
    startRecorder(),
  ]);
  cleanups.push(
    () => dynamodbLocal.stop(),
    () => fauxqs.stop(),
    () => recorder.stop(),
  );
  const dataDir = await mkdtemp(join(tmpdir(), 'mailroom-cost-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));

  // The stack, as createAwsStack (test/helpers/aws-backend.ts) makes it.
  const region = 'us-east-1';
  const name = `cost-${process.pid}`;
  const setupDynamo = new DynamoDBClient({ region, endpoint: dynamodbLocal.endpoint });
  const setupS3 = new S3Client({ region, endpoint: fauxqs.endpoint, forcePathStyle: true });
  const setupSqs = new SQSClient({ region, endpoint: fauxqs.endpoint });
  cleanups.push(async () => {
    setupDynamo.destroy();
    setupS3.destroy();
    setupSqs.destroy();
  });
  await createTable(setupDynamo, name);
  await setupS3.send(new CreateBucketCommand({ Bucket: name }));
  const queues = await createQueuePair(setupSqs, name, { maxReceiveCount: 5, visibilityTimeoutSeconds: 60 });
  const setupStore = new DynamoDbStore({ client: setupDynamo, tableName: name });
  cleanups.push(() => setupStore.close());
  await setupStore.addDomain(DOMAIN);
  const hash = await hashPassword(PASSWORD);
  // The measured account first; the others only receive.
  const recipients = [
    ACCOUNT,
    ...Array.from({ length: params.recipients - 1 }, (_, i) => `r${i + 1}@${DOMAIN}`),
  ];
  for (const account of [...recipients, WARMUP_ACCOUNT]) await setupStore.addAccount(account, hash);
  process.stdout.write(
    `emulators and stack ready in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );

  const config: Config = loadConfig(
    {
      dataDir,
      host: HOST,
      smtpPort: 0,
      submissionPort: 0,
      imapPort: 0,
      imapTlsPort: 0,
      pop3Port: 0,
      pop3TlsPort: 0,
      healthPort: 0,
      logLevel: 'silent',
      backend: 'aws',
      awsRegion: region,
      table: name,
      bucket: name,
      queueUrl: queues.queueUrl,
      deadLetterQueueUrl: queues.deadLetterQueueUrl,
      visibilityTimeoutSeconds: 60,
      dynamodbEndpoint: dynamodbLocal.endpoint,
      s3Endpoint: fauxqs.endpoint,
      sqsEndpoint: fauxqs.endpoint,
      sesEndpoint: recorder.endpoint,
      eventbridgeEndpoint: recorder.endpoint,
      ...(params.events ? { eventBus: 'mailroom-bench' } : {}),
    },
    {},
  );

  // One backend per part, as in the cloud each is a process of its own with its own clients:
  // the SMTP container, Lambda's SQS event source (the LocalRunner), the ingest Lambda, and
  // the IMAP/POP3 container.
  const sizerClient = new DynamoDBClient({ region, endpoint: dynamodbLocal.endpoint });
  cleanups.push(async () => sizerClient.destroy());
  const sizer = new CapacitySizer(sizerClient);
  const meters = {
    ingress: new Meter(sizer),
    source: new Meter(sizer),
    ingest: new Meter(sizer),
    access: new Meter(sizer),
  };
  const open = (meter: Meter): Backend => {
    const backend = openAws(config, { onClient: meter.attach });
    cleanups.push(() => backend.close());
    return backend;
  };
  const ingressBackend = open(meters.ingress);
  const sourceBackend = open(meters.source);
  const ingestBackend = open(meters.ingest);

  const invocations: Invocation[] = [];
  const handler = createIngestHandler({ ...ingestBackend, logger });
  const timed: BatchHandler = async (event, context) => {
    const side = { ms: sizer.sideMs, cpuMs: sizer.sideCpuMs };
    const cpu = process.cpuUsage();
    const start = performance.now();
    try {
      return await handler(event, context as never);
    } finally {
      const used = process.cpuUsage(cpu);
      invocations.push({
        records: event.Records.length,
        ms: performance.now() - start - (sizer.sideMs - side.ms),
        cpuMs: (used.user + used.system) / 1000 - (sizer.sideCpuMs - side.cpuMs),
      });
    }
  };
  const runner = new LocalRunner(sourceBackend.queue, timed, logger, {
    batchSize: params.batchSize,
    visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
  });
  const ingress = await startIngress(ingressBackend, config, logger, undefined, () => runner.notify());
  cleanups.push(() => ingress.close());
  let runnerStarted = false;
  cleanups.push(async () => {
    if (runnerStarted) await runner.stop();
  });

  const count = async (account: string) => (await setupStore.getMailbox(account, 'INBOX'))?.messages ?? 0;

  // Warm-up: one batch through the whole path (JIT, connections, the SDK's lazy loading),
  // to an account of its own so that the measured mailbox holds exactly N messages.
  const warmup = Array.from({ length: WARMUP_MESSAGES }, (_, i) =>
    makeMessage(1_000_000 + i, params.bytes, WARMUP_ACCOUNT, params.shape),
  );
  await sendAll(ingress.smtpPort, warmup, [WARMUP_ACCOUNT], params.connections);
  await runner.drain();
  await waitFor('warm-up', async () => (await count(WARMUP_ACCOUNT)) === WARMUP_MESSAGES, 30_000);
  for (const meter of Object.values(meters)) meter.reset();
  invocations.length = 0;
  const eventsBefore = recorder.entries();

  const messages = Array.from({ length: params.messages }, (_, i) =>
    makeMessage(i, params.bytes, recipients[i % recipients.length]!, params.shape),
  );
  const meanBytes = messages.reduce((n, m) => n + m.length, 0) / messages.length;
  process.stdout.write(
    `sending ${params.messages} messages of ${(meanBytes / 1024).toFixed(1)} KB (${params.shape}) over ${params.connections} SMTP connections, runner ${params.runner}\n`,
  );
  const sendStart = performance.now();
  if (params.runner === 'during') {
    runner.start();
    runnerStarted = true;
  }
  await sendAll(ingress.smtpPort, messages, recipients, params.connections);
  const sendSeconds = (performance.now() - sendStart) / 1000;
  const ingestStart = performance.now();
  if (params.runner === 'after') await runner.drain();
  const countAll = async () => (await Promise.all(recipients.map(count))).reduce((a, b) => a + b, 0);
  await waitFor('ingest', async () => (await countAll()) >= params.messages, 120_000);
  if (runnerStarted) {
    runnerStarted = false;
    await runner.stop();
  }
  await Promise.all(Object.values(meters).map((meter) => meter.settled()));
  const ingestSeconds = (performance.now() - ingestStart) / 1000;
  const filed = await countAll();

  const results: Results = {
    params,
    meanBytes,
    ingress: meters.ingress.snapshot(),
    source: meters.source.snapshot(),
    ingest: meters.ingest.snapshot(),
    ingestItems: [...meters.ingest.items.values()],
    invocations: [...invocations],
    events: recorder.entries() - eventsBefore,
    filed,
    sendSeconds,
    ingestSeconds,
    accessNote: [],
    sizerErrors: sizer.errors,
  };

  // The reading sessions read one mailbox of all the messages.
  if (params.access && params.recipients === 1) {
    const accessBackend = open(meters.access);
    const access = await startAccess(accessBackend, config, logger, undefined);
    cleanups.push(() => access.close());

    // POP3: what a client that leaves mail on the server does every time it checks.
    let before = meters.access.snapshot();
    const pop3 = await Pop3LineClient.open(access.pop3Port, HOST, TIMEOUT_MS);
    try {
      await pop3.command(`USER ${ACCOUNT}`);
      await pop3.command(`PASS ${PASSWORD}`);
      const stat = await pop3.command('STAT');
      await pop3.multiline('UIDL', { collect: true });
      const listed = Number(stat.line.split(' ')[1]);
      for (let i = 1; i <= listed; i++) await pop3.multiline(`RETR ${i}`);
      await pop3.quit();
      // The maildrop is updated and unlocked after the QUIT reply.
      await meters.access.settled();
      if (listed !== params.messages) results.accessNote.push(`POP3 STAT listed ${listed} messages`);
    } finally {
      pop3.close();
    }
    results.pop3 = difference(meters.access.snapshot(), before);

    // IMAP: opening the mailbox and syncing its flags, what every client does at start.
    before = meters.access.snapshot();
    const imap = await ImapLineClient.open(access.imapPort, HOST, TIMEOUT_MS);
    try {
      await imap.command(`LOGIN "${ACCOUNT}" "${PASSWORD}"`);
      await imap.command('SELECT INBOX');
      const fetched = await imap.command('FETCH 1:* (FLAGS)');
      await imap.logout();
      await meters.access.settled();
      if (fetched.untagged < params.messages)
        results.accessNote.push(`IMAP FETCH answered ${fetched.untagged} untagged responses`);
    } finally {
      imap.close();
    }
    results.imap = difference(meters.access.snapshot(), before);
  }
  return results;
}

// ---------------------------------------------------------------------------------------
// Report

/** A markdown table, columns padded: the first `leftColumns` left-aligned, the others right-aligned. */
function markdown(header: string[], rows: string[][], leftColumns = 1): string {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (i < leftColumns ? '-'.repeat(w) : '-'.repeat(w - 1) + ':')).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

function fixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function money(n: number): string {
  if (n === 0) return '0';
  if (n < 0.01) return n.toFixed(4);
  return n.toFixed(n < 10 ? 3 : 2);
}

/**
 * DynamoDB capacity of one kind of call: what DynamoDB Local measured (ConsumedCapacity) when
 * every call reported it, unless the figure computed from item sizes is higher; else computed.
 */
function capacity(stat: OpStat): { rru: number; wru: number; basis: 'measured' | 'computed' } {
  const price = (rru: number, wru: number) =>
    rru * PRICES.dynamoDbPerMillionRead + wru * PRICES.dynamoDbPerMillionWrite;
  const measured = stat.reported > 0 && stat.reported === stat.calls - stat.failed;
  if (
    measured &&
    price(stat.rruMeasured, stat.wruMeasured) >= price(stat.rruComputed, stat.wruComputed) - 1e-9
  )
    return { rru: stat.rruMeasured, wru: stat.wruMeasured, basis: 'measured' };
  return { rru: stat.rruComputed, wru: stat.wruComputed, basis: 'computed' };
}

/** Dollars for the counted requests of one call type, per the price table. */
function dollars(stat: OpStat, dynamoBasis?: 'computed'): number {
  switch (stat.service) {
    case 'S3':
      if (S3_FREE.has(stat.op)) return 0;
      return (
        (stat.units * (S3_PUT_CLASS.has(stat.op) ? PRICES.s3PutClassPer1k : PRICES.s3GetClassPer1k)) / 1000
      );
    case 'SQS':
      return (stat.units * PRICES.sqsPerMillion) / 1e6;
    case 'EventBridge':
      return stat.op === 'PutEvents' ? (stat.units * PRICES.eventsPerMillion) / 1e6 : 0;
    case 'DynamoDB': {
      const c =
        dynamoBasis === 'computed' ? { rru: stat.rruComputed, wru: stat.wruComputed } : capacity(stat);
      return (c.rru * PRICES.dynamoDbPerMillionRead + c.wru * PRICES.dynamoDbPerMillionWrite) / 1e6;
    }
    default:
      return 0;
  }
}

const SERVICE_ORDER = ['S3', 'SQS', 'DynamoDB', 'EventBridge', 'SES'];

function sorted(stats: Stats): OpStat[] {
  return [...stats.values()].sort(
    (a, b) => SERVICE_ORDER.indexOf(a.service) - SERVICE_ORDER.indexOf(b.service) || a.op.localeCompare(b.op),
  );
}

function billed(stat: OpStat, per: number): string {
  if (stat.service === 'DynamoDB') {
    const c = capacity(stat);
    return `${fixed(c.rru / per, 2)} RRU + ${fixed(c.wru / per, 2)} WRU (${c.basis[0]})`;
  }
  if (stat.service === 'S3') {
    const kind = S3_FREE.has(stat.op) ? 'free' : S3_PUT_CLASS.has(stat.op) ? 'PUT class' : 'GET class';
    return `${fixed(stat.units / per, 2)} ${kind}`;
  }
  if (stat.service === 'SQS') return `${fixed(stat.units / per, 2)} × 64 KB`;
  if (stat.service === 'EventBridge') return `${fixed(stat.units / per, 2)} events`;
  return `${fixed(stat.units / per, 2)}`;
}

interface LambdaFigures {
  invocations: number;
  gbSeconds: number;
  estimatedGbSeconds: number;
  cpuMs: number;
  ms: number[];
}

/** Lambda's bill for the invocations: each billed to the next ms, at the memory size. */
function lambdaFigures(invocations: Invocation[], memoryMb: number): LambdaFigures {
  const gb = memoryMb / 1024;
  // Lambda gives a function CPU in proportion to its memory: one vCPU at 1,769 MB.
  const cpuShare = Math.min(1, memoryMb / 1769);
  let gbSeconds = 0;
  let estimated = 0;
  let cpuMs = 0;
  for (const call of invocations) {
    gbSeconds += (Math.ceil(call.ms) / 1000) * gb;
    const cpu = Math.min(call.cpuMs, call.ms);
    estimated += (Math.ceil(call.ms - cpu + cpu / cpuShare) / 1000) * gb;
    cpuMs += call.cpuMs;
  }
  return {
    invocations: invocations.length,
    gbSeconds,
    estimatedGbSeconds: estimated,
    cpuMs,
    ms: ascending(invocations.map((c) => c.ms)),
  };
}

/** DynamoDB calls per message with their capacity, measured and computed. */
function dynamoTable(dynamo: OpStat[], n: number): string {
  const rows = dynamo.map((s) => [
    s.op,
    fixed(s.calls / n, 2),
    `${s.reported}/${s.calls - s.failed}`,
    fixed(s.rruMeasured / n, 2),
    fixed(s.rruComputed / n, 2),
    fixed(s.wruMeasured / n, 2),
    fixed(s.wruComputed / n, 2),
    capacity(s).basis,
  ]);
  const sum = (f: (s: OpStat) => number) => dynamo.reduce((t, s) => t + f(s), 0);
  rows.push([
    '**all**',
    fixed(sum((s) => s.calls) / n, 2),
    `${sum((s) => s.reported)}/${sum((s) => s.calls - s.failed)}`,
    fixed(sum((s) => s.rruMeasured) / n, 2),
    fixed(sum((s) => s.rruComputed) / n, 2),
    fixed(sum((s) => s.wruMeasured) / n, 2),
    fixed(sum((s) => s.wruComputed) / n, 2),
    '',
  ]);
  return markdown(
    ['request', 'calls / msg', 'with capacity', 'RRU meas.', 'RRU comp.', 'WRU meas.', 'WRU comp.', 'priced'],
    rows,
  );
}

function report(r: Results): void {
  const out = (text = '') => process.stdout.write(text + '\n');
  const n = r.filed > 0 ? r.params.messages : NaN;
  const all = merge(r.ingress, r.source, r.ingest);
  const lambda = lambdaFigures(r.invocations, r.params.memoryMb);
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'} (${process.arch})`;

  out();
  out(
    `## Cost of one inbound message: ${r.params.messages} messages of ${(r.meanBytes / 1024).toFixed(1)} KB (${r.params.shape}) to ${r.params.recipients} account(s), ` +
      `Lambda batches of ${r.params.batchSize} at ${r.params.memoryMb} MB, runner ${r.params.runner}, events ${r.params.events ? 'on' : 'off'}`,
  );
  out();
  const rows = sorted(all).map((stat) => {
    const key = `${stat.service} ${stat.op}`;
    const where = (stats: Stats) => fixed((stats.get(key)?.calls ?? 0) / n, 2);
    return [
      stat.service,
      stat.op + (stat.failed > 0 ? ` (${stat.failed} failed)` : ''),
      where(r.ingress),
      where(r.source),
      where(r.ingest),
      fixed(stat.calls / n, 2),
      billed(stat, n),
      money((dollars(stat) / n) * 1e6),
    ];
  });
  const requestDollars = sorted(all).reduce((sum, stat) => sum + dollars(stat), 0);
  const lambdaRequestDollars = (lambda.invocations * PRICES.lambdaPerMillionRequests) / 1e6;
  const lambdaGbDollars = lambda.gbSeconds * PRICES.lambdaPerGbSecond;
  rows.push([
    'Lambda',
    'Invoke (ingest)',
    '',
    '',
    fixed(lambda.invocations / n, 2),
    fixed(lambda.invocations / n, 2),
    `${fixed((lambda.gbSeconds / n) * 1000, 3)} GB-ms`,
    money(((lambdaRequestDollars + lambdaGbDollars) / n) * 1e6),
  ]);
  const total = requestDollars + lambdaRequestDollars + lambdaGbDollars;
  rows.push(['**total**', '', '', '', '', '', '', `**${money((total / n) * 1e6)}**`]);
  out(
    markdown(
      [
        'service',
        'request',
        'ingress',
        'event source',
        'ingest λ',
        'calls / msg',
        'billed / msg',
        '$ / M msgs',
      ],
      rows,
      2,
    ),
  );
  out();
  out(
    'DynamoDB units: (m) measured, the ConsumedCapacity DynamoDB Local returned for every call of that kind; ' +
      '(c) computed from the item sizes by the rules of docs/dynamodb.md, used where no capacity came back ' +
      'or where it is the higher of the two (next table).',
  );

  // DynamoDB: measured against computed.
  out();
  out('### DynamoDB capacity per message, measured (ConsumedCapacity) and computed (item sizes)');
  out();
  const dynamo = sorted(all).filter((s) => s.service === 'DynamoDB');
  out(dynamoTable(dynamo, n));
  const dynamoMeasured = dynamo.reduce((t, s) => t + dollars(s), 0);
  const dynamoComputed = dynamo.reduce((t, s) => t + dollars(s, 'computed'), 0);
  out();
  out(
    `DynamoDB per million messages: $${money((dynamoMeasured / n) * 1e6)} as used in the total, ` +
      `$${money((dynamoComputed / n) * 1e6)} from the computed figures alone.`,
  );

  // What the ingest's writes pay for.
  if (r.ingestItems.length > 0) {
    out();
    out('### What the ingest Lambda writes to DynamoDB, per message (computed from item sizes)');
    out();
    const items = [...r.ingestItems].sort((a, b) => a.op.localeCompare(b.op) || b.units - a.units);
    const wru = items.filter((i) => i.kind !== 'ConditionCheck').reduce((t, i) => t + i.units, 0);
    out(
      markdown(
        ['call', 'item', 'write', 'items / msg', 'KB each', 'units / msg', '$ / M msgs'],
        [
          ...items.map((i) => [
            i.op,
            i.label,
            i.kind,
            fixed(i.count / n, 2),
            fixed(i.bytes / i.count / 1024, 2),
            fixed(i.units / n, 2) + (i.kind === 'ConditionCheck' ? ' RRU' : ' WRU'),
            money(
              (i.units / n) *
                (i.kind === 'ConditionCheck'
                  ? PRICES.dynamoDbPerMillionRead
                  : PRICES.dynamoDbPerMillionWrite),
            ),
          ]),
          [
            '**all writes**',
            '',
            '',
            '',
            '',
            `${fixed(wru / n, 2)} WRU`,
            money((wru / n) * PRICES.dynamoDbPerMillionWrite),
          ],
        ],
        3,
      ),
    );
    out(
      'In a TransactWriteItems every KB (or part of one) of every item costs 2 write units; outside a transaction, 1.',
    );
  }

  // Lambda.
  out();
  out(`### Lambda (ingest), ${r.params.memoryMb} MB`);
  out();
  const meanRecords = r.invocations.reduce((t, c) => t + c.records, 0) / Math.max(1, lambda.invocations);
  out(
    markdown(
      ['figure', 'value'],
      [
        [
          'invocations (batches handed to the handler)',
          `${lambda.invocations} (${fixed(meanRecords, 1)} records each)`,
        ],
        [
          'duration per invocation, p50 / p99 / max (measured)',
          `${fixed(percentile(lambda.ms, 50), 0)} / ${fixed(percentile(lambda.ms, 99), 0)} / ${fixed(lambda.ms.at(-1) ?? NaN, 0)} ms`,
        ],
        [
          'duration per message (measured)',
          `${fixed(lambda.ms.reduce((t, v) => t + v, 0) / n, 1)} ms, of which ${fixed(lambda.cpuMs / n, 1)} ms CPU here`,
        ],
        [
          'GB-seconds per message (measured, billed to the ms)',
          `${fixed((lambda.gbSeconds / n) * 1000, 2)} GB-ms → $${money(((lambda.gbSeconds * PRICES.lambdaPerGbSecond) / n) * 1e6)} / M msgs`,
        ],
        [
          `GB-seconds per message if the CPU part ran at ${r.params.memoryMb} MB's CPU share (computed)`,
          `${fixed((lambda.estimatedGbSeconds / n) * 1000, 2)} GB-ms → $${money(((lambda.estimatedGbSeconds * PRICES.lambdaPerGbSecond) / n) * 1e6)} / M msgs`,
        ],
      ],
    ),
  );
  out();
  out(
    `Durations are this machine's (${machine}, Node ${process.versions.node}) talking to emulators on loopback, ` +
      `not Lambda arm64 talking to S3 and DynamoDB over the network: Lambda at ${r.params.memoryMb} MB has ` +
      `${fixed(Math.min(1, r.params.memoryMb / 1769), 2)} of a vCPU, and S3 and DynamoDB answer in milliseconds, not tenths of one.`,
  );

  // Dollars per million messages.
  out();
  out(`### Per million inbound messages, us-east-1 list prices (${PRICES_DATE}), storage excluded`);
  out();
  const byService = (service: string) =>
    sorted(all)
      .filter((s) => s.service === service)
      .reduce((t, s) => t + dollars(s), 0);
  const dynamoReads = dynamo.reduce((t, s) => t + (capacity(s).rru * PRICES.dynamoDbPerMillionRead) / 1e6, 0);
  const dynamoWrites = dynamo.reduce(
    (t, s) => t + (capacity(s).wru * PRICES.dynamoDbPerMillionWrite) / 1e6,
    0,
  );
  const per = (d: number) => money((d / n) * 1e6);
  const share = (d: number) => `${fixed((d / total) * 100, 0)} %`;
  const chunks = Math.max(1, Math.ceil(r.meanBytes / (256 * 1024)));
  const sesReceiving = 1e6 * (PRICES.sesReceivePer1k / 1000) + 1e6 * chunks * (PRICES.sesChunkPer1k / 1000);
  const parts: [string, number][] = [
    ['S3 requests', byService('S3')],
    ['SQS requests', byService('SQS')],
    ['DynamoDB reads', dynamoReads],
    ['DynamoDB writes', dynamoWrites],
    ['Lambda invocations', lambdaRequestDollars],
    ['Lambda GB-seconds', lambdaGbDollars],
    ['EventBridge events', byService('EventBridge')],
  ];
  out(
    markdown(
      ['part', '$ / M msgs', 'share'],
      [
        ...parts.map(([label, d]) => [label, per(d), share(d)]),
        ['**Mailroom, total**', `**${per(total)}**`, '100 %'],
        [
          `target (the issue): at most $${TARGET_PER_MILLION}`,
          (total / n) * 1e6 <= TARGET_PER_MILLION ? 'met' : 'NOT met',
          '',
        ],
        [`SES receiving, the same messages (${chunks} × 256 KB chunk each)`, money(sesReceiving), ''],
      ],
    ),
  );
  out();
  out(
    'Prices used (us-east-1, as listed in the issue, recorded ' + PRICES_DATE + ', not re-checked online):',
  );
  out(
    `S3 PUT/COPY/POST/LIST $${PRICES.s3PutClassPer1k}/1k, GET $${PRICES.s3GetClassPer1k}/1k; SQS $${PRICES.sqsPerMillion}/M (64 KB chunks); ` +
      `Lambda arm64 $${PRICES.lambdaPerGbSecond}/GB-s + $${PRICES.lambdaPerMillionRequests}/M; DynamoDB on demand ` +
      `$${PRICES.dynamoDbPerMillionWrite}/M WRU, $${PRICES.dynamoDbPerMillionRead}/M RRU; EventBridge $${PRICES.eventsPerMillion}/M (64 KB chunks); ` +
      `SES receiving $${PRICES.sesReceivePer1k}/1k + $${PRICES.sesChunkPer1k}/1k 256 KB chunks. The SMTP and IMAP/POP3 containers (Fargate) are not per message and not counted.`,
  );

  // Access.
  const accessRows: string[][] = [];
  const accessTotals: [string, number][] = [];
  for (const [label, stats] of [
    ['POP3: USER, PASS, STAT, UIDL, RETR × N, QUIT', r.pop3],
    ['IMAP: LOGIN, SELECT INBOX, FETCH 1:* (FLAGS), LOGOUT', r.imap],
  ] as const) {
    if (!stats) continue;
    let session = 0;
    for (const stat of sorted(stats)) {
      session += dollars(stat);
      accessRows.push([
        label,
        `${stat.service} ${stat.op}${stat.failed > 0 ? ` (${stat.failed} failed)` : ''}`,
        String(stat.calls),
        fixed(stat.calls / n, 3),
        billed(stat, n),
        money((dollars(stat) / n) * 1e6),
      ]);
    }
    accessRows.push([label, '**session**', '', '', '', `**${money((session / n) * 1e6)}**`]);
    accessTotals.push([label.split(':')[0]!, (session / n) * 1e6]);
  }
  if (accessRows.length > 0) {
    out();
    out(`### Reading them: one session over the ${r.params.messages} messages, per million messages read`);
    out();
    out(
      markdown(
        ['session', 'request', 'calls', 'per msg read', 'billed / msg', '$ / M msgs read'],
        accessRows,
        2,
      ),
    );
    for (const [label, stats] of [
      ['POP3', r.pop3],
      ['IMAP', r.imap],
    ] as const) {
      const calls = sorted(stats ?? new Map()).filter((s) => s.service === 'DynamoDB');
      if (calls.length === 0) continue;
      out();
      out(`${label} session, DynamoDB per message read:`);
      out();
      out(dynamoTable(calls, n));
    }
    for (const note of r.accessNote) out(`note: ${note}`);
  }

  // What else happened.
  out();
  const attempts = sorted(merge(all, r.pop3 ?? new Map(), r.imap ?? new Map())).filter(
    (s) => s.attempts !== s.calls,
  );
  out(
    `filed ${r.filed} of ${r.params.messages} into ${r.params.recipients === 1 ? `${ACCOUNT}'s INBOX` : `the INBOXes of ${r.params.recipients} accounts`}; EventBridge entries recorded: ${r.events}; ` +
      `sending took ${fixed(r.sendSeconds, 1)} s, ingest ${fixed(r.ingestSeconds, 1)} s after it.` +
      (attempts.length > 0
        ? ` SDK retries: ${attempts.map((s) => `${s.service} ${s.op} ${s.attempts - s.calls}`).join(', ')}.`
        : ' No SDK retries.'),
  );
  if (r.sizerErrors.length > 0)
    out(
      `capacity not computed for ${r.sizerErrors.length} calls (their computed figures are missing): ${[...new Set(r.sizerErrors)].slice(0, 3).join('; ')}`,
    );
  const accessSummary = accessTotals.map(([label, d]) => `${label} $${money(d)}`).join(', ');
  out();
  out(
    `**Summary:** $${per(total)} per million inbound ${(r.meanBytes / 1024).toFixed(0)} KB messages ` +
      `(storage excluded; target $${TARGET_PER_MILLION}: ${(total / n) * 1e6 <= TARGET_PER_MILLION ? 'met' : 'NOT met'}), ` +
      `against $${money(sesReceiving)} for SES receiving alone` +
      (accessSummary ? `; reading them costs ${accessSummary} per million messages read.` : '.'),
  );
}

// ---------------------------------------------------------------------------------------

const params = parameters();
const cleanups: (() => Promise<void>)[] = [];
let cleaned: Promise<void> | undefined;
/** Undoes everything in reverse order, once, whatever failed. */
const cleanup = () =>
  (cleaned ??= (async () => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
  })());
process.once('SIGINT', () => {
  process.stderr.write('\ninterrupted: cleaning up\n');
  void cleanup().then(() => process.exit(130));
});

const t0 = performance.now();
try {
  const results = await run(params, cleanups);
  report(results);
  process.stdout.write(`\n(whole run ${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
} catch (err) {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
