import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { MemoryReport } from './imap-mailroom.js';

/*
 * The child processes of bench/imap.ts and bench/pop3.ts: the load generator and Mailroom,
 * each in a Node process of its own, talking to the bench over IPC; and what the bench
 * reads about a process from /proc.
 */

/**
 * A Node child running `script` over IPC, with the open-files limit raised first: 5,000
 * connections need as many descriptors in the client and in the server. Node cannot
 * raise its own limit (there is no process.setrlimit), so bash does it and execs node.
 */
export class NodeChild {
  readonly process: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(script: string, args: string[], nodeOptions: string[] = []) {
    // tsx puts its loader in execArgv; passing it on makes the child run TypeScript too.
    this.process = spawn(
      'bash',
      [
        '-c',
        'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"',
        'bash',
        process.execPath,
        ...process.execArgv,
        ...nodeOptions,
        fileURLToPath(new URL(script, import.meta.url)),
        ...args,
      ],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    this.exited = new Promise((resolve) => this.process.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.process.pid!;
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** The next message from the child, or an error when it exits or takes longer than timeoutMs. */
  next<T>(timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${what}: no answer within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      const onMessage = (message: T & { type: string; message?: string }) => {
        cleanup();
        if (message.type === 'error') reject(new Error(`${what}: ${message.message}`));
        else resolve(message);
      };
      const onExit = (code: number | null, signal: string | null) => {
        cleanup();
        reject(new Error(`${what}: the child exited (${code ?? signal})`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.process.off('message', onMessage);
        this.process.off('exit', onExit);
      };
      this.process.on('message', onMessage);
      this.process.once('exit', onExit);
    });
  }

  request<T>(message: object, timeoutMs: number, what: string): Promise<T> {
    const reply = this.next<T>(timeoutMs, what);
    this.process.send(message);
    return reply;
  }

  async stop(): Promise<void> {
    if (this.running && this.process.connected) this.process.send({ type: 'stop' });
    if (this.process.connected) this.process.disconnect();
    await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    if (this.running) this.process.kill('SIGKILL');
  }

  /** For the exit handler: no waiting. */
  kill(): void {
    if (this.running) this.process.kill('SIGKILL');
  }
}

/** A load generator child (bench/imap-load.ts, bench/pop3-load.ts): one request, one result. */
export class LoadGenerator<Request extends { type: string }> extends NodeChild {
  run<T>(request: Request, timeoutMs: number): Promise<T> {
    return this.request<T>(request, timeoutMs, `load generator (${request.type})`);
  }
}

/** Mailroom in a process of its own (bench/imap-mailroom.ts), so that its memory is Mailroom's alone. */
export class MailroomProcess extends NodeChild {
  imapPort = 0;
  pop3Port = 0;

  constructor(dataDir: string, profileDir?: string) {
    // --expose-gc: the memory readings are taken right after a full collection.
    super(
      './imap-mailroom.ts',
      [dataDir],
      ['--expose-gc', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])],
    );
  }

  async ready(): Promise<void> {
    const ready = await this.next<{ imapPort: number; pop3Port: number }>(30_000, 'mailroom start');
    this.imapPort = ready.imapPort;
    this.pop3Port = ready.pop3Port;
  }

  /** VmRSS from /proc (the whole process, as `ps` shows it) and the V8 heap after a full GC. */
  async memory(): Promise<{ rss: number; heapUsed: number; external: number }> {
    const report = await this.request<MemoryReport>({ type: 'memory' }, 30_000, 'mailroom memory');
    return {
      rss: procMemory(this.pid)?.rss ?? report.rss,
      heapUsed: report.heapUsed,
      external: report.external,
    };
  }
}

export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resident set of a process, in bytes, from /proc/<pid>/status. */
export interface ProcMemory {
  /** VmRSS: resident now. */
  rss: number;
  /** VmHWM: the highest VmRSS since the process started or since resetPeakRss. */
  peak: number;
  /** Name: the executable's name (e.g. "pop3"). */
  name: string;
}

/** Undefined when the process is gone, or not on Linux. */
export function procMemory(pid: number): ProcMemory | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  const rss = kb('VmRSS');
  if (!Number.isFinite(rss)) return undefined;
  return { rss, peak: kb('VmHWM'), name: /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '' };
}

/**
 * Sets the process's VmHWM back to its VmRSS (Linux 4.0+, `echo 5 > /proc/<pid>/clear_refs`),
 * so that the next VmHWM is the peak since now. False when that is not possible.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** The direct children of a process (Linux 3.5+ with CONFIG_PROC_CHILDREN); empty when unknown. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}
