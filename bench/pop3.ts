/**
 * POP3 benchmark: Mailroom's POP3 server against Debian's Dovecot (dovecot-pop3d),
 * configured here as a throwaway on 127.0.0.1 with the same messages. Two parts, each
 * printing a table:
 *
 *  - maildrop: a 1,000-message maildrop (about 50 KB each) downloaded whole, R rounds of
 *    USER, PASS, STAT, LIST, UIDL, RETR of every message, QUIT (no DELE): messages/s, MB/s,
 *    RETR p50/p99 and the server's RSS (before seeding, after, peak while it serves RETR);
 *  - big message: RETR of one 20 MB message and how far the server's RSS rises meanwhile.
 *
 *   npx tsx bench/pop3.ts [--messages 1000] [--rounds 3] [--connections 1] [--phases maildrop,big]
 *
 * Never asserts. See bench/README.md for how to read the numbers.
 */
import { positiveInt } from './args.js';
import { machineLine, note, out, startBenchRun, waitForGreeting } from './run.js';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { dataPaths } from '../lib/app/mailroom.js';
import { FsBlobStore } from '../lib/blob/fs/fs-blob-store.js';
import { SqliteStore } from '../lib/store/sqlite/sqlite-store.js';
import {
  dovecotAvailable,
  prepareDovecot,
  startDovecot,
  DOVECOT,
  DOVECOT_LIBEXEC,
  type Dovecot,
  type DovecotSetup,
} from './imap-dovecot.js';
import { lightPasswordHash, seedMailroom, writeMaildir } from './imap-seed.js';
import { ascending, fmt, percentile, ratio, table } from './imap-report.js';
import {
  LoadGenerator as LoadChild,
  MailroomProcess,
  childPids,
  freePort,
  procMemory,
  resetPeakRss,
  type ProcMemory,
} from './node-child.js';
import { Pop3LineClient } from './pop3-line-client.js';
import {
  SESSION_STEPS,
  type BigOpenResult,
  type BigRetrResult,
  type LoadRequest,
  type RoundsResult,
  type Target,
} from './pop3-protocol.js';
import { bigMessage, maildropMessages, totalBytes } from './pop3-seed.js';

const HOST = '127.0.0.1';
const DOMAIN = 'example.test';
/** The first connection's account; connection k > 1 uses demo<k>@example.test. */
const LOAD_ACCOUNT = 'demo@example.test';
const BIG_ACCOUNT = 'big@example.test';
const PASSWORD = 'bench-password';
const REPLY_TIMEOUT_MS = 15_000;
const SAMPLE_MS = 50;
const MB = 2 ** 20;
const PHASES = ['maildrop', 'big'] as const;
type Phase = (typeof PHASES)[number];

const USAGE = `usage: npx tsx bench/pop3.ts [options]
  --messages N         maildrop: messages per account (default 1000)
  --bytes B            maildrop: typical message size; sizes vary around it, mean ~1.05 B (default 51200)
  --large K            maildrop: K of the messages are multi-MB instead, spread evenly (default 0)
  --large-mb M         maildrop: size of those in MB (default 5)
  --rounds R           maildrop: measured rounds per server, each a whole download of the maildrop (default 3)
  --warmup-rounds W    maildrop: unmeasured rounds per server first (default 1; 0 for none)
  --connections C      maildrop: concurrent sessions, each on an account of its own (default 1)
  --big-mb M           big message: its size in MB (default 20)
  --phases LIST        any of maildrop,big, comma-separated (default both)
  --profile DIR        write a V8 CPU profile of the Mailroom process into DIR (Chrome DevTools)
  --help`;

const option = (name: string, value: string | undefined, fallback: number) =>
  positiveInt(USAGE, name, value, fallback);

