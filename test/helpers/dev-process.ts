import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** tsx's loader, so the CLI runs in the spawned process itself (a signal reaches it, not a wrapper). */
const TSX = ['--import', pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href];
const CLI = join(ROOT, 'lib', 'cli', 'main.ts');

export interface DevProcess {
  child: ChildProcess;
  smtpPort: number;
  submissionPort: number;
  imapPort: number;
  pop3Port: number;
  account?: string;
  password?: string;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | string>;
}

/** A `mailroom` command running as its own process, after its `{"ready": ...}` line. */
export interface CliProcess {
  child: ChildProcess;
  ready: Record<string, string | number | boolean | undefined>;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | string>;
}

/** Starts `mailroom --json <args>` as its own process and waits for its ready line. */
export async function startCliProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliProcess> {
  const child = spawn(process.execPath, [...TSX, CLI, '--json', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<CliProcess['ready']>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not get ready: ${stderr}`)), 30_000);
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { ready?: CliProcess['ready'] };
        if (parsed.ready) {
          clearTimeout(timer);
          resolve(parsed.ready);
        }
      } catch {
        // a log line
      }
    });
    void exited.then((code) => reject(new Error(`${args[0]} exited (${code}) before ready: ${stderr}`)));
  });
  return { child, ready, exited };
}

/** Starts `mailroom dev --json` on ports 0 as its own process and waits for its ready line. */
export async function startDevProcess(
  dataDir: string,
  env: NodeJS.ProcessEnv = {},
  extraArgs: string[] = [],
): Promise<DevProcess> {
  const { child, ready, exited } = await startCliProcess(
    [
      '--data-dir',
      dataDir,
      'dev',
      '--smtp-port',
      '0',
      '--submission-port',
      '0',
      '--imap-port',
      '0',
      '--imap-tls-port',
      '0',
      '--pop3-port',
      '0',
      '--pop3-tls-port',
      '0',
      '--log-level',
      'warn',
      ...extraArgs,
    ],
    env,
  );
  const port = (hostPort: unknown) => Number(String(hostPort).split(':').pop());
  return {
    child,
    smtpPort: port(ready.smtp),
    submissionPort: port(ready.submission),
    imapPort: port(ready.imap),
    pop3Port: port(ready.pop3),
    account: ready.account as string | undefined,
    password: ready.password as string | undefined,
    exited,
  };
}

/** Runs the CLI to completion; returns its exit code and output. */
export function runCli(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [...TSX, CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(options.input ?? '');
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
