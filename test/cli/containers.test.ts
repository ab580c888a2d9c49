import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT, startCliProcess, runCli } from '../helpers/dev-process.js';
import { tempDir } from '../helpers/mailroom.js';

/*
 * The container entry points on the local backend: `mailroom smtp` and `mailroom access`
 * serve their protocols and a health check, and drain on SIGTERM as Fargate stops a task.
 */

const PORTS_0 = {
  MAILROOM_SMTP_PORT: '0',
  MAILROOM_SUBMISSION_PORT: '0',
  MAILROOM_IMAP_PORT: '0',
  MAILROOM_IMAP_TLS_PORT: '0',
  MAILROOM_POP3_PORT: '0',
  MAILROOM_POP3_TLS_PORT: '0',
  MAILROOM_HEALTH_PORT: '0',
  MAILROOM_LOG_LEVEL: 'warn',
};

async function health(port: number): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${port}/health`);
  return { status: response.status, body: await response.json() };
}

/** The server's first line on a fresh connection. */
function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('data', (d: Buffer) => {
      resolve(d.toString().split('\r\n')[0]!);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('container entry points', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await tempDir();
    expect((await runCli(['--data-dir', dataDir, 'domain', 'add', 'example.test'])).code).toBe(0);
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('mailroom access serves IMAP and POP3 and a health check, and drains on SIGTERM', async () => {
    const access = await startCliProcess(['--data-dir', dataDir, 'access'], {
      ...PORTS_0,
      MAILROOM_DRAIN_SECONDS: '1',
    });
    const { ready } = access;
    expect(ready).toMatchObject({ role: 'access', backend: 'local' });
    expect(await greeting(Number(ready.imap))).toMatch(/^\* OK .*IMAP/);
    expect(await greeting(Number(ready.pop3))).toMatch(/^\+OK .*POP3/);
    expect(await health(Number(ready.health))).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await fetch(`http://127.0.0.1:${String(ready.health)}/other`)).status).toBe(404);

    access.child.kill('SIGTERM');
    // Draining: the balancer is told at once, the listeners still answer until the drain ends.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await health(Number(ready.health))).toEqual({ status: 503, body: { status: 'draining' } });
    expect(await greeting(Number(ready.pop3))).toMatch(/^\+OK/);
    expect(await access.exited).toBe(0);
  });

  it('bin/mailroom.js runs the CLI in its own process, so SIGTERM reaches it and it drains', async () => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'mailroom.js'), '--json', '--data-dir', dataDir, 'access'],
      {
        env: { ...process.env, ...PORTS_0 },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        if (line.startsWith('{"ready"'))
          resolve((JSON.parse(line) as { ready: Record<string, unknown> }).ready);
      });
      void exited.then((code) => reject(new Error(`exited ${code} before ready`)));
    });
    expect(await greeting(Number(ready.imap))).toMatch(/^\* OK/);
    // The pid is the CLI's own: a wrapper that spawned it would die here and orphan the server.
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(greeting(Number(ready.imap))).rejects.toThrow();
  });

  it('mailroom smtp serves MX and submission only', async () => {
    const smtp = await startCliProcess(['--data-dir', dataDir, 'smtp'], PORTS_0);
    expect(smtp.ready).toMatchObject({ role: 'smtp', backend: 'local' });
    expect(smtp.ready.imap).toBeUndefined();
    expect(await greeting(Number(smtp.ready.smtp))).toMatch(/^220 /);
    expect(await greeting(Number(smtp.ready.submission))).toMatch(/^220 /);
    expect((await health(Number(smtp.ready.health))).status).toBe(200);
    smtp.child.kill('SIGTERM');
    expect(await smtp.exited).toBe(0);
  });

  it('refuses to start the aws backend without its names, with exit code 2', async () => {
    const result = await runCli(['--data-dir', dataDir, 'access'], {
      env: { ...PORTS_0, MAILROOM_BACKEND: 'aws' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/the aws backend needs table \(MAILROOM_TABLE\)/);
  });
});