function parameters() {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string' },
      bytes: { type: 'string' },
      large: { type: 'string' },
      'large-mb': { type: 'string' },
      rounds: { type: 'string' },
      'warmup-rounds': { type: 'string' },
      connections: { type: 'string' },
      'big-mb': { type: 'string' },
      phases: { type: 'string' },
      profile: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  const phases = (values.phases ?? PHASES.join(',')).split(',').map((p) => p.trim());
  const unknown = phases.filter((p) => !(PHASES as readonly string[]).includes(p));
  if (unknown.length || phases.length === 0) {
    process.stderr.write(
      `--phases takes ${PHASES.join(',')}, got ${JSON.stringify(values.phases)}\n${USAGE}\n`,
    );
    process.exit(2);
  }
  const zeroOrMore = (name: string, value: string | undefined, fallback: number) =>
    value === '0' ? 0 : option(name, value, fallback);
  return {
    messages: option('messages', values.messages, 1000),
    bytes: option('bytes', values.bytes, 50 * 1024),
    large: zeroOrMore('large', values.large, 0),
    largeMb: option('large-mb', values['large-mb'], 5),
    rounds: option('rounds', values.rounds, 3),
    warmupRounds: zeroOrMore('warmup-rounds', values['warmup-rounds'], 1),
    connections: option('connections', values.connections, 1),
    bigMb: option('big-mb', values['big-mb'], 20),
    phases: new Set(phases as Phase[]),
    profileDir: values.profile === undefined ? undefined : resolve(values.profile),
  };
}

type Params = ReturnType<typeof parameters>;

/** One account per connection: a POP3 session locks its maildrop (RFC 1939 §8). */
function loadAccounts(connections: number): string[] {
  return Array.from({ length: connections }, (_, k) => (k === 0 ? LOAD_ACCOUNT : `demo${k + 1}@${DOMAIN}`));
}

class LoadGenerator extends LoadChild<LoadRequest> {
  constructor() {
    super('./pop3-load.ts', []);
  }
}

/** Resolves once a POP3 greeting can be read on the port. */
function waitForPop3(port: number): Promise<void> {
  return waitForGreeting(`POP3 on ${HOST}:${port}`, () => Pop3LineClient.open(port, HOST, 2_000));
}

// ---------------------------------------------------------------------------------------
// Memory: read from /proc while the load runs in the other child

interface Peak {
  /** The highest resident set seen, bytes. */
  rss: number;
  /** Dovecot only: the highest sum of the pop3 processes' peaks among those alive at once. */
  pop3: number;
}

/** Dovecot's processes: the master and its children (config, log, anvil, auth, pop3-login, pop3). */
function dovecotProcesses(master: number): { pid: number; memory: ProcMemory }[] {
  const found: { pid: number; memory: ProcMemory }[] = [];
  for (const pid of [master, ...childPids(master)]) {
    const memory = procMemory(pid);
    if (memory) found.push({ pid, memory });
  }
  return found;
}

/**
 * Reads the servers' RSS every SAMPLE_MS while a part runs. Mailroom: its process's VmRSS,
 * and its VmHWM (reset at the start) at the end, which catches a peak between two samples.
 * Dovecot: the sum of VmRSS over all its processes, and the pop3 processes' own VmHWM
 * (each connection has a pop3 process of its own, gone at QUIT).
 */
class RssSampler {
  private readonly peak: Peak = { rss: 0, pop3: 0 };
  private readonly timer: NodeJS.Timeout;
  private readonly hwm: boolean;

  constructor(private readonly server: Server) {
    this.hwm = server.name === 'mailroom' && resetPeakRss(server.pid);
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
  }

  private sample() {
    if (this.server.name === 'mailroom') {
      this.peak.rss = Math.max(this.peak.rss, procMemory(this.server.pid)?.rss ?? 0);
      return;
    }
    let total = 0;
    let pop3 = 0;
    for (const { memory } of dovecotProcesses(this.server.pid)) {
      total += memory.rss;
      if (memory.name === 'pop3') pop3 += memory.peak;
    }
    this.peak.rss = Math.max(this.peak.rss, total);
    this.peak.pop3 = Math.max(this.peak.pop3, pop3);
  }

  stop(): Peak {
    clearInterval(this.timer);
    this.sample();
    if (this.hwm) this.peak.rss = Math.max(this.peak.rss, procMemory(this.server.pid)?.peak ?? 0);
    return this.peak;
  }
}

// ---------------------------------------------------------------------------------------
// Seeding

