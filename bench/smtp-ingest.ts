/**
 * SMTP ingest benchmark: Mailroom's MX listener, with the whole pipeline running in this
 * process, against postfix's smtp-sink (accepts and discards: the ceiling), in two modes:
 * a new connection per message, and connections reused. Prints a table; never asserts.
 *
 *   npm run bench -- --messages 2000 --connections 20
 *
 * See bench/README.md for how to read the numbers.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { positiveInt } from './args.js';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, tmpdir, totalmem, release, platform, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config.js';
import { silentLogger } from '../lib/log.js';
import { startMailroom, type RunningMailroom } from '../lib/app/mailroom.js';
import { hashPassword } from '../lib/auth/password.js';
import type { Mode, PhaseRequest, PhaseResult } from './load-generator.js';
import { SmtpLineClient } from './smtp-line-client.js';

const HOST = '127.0.0.1';
const SMTP_SINK = '/usr/sbin/smtp-sink';
const DOMAIN = 'example.test';
const ACCOUNT = 'demo@example.test';
const MAIL_FROM = 'bench@sender.example';
const REPLY_TIMEOUT_MS = 10_000;
const MODES: { mode: Mode; label: string }[] = [
  { mode: 'new-connection', label: 'new connection per message' },
  { mode: 'reused-connection', label: 'connections reused' },
];

const USAGE = `usage: npm run bench -- [options]
  --messages N        messages per phase (default 2000)
  --connections C     concurrent connections (default 20)
  --bytes B           approximate size of each message (default 10240)
  --phase-seconds S   a phase starts no new message after S seconds (default 25)
  --drain-seconds S   wait at most S seconds for Mailroom's ingest backlog (default 20)
  --help`;

const option = (name: string, value: string | undefined, fallback: number) =>
  positiveInt(USAGE, name, value, fallback);

function parameters() {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string' },
      connections: { type: 'string' },
      bytes: { type: 'string' },
      'phase-seconds': { type: 'string' },
      'drain-seconds': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  return {
    messages: option('messages', values.messages, 2000),
    connections: option('connections', values.connections, 20),
    bytes: option('bytes', values.bytes, 10 * 1024),
    phaseSeconds: option('phase-seconds', values['phase-seconds'], 25),
    drainSeconds: option('drain-seconds', values['drain-seconds'], 20),
  };
}

type Params = ReturnType<typeof parameters>;

// ---------------------------------------------------------------------------------------
// The load generator child process

interface LoadGenerator {
  run(request: Omit<PhaseRequest, 'type'>): Promise<PhaseResult>;
  stop(): void;
}

async function startLoadGenerator(): Promise<LoadGenerator> {
  // tsx puts its loader in execArgv, and fork passes execArgv on, so the child runs TS too.
  const child = fork(fileURLToPath(new URL('./load-generator.ts', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) =>
      reject(new Error(`load generator exited with code ${code} before it was ready`)),
    );
  });
  return {
    run(request) {
      return new Promise((resolve, reject) => {
        // Every phase stops by itself; this only catches a child that hangs or dies.
        const limitMs = request.maxSeconds * 1000 + REPLY_TIMEOUT_MS * 4 + 5_000;
        const timer = setTimeout(() => {
          cleanup();
          child.kill('SIGKILL');
          reject(new Error(`load generator gave no result within ${limitMs} ms`));
        }, limitMs);
        const onMessage = (message: PhaseResult) => {
          cleanup();
          resolve(message);
        };
        const onExit = (code: number | null) => {
          cleanup();
          reject(new Error(`load generator exited with code ${code}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          child.off('message', onMessage);
          child.off('exit', onExit);
        };
        child.on('message', onMessage);
        child.once('exit', onExit);
        child.send({ type: 'run', ...request } satisfies PhaseRequest);
      });
    },
    stop() {
      if (child.connected) child.disconnect();
      if (child.exitCode === null) child.kill();
    },
  };
}

// ---------------------------------------------------------------------------------------
// The targets

interface Target {
  name: string;
  port: number;
  /** After each phase: let the target settle (Mailroom drains its ingest backlog). */
  settle?(): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForSmtp(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`smtp-sink exited (${child.exitCode ?? child.signalCode}): ${stderr().trim()}`);
    }
    try {
      const client = await SmtpLineClient.open(port, HOST, 1_000);
      await client.quit().catch(() => undefined);
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`smtp-sink did not answer on ${HOST}:${port}`, { cause: err });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function startSmtpSink(): Promise<Target> {
  const port = await freePort();
  // smtp-sink refuses to run as root unless told which user to become (-u).
  const asRoot = process.getuid?.() === 0;
  const args = [...(asRoot ? ['-u', 'nobody'] : []), `${HOST}:${port}`, '1000'];
  const child = spawn(SMTP_SINK, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-2_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  try {
    await waitForSmtp(port, child, () => stderr);
  } catch (err) {
    await stop();
    throw err;
  }
  return { name: 'smtp-sink', port, stop };
}

interface MailroomTarget extends Target {
  running: RunningMailroom;
  dataDir: string;
  /** Seconds each settle() took to empty the ingest backlog (undefined: gave up). */
  drains: (number | undefined)[];
}

async function startMailroomTarget(params: Params): Promise<MailroomTarget> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mailroom-bench-'));
  try {
    // The environment is ignored on purpose: MAILROOM_* from a dev shell must not change the run.
    const config = loadConfig(
      {
        dataDir,
        host: HOST,
        smtpPort: 0,
        submissionPort: 0,
        imapPort: 0,
        imapTlsPort: 0,
        logLevel: 'silent',
      },
      {},
    );
    const running = await startMailroom(config, silentLogger);
    await running.embedded.store.addDomain(DOMAIN);
    await running.embedded.store.addAccount(ACCOUNT, await hashPassword('bench-password'));
    const drains: (number | undefined)[] = [];
    return {
      name: 'mailroom',
      port: running.smtpPort,
      running,
      dataDir,
      drains,
      async settle() {
        const start = performance.now();
        const deadline = start + params.drainSeconds * 1000;
        for (;;) {
          const stats = await running.embedded.queue.stats();
          if (stats.visible + stats.inFlight + stats.delayed === 0) {
            drains.push((performance.now() - start) / 1000);
            return;
          }
          if (performance.now() > deadline) {
            drains.push(undefined);
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      },
      async stop() {
        try {
          await running.stop();
        } finally {
          await rm(dataDir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------
// Report

interface Row {
  target: string;
  mode: Mode;
  result: PhaseResult;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  // Nearest rank.
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? NaN;
}

function rate(result: PhaseResult): number {
  return result.elapsedMs > 0 ? result.accepted / (result.elapsedMs / 1000) : 0;
}

function fmt(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function report(rows: Row[]): string {
  const header = [
    'target',
    'mode',
    'msgs/s',
    'p50 ms',
    'p99 ms',
    'accepted',
    'failed',
    'not sent',
    '220 p50 ms',
    'x smtp-sink',
  ];
  const body: string[][] = [];
  for (const { mode, label } of MODES) {
    const sink = rows.find((r) => r.mode === mode && r.target === 'smtp-sink');
    for (const row of rows.filter((r) => r.mode === mode)) {
      const sorted = [...row.result.latencies].sort((a, b) => a - b);
      const greetings = [...row.result.greetings].sort((a, b) => a - b);
      const ratio =
        row.target !== 'smtp-sink' && sink && rate(sink.result) > 0
          ? rate(row.result) / rate(sink.result)
          : NaN;
      body.push([
        row.target,
        label,
        fmt(rate(row.result), 0),
        fmt(percentile(sorted, 50), 2),
        fmt(percentile(sorted, 99), 2),
        String(row.result.accepted),
        String(row.result.failed),
        String(row.result.skipped),
        fmt(percentile(greetings, 50), 2),
        row.target === 'smtp-sink' ? '1.00' : fmt(ratio, 2),
      ]);
    }
  }
  return table(header, body);
}

// ---------------------------------------------------------------------------------------

async function main() {
  const params = parameters();
  const cpuList = cpus();
  const out = (text = '') => process.stdout.write(text + '\n');

  out('SMTP ingest benchmark');
  out(
    `  machine     node ${process.version}, ${platform()} ${release()}, ${cpuList.length} cores (${cpuList[0]?.model.trim() ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  out(
    `  parameters  ${params.messages} messages of ~${params.bytes} bytes per phase, ${params.connections} connections, phases stop after ${params.phaseSeconds} s`,
  );
  out(
    `  latency     p50/p99: from sending the final "." of DATA to reading its 250; 220 p50: from connect to the greeting`,
  );
  out();

  const targets: Target[] = [];
  let load: LoadGenerator | undefined;
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    process.stderr.write('interrupted: stopping after the current phase\n');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    load = await startLoadGenerator();
    if (isExecutable(SMTP_SINK)) {
      try {
        targets.push(await startSmtpSink());
      } catch (err) {
        out(`smtp-sink: could not start, skipped (${err instanceof Error ? err.message : String(err)})`);
      }
    } else {
      out(`smtp-sink: ${SMTP_SINK} not found (Debian package postfix), skipped; no ratio column`);
    }
    const mailroom = await startMailroomTarget(params);
    targets.push(mailroom);

    let index = 0;
    const run = async (target: Target, mode: Mode, messages: number) => {
      const result = await load!.run({
        host: HOST,
        port: target.port,
        mode,
        messages,
        connections: Math.min(params.connections, messages),
        maxSeconds: params.phaseSeconds,
        replyTimeoutMs: REPLY_TIMEOUT_MS,
        bytes: params.bytes,
        mailFrom: MAIL_FROM,
        rcptTo: ACCOUNT,
        firstIndex: index,
      });
      index += messages;
      await target.settle?.();
      return result;
    };

    // Warm up the JIT on both sides (the client and Mailroom) in both modes before
    // anything is measured; the first few hundred messages run markedly slower.
    const warmup = Math.min(100, params.messages);
    let warmed = 0;
    for (const target of targets) {
      for (const { mode } of MODES) {
        if (interrupted) break;
        process.stderr.write(`warming up ${target.name}, ${mode} (${warmup} messages)\n`);
        const result = await run(target, mode, warmup);
        if (target === mailroom) warmed += result.accepted;
      }
    }

    // Mode by mode, the targets back to back, so each ratio compares runs close in time.
    const rows: Row[] = [];
    for (const { mode, label } of MODES) {
      for (const target of targets) {
        if (interrupted) break;
        process.stderr.write(`${target.name}: ${label}\n`);
        rows.push({ target: target.name, mode, result: await run(target, mode, params.messages) });
      }
    }

    out(report(rows));
    out();
    const accepted =
      warmed + rows.filter((r) => r.target === 'mailroom').reduce((n, r) => n + r.result.accepted, 0);
    const inbox = await mailroom.running.embedded.store.getMailbox(ACCOUNT, 'INBOX');
    const stats = await mailroom.running.embedded.queue.stats();
    const drains = mailroom.drains.map((s) =>
      s === undefined ? `>${params.drainSeconds} s (gave up)` : `${s.toFixed(1)} s`,
    );
    out(
      `mailroom pipeline: ${inbox?.messages ?? 0} of ${accepted} accepted messages filed into ${ACCOUNT} INBOX; ` +
        `queue left: ${stats.visible + stats.inFlight + stats.delayed} pending, ${stats.dead} dead`,
    );
    out(`  ingest backlog after each phase (warm-ups first) emptied in: ${drains.join(', ')}`);
    const problems = rows.flatMap((r) => r.result.errors.map((e) => `${r.target} (${r.mode}): ${e}`));
    if (problems.length > 0) {
      out('failures seen (first few):');
      for (const p of problems) out(`  ${p}`);
    }
    out(
      'Read the x smtp-sink column (Mailroom msgs/s ÷ smtp-sink msgs/s), not the absolute numbers: see bench/README.md.',
    );
  } finally {
    load?.stop();
    for (const target of targets.reverse()) {
      await target
        .stop()
        .catch((err: unknown) => process.stderr.write(`stopping ${target.name}: ${String(err)}\n`));
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