interface Seeded {
  dovecot: DovecotSetup | undefined;
  /** Octets of one maildrop, and of the big message. */
  maildropBytes: number;
  bigBytes: number;
  seconds: number;
}

async function seed(
  params: Params,
  store: SqliteStore,
  blobs: FsBlobStore,
  dovecot: DovecotSetup | undefined,
  stopped: () => boolean,
): Promise<Seeded> {
  const start = performance.now();
  const accounts = loadAccounts(params.connections);
  const now = Date.now();
  let maildropBytes = 0;
  let bigBytes = 0;
  if (params.phases.has('maildrop')) {
    const messages = maildropMessages(
      params.messages,
      params.bytes,
      LOAD_ACCOUNT,
      params.large,
      params.largeMb * MB,
    );
    maildropBytes = totalBytes(messages);
    note(
      `seeding: ${params.messages} messages (${fmt(maildropBytes / MB, 1)} MB) into the INBOX of ${accounts.join(', ')}`,
    );
    // Mailroom: one blob per message, shared by the accounts, as a message for several recipients is.
    await seedMailroom(store, blobs, accounts, messages, now);
    if (dovecot) {
      for (const account of accounts) {
        if (stopped()) break;
        await writeMaildir(dovecot.maildir(account), messages.length, (i) => messages[i]!);
      }
    }
  }
  if (params.phases.has('big') && !stopped()) {
    const message = bigMessage(params.bigMb * MB, BIG_ACCOUNT);
    bigBytes = message.length;
    note(`seeding: one message of ${fmt(bigBytes / MB, 1)} MB into ${BIG_ACCOUNT}'s INBOX`);
    await seedMailroom(store, blobs, [BIG_ACCOUNT], [message], now);
    if (dovecot) await writeMaildir(dovecot.maildir(BIG_ACCOUNT), 1, () => message);
  }
  return { dovecot, maildropBytes, bigBytes, seconds: (performance.now() - start) / 1000 };
}

// ---------------------------------------------------------------------------------------
// The two parts

type Server = { name: 'mailroom' | 'dovecot'; port: number; pid: number };

function target(server: Server): Target {
  return { host: HOST, port: server.port, password: PASSWORD, timeoutMs: REPLY_TIMEOUT_MS };
}

interface MaildropResult {
  warmup: RoundsResult | undefined;
  measured: RoundsResult;
  /** The peak of each round, warm-up and measured: bounded, they stay level. */
  warmupPeaks: Peak[];
  peaks: Peak[];
}

/** One RoundsResult out of several, in order. */
function mergeRounds(results: RoundsResult[]): RoundsResult | undefined {
  if (results.length === 0) return undefined;
  return {
    type: 'rounds',
    rounds: results.flatMap((r) => r.rounds),
    latencies: Object.fromEntries(
      SESSION_STEPS.map((step) => [step, results.flatMap((r) => r.latencies[step])]),
    ) as RoundsResult['latencies'],
    failed: results.reduce((n, r) => n + r.failed, 0),
    sizeMismatches: results.reduce((n, r) => n + r.sizeMismatches, 0),
    countMismatches: results.reduce((n, r) => n + r.countMismatches, 0),
    errors: [...new Set(results.flatMap((r) => r.errors))].slice(0, 5),
  };
}

/** Round after round, one request each, so that the RSS peak of every round is known. */
async function runMaildrop(params: Params, load: LoadGenerator, server: Server): Promise<MaildropResult> {
  const users = loadAccounts(params.connections);
  const round = async () => {
    const sampler = new RssSampler(server);
    try {
      const result = await load.run<RoundsResult>(
        { type: 'rounds', target: target(server), users, rounds: 1, messages: params.messages },
        120_000 + params.messages * 500,
      );
      return { result, peak: sampler.stop() };
    } finally {
      sampler.stop();
    }
  };
  const warmup: Awaited<ReturnType<typeof round>>[] = [];
  const measured: Awaited<ReturnType<typeof round>>[] = [];
  if (params.warmupRounds > 0) note(`maildrop: ${server.name}, ${params.warmupRounds} warm-up round(s)`);
  for (let r = 0; r < params.warmupRounds; r++) warmup.push(await round());
  note(`maildrop: ${server.name}, ${params.rounds} rounds, ${params.connections} connection(s)`);
  for (let r = 0; r < params.rounds; r++) measured.push(await round());
  return {
    warmup: mergeRounds(warmup.map((x) => x.result)),
    measured: mergeRounds(measured.map((x) => x.result))!,
    warmupPeaks: warmup.map((x) => x.peak),
    peaks: measured.map((x) => x.peak),
  };
}

interface BigResult {
  open: BigOpenResult;
  retr: BigRetrResult;
  /** RSS right before RETR (Mailroom: after a full GC) and the peak during it. */
  before: number;
  peak: number;
}

/**
 * One connection: USER, PASS, STAT; then the server's RSS is read (Mailroom: after a full
 * GC, and its VmHWM reset), RETR 1 runs, and the peak is read while the connection is
 * still open (Dovecot's pop3 process leaves at QUIT).
 */
async function runBig(load: LoadGenerator, server: Server, mailroom?: MailroomProcess): Promise<BigResult> {
  const pop3Before = new Set(
    dovecotProcesses(server.pid)
      .filter((p) => p.memory.name === 'pop3')
      .map((p) => p.pid),
  );
  const open = await load.run<BigOpenResult>(
    { type: 'big-open', target: target(server), user: BIG_ACCOUNT },
    60_000,
  );
  try {
    let before: number;
    let peakOf: () => number;
    if (mailroom) {
      before = (await mailroom.memory()).rss;
      const sampler = new RssSampler(server);
      peakOf = () => sampler.stop().rss;
    } else {
      // The pop3 process that serves this connection: the one that was not there before.
      const mine = () =>
        dovecotProcesses(server.pid).filter((p) => p.memory.name === 'pop3' && !pop3Before.has(p.pid));
      before = mine().reduce((n, p) => n + p.memory.rss, 0);
      peakOf = () => mine().reduce((n, p) => n + p.memory.peak, 0);
    }
    const retr = await load.run<BigRetrResult>({ type: 'big-retr' }, 300_000);
    return { open, retr, before, peak: peakOf() };
  } finally {
    await load.run({ type: 'big-quit' }, 30_000).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------
// Reports

function throughput(r: RoundsResult) {
  const ms = r.rounds.reduce((n, x) => n + x.elapsedMs, 0);
  const messages = r.rounds.reduce((n, x) => n + x.messages, 0);
  const octets = r.rounds.reduce((n, x) => n + x.octets, 0);
  return { perSecond: messages / (ms / 1000), mbPerSecond: octets / MB / (ms / 1000), messages, ms };
}

function maildropReport(results: Map<string, MaildropResult>): string[] {
  const names = [...results.keys()];
  const dovecot = results.get('dovecot');
  const lines: string[] = [];
  lines.push(
    table(
      [
        'target',
        'msgs/s',
        'MB/s',
        'RETR p50 ms',
        'RETR p99 ms',
        'rounds, s',
        'warm-up, s',
        'RETRs',
        'failed',
        'x dovecot',
      ],
      names.map((name) => {
        const r = results.get(name)!;
        const t = throughput(r.measured);
        const retr = ascending(r.measured.latencies.RETR);
        return [
          name,
          fmt(t.perSecond, 0),
          fmt(t.mbPerSecond, 1),
          fmt(percentile(retr, 50), 2),
          fmt(percentile(retr, 99), 2),
          r.measured.rounds.map((x) => fmt(x.elapsedMs / 1000, 2)).join(', '),
          r.warmup?.rounds.map((x) => fmt(x.elapsedMs / 1000, 2)).join(', ') ?? '-',
          String(t.messages),
          String(r.measured.failed + (r.warmup?.failed ?? 0)),
          name === 'dovecot'
            ? '1.00'
            : fmt(ratio(t.perSecond, dovecot && throughput(dovecot.measured).perSecond), 2),
        ];
      }),
    ),
  );
  lines.push('');
  const rows: string[][] = [];
  const mailroom = names.indexOf('mailroom');
  const dc = names.indexOf('dovecot');
  for (const step of SESSION_STEPS) {
    const perServer = names.map((name) => {
      const sorted = ascending(results.get(name)!.measured.latencies[step]);
      return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
    });
    rows.push([
      step === 'connect' ? 'connect (to greeting)' : step,
      ...perServer.flatMap((s) => [fmt(s.p50, 2), fmt(s.p99, 2)]),
      ...(mailroom >= 0 && dc >= 0 ? [fmt(ratio(perServer[mailroom]!.p99, perServer[dc]!.p99), 2)] : []),
    ]);
  }
  lines.push(
    table(
      [
        'latency, ms',
        ...names.flatMap((n) => [`${n} p50`, `${n} p99`]),
        ...(mailroom >= 0 && dc >= 0 ? ['p99 x dovecot'] : []),
      ],
      rows,
    ),
  );
  for (const [name, r] of results) {
    for (const e of [...(r.warmup?.errors ?? []), ...r.measured.errors])
      lines.push(`  ${name} failure: ${e}`);
    const sizes = r.measured.sizeMismatches + (r.warmup?.sizeMismatches ?? 0);
    const counts = r.measured.countMismatches + (r.warmup?.countMismatches ?? 0);
    if (sizes) lines.push(`  ${name}: ${sizes} RETRs whose size differed from LIST's`);
    if (counts)
      lines.push(`  ${name}: ${counts} sessions whose STAT, LIST or UIDL did not count the seeded messages`);
  }
  return lines;
}

type Memory = { rss: number; heapUsed: number };

/** The highest peak of all rounds, warm-up included. */
function overallPeak(r: MaildropResult): Peak {
  const all = [...r.warmupPeaks, ...r.peaks];
  return { rss: Math.max(0, ...all.map((p) => p.rss)), pop3: Math.max(0, ...all.map((p) => p.pop3)) };
}

interface MailroomMemory {
  beforeSeeding: Memory;
  afterSeeding: Memory;
  afterRounds?: Memory;
}

function memoryReport(
  results: Map<string, MaildropResult>,
  mailroomMemory: MailroomMemory,
  dovecotIdle: number | undefined,
): string[] {
  const mb = (bytes: number | undefined) => fmt((bytes ?? NaN) / MB, 1);
  const perRound = (r: MaildropResult) =>
    [r.warmupPeaks, r.peaks]
      .map((peaks) => peaks.map((p) => fmt(p.rss / MB, 0)).join(', ') || '-')
      .join('; ');
  const rows: string[][] = [];
  const m = results.get('mailroom');
  if (m) {
    rows.push([
      'mailroom (its process)',
      mb(mailroomMemory.beforeSeeding.rss),
      mb(mailroomMemory.afterSeeding.rss),
      perRound(m),
      mb(overallPeak(m).rss),
      mb(overallPeak(m).rss - mailroomMemory.afterSeeding.rss),
      mb(mailroomMemory.afterRounds?.rss),
      '-',
    ]);
  }
  const d = results.get('dovecot');
  if (d) {
    rows.push([
      'dovecot (all its processes)',
      '-',
      mb(dovecotIdle),
      perRound(d),
      mb(overallPeak(d).rss),
      mb(overallPeak(d).rss - (dovecotIdle ?? NaN)),
      '-',
      mb(overallPeak(d).pop3),
    ]);
  }
  const lines = [
    table(
      [
        'RSS, MB',
        'before seeding',
        'after seeding',
        'peak per round (warm-up; measured)',
        'peak',
        'rise',
        'after (GC)',
        'pop3 processes peak',
      ],
      rows,
    ),
  ];
  if (m) {
    const heap = [mailroomMemory.beforeSeeding, mailroomMemory.afterSeeding, mailroomMemory.afterRounds];
    lines.push(
      `  mailroom's V8 heap used after a full GC: ${heap.map((x) => mb(x?.heapUsed)).join(' MB, ')} MB (before seeding, after seeding, after the rounds)`,
    );
  }
  return lines;
}

function bigReport(results: Map<string, BigResult>): string[] {
  const dovecot = results.get('dovecot');
  const rows = [...results].map(([name, r]) => [
    name === 'mailroom' ? 'mailroom (its process)' : 'dovecot (its pop3 process)',
    fmt(r.retr.size / MB, 1),
    fmt(r.retr.ms, 0),
    fmt(r.retr.octets / MB / (r.retr.ms / 1000), 0),
    fmt(r.retr.firstByteMs, 1),
    fmt(r.before / MB, 1),
    fmt(r.peak / MB, 1),
    fmt((r.peak - r.before) / MB, 1),
    name === 'dovecot' ? '1.00' : fmt(ratio(r.retr.ms, dovecot?.retr.ms), 2),
  ]);
  const lines = [
    table(
      [
        'target',
        'size MB',
        'RETR ms',
        'MB/s',
        'first byte ms',
        'RSS before MB',
        'peak MB',
        'rise MB',
        'ms x dovecot',
      ],
      rows,
    ),
  ];
  for (const [name, r] of results) {
    if (r.retr.size !== r.retr.listed) {
      lines.push(`  ${name}: RETR sent ${r.retr.size} octets, LIST said ${r.retr.listed}`);
    }
    if (r.open.messages !== 1) lines.push(`  ${name}: STAT counted ${r.open.messages} messages, not 1`);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------

async function main() {
  const params = parameters();
  const haveDovecot = dovecotAvailable(['pop3']);
  out('POP3 benchmark');
  out(`  machine     ${machineLine()}`);

  const run = await startBenchRun('pop3');
  const root = run.root;
  let load: LoadGenerator | undefined;
  let mailroom: MailroomProcess | undefined;
  let dovecot: Dovecot | undefined;
  let store: SqliteStore | undefined;
  run.atExit(() => {
    load?.kill();
    mailroom?.kill();
    // SIGTERM: the master then takes its login, auth and pop3 processes down with it.
    if (dovecot) signal(dovecot.pid, 'SIGTERM');
  });
  const stopped = run.stopped;

  try {
    // The accounts first, then Mailroom (so that its RSS can be read before anything is
    // seeded), then the messages, written by this process through the store's API while
    // Mailroom runs: SQLite in WAL mode, as the CLI writes beside a running server.
    const mailroomDir = join(root, 'mailroom');
    await mkdir(mailroomDir);
    const paths = dataPaths(mailroomDir);
    store = SqliteStore.open(paths.store);
    const blobs = new FsBlobStore(paths.blobs);
    await store.addDomain(DOMAIN);
    const light = lightPasswordHash(PASSWORD);
    const accounts = [...loadAccounts(params.connections), BIG_ACCOUNT];
    for (const account of accounts) await store.addAccount(account, light);
    let dovecotSetup: DovecotSetup | undefined;
    if (haveDovecot) {
      const dir = join(root, 'dovecot');
      await mkdir(dir);
      dovecotSetup = await prepareDovecot(
        dir,
        accounts.map((user) => ({ user, password: PASSWORD })),
      );
    }

    mailroom = new MailroomProcess(mailroomDir, params.profileDir);
    await mailroom.ready();
    const beforeSeeding = await mailroom.memory();
    const seeded = await seed(params, store, blobs, dovecotSetup, stopped);
    await store.close();
    store = undefined;
    const afterSeeding = await mailroom.memory();
    const mailroomMemory: MailroomMemory = { beforeSeeding, afterSeeding };

    if (seeded.dovecot) {
      out(
        `  dovecot     ${DOVECOT} ${seeded.dovecot.version}, Maildir, defaults but for the listener, auth and paths`,
      );
    } else {
      out(
        `  dovecot     ${DOVECOT} or ${DOVECOT_LIBEXEC}/pop3 not found (Debian package dovecot-pop3d): Mailroom alone, no ratios`,
      );
    }
    out(`  seeding     ${fmt(seeded.seconds, 1)} s (not measured)`);
    out();
    if (stopped()) return;

    load = new LoadGenerator();
    await load.next(30_000, 'load generator start');
    const servers: Server[] = [];
    let dovecotIdle: number | undefined;
    if (seeded.dovecot) {
      dovecot = await startDovecot(seeded.dovecot, { pop3: await freePort(HOST) }, (ports) =>
        waitForPop3(ports.pop3!),
      );
      servers.push({ name: 'dovecot', port: dovecot.listeners.pop3!, pid: dovecot.pid });
      await new Promise((resolve) => setTimeout(resolve, 500));
      dovecotIdle = dovecotProcesses(dovecot.pid).reduce((n, p) => n + p.memory.rss, 0);
    }
    servers.push({ name: 'mailroom', port: mailroom.pop3Port, pid: mailroom.pid });

    const summary: string[] = [];
    if (params.phases.has('maildrop') && !stopped()) {
      const results = new Map<string, MaildropResult>();
      for (const server of servers) {
        if (stopped()) break;
        results.set(server.name, await runMaildrop(params, load, server));
        if (server.name === 'mailroom') mailroomMemory.afterRounds = await mailroom.memory();
      }
      if (results.size) {
        out(
          `Maildrop: ${params.messages} messages per account, ${fmt(seeded.maildropBytes / MB, 1)} MB (~${fmt(seeded.maildropBytes / params.messages / 1024, 0)} KB each, sizes mixed${params.large ? `, ${params.large} of ${params.largeMb} MB` : ''});` +
            ` ${params.connections} connection(s), each on an account of its own`,
        );
        out(
          `      a round: connect, USER, PASS, STAT, LIST, UIDL, RETR 1..${params.messages}, QUIT (no DELE); ${params.rounds} measured rounds per server after ${params.warmupRounds} warm-up`,
        );
        out();
        for (const line of maildropReport(results)) out(line);
        out();
        for (const line of memoryReport(results, mailroomMemory, dovecotIdle)) out(line);
        out();
        const m = results.get('mailroom');
        const d = results.get('dovecot');
        if (m) {
          const t = throughput(m.measured);
          summary.push(
            `maildrop: Mailroom ${fmt(t.perSecond, 0)} msgs/s (${fmt(t.mbPerSecond, 0)} MB/s), RSS ${fmt(afterSeeding.rss / MB, 0)} MB seeded, peak ${fmt(overallPeak(m).rss / MB, 0)} MB during RETR` +
              (d
                ? `; Dovecot ${fmt(throughput(d.measured).perSecond, 0)} msgs/s (x ${fmt(ratio(t.perSecond, throughput(d.measured).perSecond), 2)}), pop3 process peak ${fmt(overallPeak(d).pop3 / MB, 1)} MB, all its processes ${fmt(overallPeak(d).rss / MB, 0)} MB`
                : ''),
          );
        }
      }
    }

    if (params.phases.has('big') && !stopped()) {
      const results = new Map<string, BigResult>();
      for (const server of servers) {
        if (stopped()) break;
        note(`big message: ${server.name}, RETR of ${fmt(seeded.bigBytes / MB, 1)} MB`);
        results.set(
          server.name,
          await runBig(load, server, server.name === 'mailroom' ? mailroom : undefined),
        );
      }
      if (results.size) {
        out(
          `Big message: one message of ${fmt(seeded.bigBytes / MB, 1)} MB; USER, PASS, STAT, then RSS read (Mailroom: after a full GC), RETR 1 timed, peak RSS read before QUIT`,
        );
        out();
        for (const line of bigReport(results)) out(line);
        out();
        const m = results.get('mailroom');
        const d = results.get('dovecot');
        if (m) {
          summary.push(
            `big message: RETR of ${fmt(seeded.bigBytes / MB, 0)} MB raised Mailroom's RSS by ${fmt((m.peak - m.before) / MB, 1)} MB` +
              (d ? `, Dovecot's pop3 process by ${fmt((d.peak - d.before) / MB, 1)} MB` : ''),
          );
        }
      }
    }

    for (const line of summary) out(line);
    if (summary.length) out();
    out('Compare ratios, not absolute numbers: see bench/README.md.');
    if (dovecot) {
      const warnings = (await dovecot.logTail()).split('\n').filter((l) => / (Error|Fatal|Panic):/.test(l));
      if (warnings.length) {
        out('dovecot log (last errors):');
        for (const w of warnings) out(`  ${w}`);
      }
    }
  } finally {
    await store?.close();
    await load?.stop();
    await mailroom?.stop();
    await dovecot?.stop();
    dovecot = undefined;
    await rm(root, { recursive: true, force: true });
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already.
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
