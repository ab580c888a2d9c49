/**
 * IMAP benchmark: Mailroom's IMAP server against Debian's Dovecot, configured here as a
 * throwaway on 127.0.0.1 with the same messages. Three parts, each printing a table:
 *
 *  - load: C clients loop LOGIN, SELECT, FETCH, UID FETCH, STORE, SEARCH, APPEND, LOGOUT
 *    for S seconds per server: commands/s, p50/p99 per command, Mailroom ÷ Dovecot;
 *  - big mailbox: SELECT + `UID FETCH 1:* (FLAGS)` on a 100,000-message mailbox;
 *  - idle: Mailroom's RSS with N connections in IDLE, and the projection for 10,000.
 *
 *   npx tsx bench/imap.ts [--big-messages 10000] [--idle 1000] [--phases load,big,idle]
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
import { hashPassword } from '../lib/auth/password.js';
import { FsBlobStore } from '../lib/blob/fs/fs-blob-store.js';
import { SqliteStore } from '../lib/store/sqlite/sqlite-store.js';
import {
  dovecotAvailable,
  prepareDovecot,
  startDovecot,
  DOVECOT,
  type Dovecot,
  type DovecotSetup,
} from './imap-dovecot.js';
import { ImapLineClient } from './imap-line-client.js';
import {
  LOOP_COMMANDS,
  type BigResult,
  type IdleCloseResult,
  type IdleOpenResult,
  type LoadRequest,
  type LoginsResult,
  type LoopResult,
  type Target,
} from './imap-protocol.js';
import { LoadGenerator as LoadChild, MailroomProcess, freePort } from './node-child.js';
import { ascending, fmt, median, percentile, ratio, table } from './imap-report.js';
import {
  SmallMessages,
  lightPasswordHash,
  loadMessages,
  seedMailroom,
  seedMailroomBig,
  writeMaildir,
} from './imap-seed.js';

const HOST = '127.0.0.1';
const DOMAIN = 'example.test';
const LOAD_ACCOUNT = 'demo@example.test';
const BIG_ACCOUNT = 'big@example.test';
const IDLE_ACCOUNT = 'idle@example.test';
/** An account with Mailroom's real password hash, for the one line on what LOGIN costs in production. */
const SCRYPT_ACCOUNT = 'scrypt@example.test';
const PASSWORD = 'bench-password';
const REPLY_TIMEOUT_MS = 15_000;
const PHASES = ['load', 'big', 'idle'] as const;
type Phase = (typeof PHASES)[number];
/** The goals of the issue, printed beside the results. */
const GOAL_FETCH_MS = 1_000;
const GOAL_IDLE_CONNECTIONS = 10_000;
const GOAL_IDLE_BYTES = 500 * 2 ** 20;

const USAGE = `usage: npx tsx bench/imap.ts [options]
  --clients C          load: concurrent clients, each looping LOGIN … LOGOUT (default 8)
  --seconds S          load: measured seconds per server (default 20)
  --warmup-seconds S   load: unmeasured seconds per server first (default 3)
  --messages N         load: messages in INBOX at the start (default 1000)
  --bytes B            load: approximate size of each message and APPEND (default 5120)
  --big-messages N     big mailbox: messages of ~1 KB (default 100000)
  --big-runs R         big mailbox: timed SELECT + UID FETCH runs per server (default 3)
  --idle N             idle: IDLE connections held open to Mailroom (default 5000)
  --phases LIST        any of load,big,idle, comma-separated (default all three)
  --profile DIR        write V8 CPU profiles of the Mailroom processes into DIR (Chrome DevTools)
  --help`;

const option = (name: string, value: string | undefined, fallback: number) =>
  positiveInt(USAGE, name, value, fallback);

function parameters() {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string' },
      seconds: { type: 'string' },
      'warmup-seconds': { type: 'string' },
      messages: { type: 'string' },
      bytes: { type: 'string' },
      'big-messages': { type: 'string' },
      'big-runs': { type: 'string' },
      idle: { type: 'string' },
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
  return {
    clients: option('clients', values.clients, 8),
    seconds: option('seconds', values.seconds, 20),
    warmupSeconds: Number(values['warmup-seconds'] ?? 3) || 0,
    messages: option('messages', values.messages, 1000),
    bytes: option('bytes', values.bytes, 5 * 1024),
    bigMessages: option('big-messages', values['big-messages'], 100_000),
    bigRuns: option('big-runs', values['big-runs'], 3),
    idle: option('idle', values.idle, 5000),
    phases: new Set(phases as Phase[]),
    profileDir: values.profile === undefined ? undefined : resolve(values.profile),
  };
}

type Params = ReturnType<typeof parameters>;

// ---------------------------------------------------------------------------------------
// Child processes (bench/node-child.ts): the load generator and Mailroom, each in its own

class LoadGenerator extends LoadChild<LoadRequest> {
  constructor() {
    super('./imap-load.ts', []);
  }
}

/** Resolves once an IMAP greeting can be read on the port. */
function waitForImap(port: number): Promise<void> {
  return waitForGreeting(`IMAP on ${HOST}:${port}`, () => ImapLineClient.open(port, HOST, 2_000));
}

// ---------------------------------------------------------------------------------------
// Seeding

interface Seeded {
  mailroomDir: string;
  dovecot: DovecotSetup | undefined;
  seconds: { load: number; big: number };
}

async function seed(
  params: Params,
  root: string,
  withDovecot: boolean,
  stopped: () => boolean,
): Promise<Seeded> {
  const mailroomDir = join(root, 'mailroom');
  await mkdir(mailroomDir);
  const paths = dataPaths(mailroomDir);
  const store = SqliteStore.open(paths.store);
  const blobs = new FsBlobStore(paths.blobs);
  const dovecotDir = join(root, 'dovecot');
  let dovecot: DovecotSetup | undefined;
  if (withDovecot) {
    await mkdir(dovecotDir);
    dovecot = await prepareDovecot(dovecotDir, [
      { user: LOAD_ACCOUNT, password: PASSWORD },
      { user: BIG_ACCOUNT, password: PASSWORD },
    ]);
  }
  const seconds = { load: 0, big: 0 };
  try {
    await store.addDomain(DOMAIN);
    const light = lightPasswordHash(PASSWORD);
    for (const account of [LOAD_ACCOUNT, BIG_ACCOUNT, IDLE_ACCOUNT]) await store.addAccount(account, light);
    await store.addAccount(SCRYPT_ACCOUNT, await hashPassword(PASSWORD));

    let start = performance.now();
    const messages = loadMessages(params.messages, params.bytes, LOAD_ACCOUNT);
    const now = Date.now();
    const accounts = [
      ...(params.phases.has('load') ? [LOAD_ACCOUNT] : []),
      ...(params.phases.has('idle') ? [IDLE_ACCOUNT] : []),
    ];
    if (accounts.length) {
      note(
        `seeding: ${params.messages} messages of ~${params.bytes} bytes into ${accounts.join(' and ')}'s INBOX`,
      );
      await seedMailroom(store, blobs, accounts, messages, now);
      if (dovecot && params.phases.has('load')) {
        await writeMaildir(dovecot.maildir(LOAD_ACCOUNT), messages.length, (i) => messages[i]!);
      }
    }
    seconds.load = (performance.now() - start) / 1000;

    if (params.phases.has('big') && !stopped()) {
      start = performance.now();
      const count = params.bigMessages;
      note(`seeding: ${count} messages of ~1 KB into each server's ${BIG_ACCOUNT} INBOX`);
      const small = new SmallMessages(count, BIG_ACCOUNT, new Date(now));
      const done = { mailroom: 0, dovecot: dovecot ? 0 : count };
      const progress = setInterval(
        () => note(`  seeded ${done.mailroom}/${count} into mailroom, ${done.dovecot}/${count} into dovecot`),
        10_000,
      );
      try {
        // Both at once: the store's appends keep this thread busy, the file writes the thread pool.
        await Promise.all([
          seedMailroomBig(store, blobs, paths.blobs, BIG_ACCOUNT, small, count, (n) => {
            done.mailroom = n;
            return !stopped();
          }),
          dovecot &&
            writeMaildir(
              dovecot.maildir(BIG_ACCOUNT),
              count,
              (i) => small.raw(i),
              (n) => {
                done.dovecot = n;
                return !stopped();
              },
            ),
        ]);
      } finally {
        clearInterval(progress);
      }
      seconds.big = (performance.now() - start) / 1000;
    }
  } finally {
    await store.close();
  }
  return { mailroomDir, dovecot, seconds };
}

// ---------------------------------------------------------------------------------------
// The three parts

interface Server {
  name: 'mailroom' | 'dovecot';
  port: number;
}

function target(server: Server, user: string): Target {
  return { host: HOST, port: server.port, user, password: PASSWORD, timeoutMs: REPLY_TIMEOUT_MS };
}

async function runLoad(
  params: Params,
  load: LoadGenerator,
  servers: Server[],
  stopped: () => boolean,
): Promise<Map<string, LoopResult>> {
  const results = new Map<string, LoopResult>();
  let index = params.messages;
  const loop = async (server: Server, seconds: number) => {
    const result = await load.run<LoopResult>(
      {
        type: 'loop',
        target: target(server, LOAD_ACCOUNT),
        clients: params.clients,
        seconds,
        seededUids: params.messages,
        appendBytes: params.bytes,
        firstIndex: index,
      },
      seconds * 1000 + REPLY_TIMEOUT_MS * 10 + 10_000,
    );
    index += result.loops + result.failed + params.clients;
    return result;
  };
  // Warm both up first (JIT on both sides; Dovecot indexes the Maildir at its first SELECT),
  // then measure them back to back so the ratio compares runs close in time.
  if (params.warmupSeconds > 0) {
    for (const server of servers) {
      if (stopped()) return results;
      note(`load: warming up ${server.name} (${params.warmupSeconds} s)`);
      await loop(server, params.warmupSeconds);
    }
  }
  for (const server of servers) {
    if (stopped()) return results;
    note(`load: ${server.name}, ${params.clients} clients, ${params.seconds} s`);
    results.set(server.name, await loop(server, params.seconds));
  }
  return results;
}

function loadReport(results: Map<string, LoopResult>): string[] {
  const names = [...results.keys()];
  const dovecot = results.get('dovecot');
  const rate = (r: LoopResult) => {
    const commands = Object.values(r.latencies).reduce((n, l) => n + l.length, 0);
    return { commands, perSecond: commands / (r.elapsedMs / 1000), loops: r.loops / (r.elapsedMs / 1000) };
  };
  const lines: string[] = [];
  lines.push(
    table(
      ['target', 'cmds/s', 'loops/s', 'commands', 'loops', 'failed', 'x dovecot'],
      names.map((name) => {
        const r = results.get(name)!;
        const { commands, perSecond, loops } = rate(r);
        return [
          name,
          fmt(perSecond, 0),
          fmt(loops, 1),
          String(commands),
          String(r.loops),
          String(r.failed),
          name === 'dovecot' ? '1.00' : fmt(ratio(perSecond, dovecot && rate(dovecot).perSecond), 2),
        ];
      }),
    ),
  );
  lines.push('');
  const rows: string[][] = [];
  const stats = (values: number[]) => {
    const sorted = ascending(values);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  };
  const addRow = (label: string, pick: (r: LoopResult) => number[]) => {
    const perServer = names.map((name) => stats(pick(results.get(name)!)));
    const mailroom = names.indexOf('mailroom');
    const dc = names.indexOf('dovecot');
    rows.push([
      label,
      ...perServer.flatMap((s) => [fmt(s.p50, 2), fmt(s.p99, 2)]),
      ...(mailroom >= 0 && dc >= 0 ? [fmt(ratio(perServer[mailroom]!.p99, perServer[dc]!.p99), 2)] : []),
    ]);
  };
  addRow('connect (to greeting)', (r) => r.connects);
  for (const command of LOOP_COMMANDS) addRow(command, (r) => r.latencies[command]);
  addRow('all commands', (r) => Object.values(r.latencies).flat());
  const header = [
    'latency, ms',
    ...names.flatMap((n) => [`${n} p50`, `${n} p99`]),
    ...(names.includes('mailroom') && names.includes('dovecot') ? ['p99 x dovecot'] : []),
  ];
  lines.push(table(header, rows));
  for (const [name, r] of results) {
    for (const e of r.errors) lines.push(`  ${name} failure: ${e}`);
  }
  return lines;
}

async function runBig(
  params: Params,
  load: LoadGenerator,
  servers: Server[],
  stopped: () => boolean,
): Promise<Map<string, BigResult>> {
  const results = new Map<string, BigResult>();
  for (const server of servers) {
    if (stopped()) break;
    note(`big mailbox: ${server.name}, ${params.bigRuns} × (SELECT + UID FETCH 1:* (FLAGS))`);
    results.set(
      server.name,
      await load.run<BigResult>(
        { type: 'big', target: target(server, BIG_ACCOUNT), runs: params.bigRuns, mailbox: 'INBOX' },
        params.bigRuns * 150_000,
      ),
    );
  }
  return results;
}

function bigReport(results: Map<string, BigResult>): string[] {
  const medians = new Map([...results].map(([name, r]) => [name, median(r.runs.map((x) => x.totalMs))]));
  const lines = [
    table(
      [
        'target',
        'EXISTS',
        'FETCHed',
        'runs, ms (SELECT + FETCH)',
        'median ms',
        'SELECT ms',
        'FETCH ms',
        'x dovecot',
      ],
      [...results].map(([name, r]) => {
        const runs = r.runs;
        const mid = [...runs].sort((a, b) => a.totalMs - b.totalMs)[(runs.length - 1) >> 1];
        return [
          name,
          String(runs[0]?.exists ?? '-'),
          String(runs[0]?.fetched ?? '-'),
          runs.map((x) => `${fmt(x.selectMs, 0)} + ${fmt(x.fetchMs, 0)}`).join(', ') || '-',
          fmt(medians.get(name)!, 0),
          fmt(mid?.selectMs ?? NaN, 0),
          fmt(mid?.fetchMs ?? NaN, 0),
          name === 'dovecot' ? '1.00' : fmt(ratio(medians.get(name), medians.get('dovecot')), 2),
        ];
      }),
    ),
  ];
  for (const [name, r] of results) for (const e of r.errors) lines.push(`  ${name} failure: ${e}`);
  return lines;
}

interface IdleResult {
  connections: number;
  open: IdleOpenResult;
  baseline: { rss: number; heapUsed: number };
  loaded: { rss: number; heapUsed: number };
  stillOpen: number;
}

/** Idle connections need a Mailroom of their own: the other parts leave its heap larger than it started. */
async function runIdle(params: Params, load: LoadGenerator, mailroomDir: string): Promise<IdleResult> {
  const mailroom = new MailroomProcess(mailroomDir, params.profileDir);
  try {
    await mailroom.ready();
    const server: Server = { name: 'mailroom', port: mailroom.imapPort };
    const idleTarget = target(server, IDLE_ACCOUNT);
    // Warm up what every connection uses (code paths, JIT, the notifier), then start counting.
    await load.run<IdleOpenResult>(
      { type: 'idle-open', target: idleTarget, connections: 50, concurrency: 10 },
      60_000,
    );
    await load.run<IdleCloseResult>({ type: 'idle-close' }, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const baseline = await mailroom.memory();
    note(`idle: opening ${params.idle} connections to mailroom (LOGIN, SELECT INBOX, IDLE)`);
    const open = await load.run<IdleOpenResult>(
      { type: 'idle-open', target: idleTarget, connections: params.idle, concurrency: 50 },
      params.idle * 100 + 60_000,
    );
    // Let timers and buffers settle before reading.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const loaded = await mailroom.memory();
    const closed = await load.run<IdleCloseResult>({ type: 'idle-close' }, 60_000);
    return { connections: params.idle, open, baseline, loaded, stillOpen: closed.stillOpen };
  } finally {
    await mailroom.stop();
  }
}

const MB = 2 ** 20;

/** Bytes per idle connection (RSS and heap), and the RSS projected for the goal's connections. */
function idleCost(r: IdleResult) {
  const idling = r.open.idling;
  const perConnection = idling > 0 ? (r.loaded.rss - r.baseline.rss) / idling : NaN;
  const heapPerConnection = idling > 0 ? (r.loaded.heapUsed - r.baseline.heapUsed) / idling : NaN;
  return {
    perConnection,
    heapPerConnection,
    projected: r.baseline.rss + perConnection * GOAL_IDLE_CONNECTIONS,
  };
}

function idleReport(r: IdleResult): string[] {
  const idling = r.open.idling;
  const { perConnection, heapPerConnection, projected } = idleCost(r);
  const lines = [
    table(
      ['mailroom', 'IDLE connections', 'RSS MB', 'heap used MB', 'RSS per conn KB', 'heap per conn KB'],
      [
        [
          'after 50 connected and left',
          '0',
          fmt(r.baseline.rss / MB, 1),
          fmt(r.baseline.heapUsed / MB, 1),
          '',
          '',
        ],
        [
          `${r.connections} opened in ${fmt(r.open.elapsedMs / 1000, 1)} s`,
          String(idling),
          fmt(r.loaded.rss / MB, 1),
          fmt(r.loaded.heapUsed / MB, 1),
          fmt(perConnection / 1024, 1),
          fmt(heapPerConnection / 1024, 1),
        ],
        [
          `projected for ${GOAL_IDLE_CONNECTIONS}`,
          String(GOAL_IDLE_CONNECTIONS),
          fmt(projected / MB, 0),
          '',
          '',
          '',
        ],
      ],
    ),
  ];
  if (r.open.failed) lines.push(`  ${r.open.failed} connections failed to reach IDLE`);
  for (const e of r.open.errors) lines.push(`  failure: ${e}`);
  if (r.stillOpen !== idling)
    lines.push(`  ${idling - r.stillOpen} idle connections were closed by the server while idling`);
  return lines;
}

// ---------------------------------------------------------------------------------------

async function main() {
  const params = parameters();
  const haveDovecot = dovecotAvailable();
  out('IMAP benchmark');
  out(`  machine     ${machineLine()}`);

  const run = await startBenchRun('imap');
  const root = run.root;
  let load: LoadGenerator | undefined;
  let mailroom: MailroomProcess | undefined;
  let dovecot: Dovecot | undefined;
  run.atExit(() => {
    load?.kill();
    mailroom?.kill();
    // SIGTERM: the master then takes its login, auth and imap processes down with it.
    if (dovecot) signal(dovecot.pid, 'SIGTERM');
  });
  const stopped = run.stopped;

  try {
    const seeded = await seed(params, root, haveDovecot, stopped);
    if (seeded.dovecot) {
      out(
        `  dovecot     ${DOVECOT} ${seeded.dovecot.version}, Maildir, defaults but for the listener, auth and paths`,
      );
    } else {
      out(`  dovecot     ${DOVECOT} not found (Debian package dovecot-imapd): Mailroom alone, no ratios`);
    }
    out(
      `  seeding     ${fmt(seeded.seconds.load, 1)} s for the load messages, ${fmt(seeded.seconds.big, 1)} s for the big mailbox (not measured)`,
    );
    out();
    if (stopped()) return;

    load = new LoadGenerator();
    await load.next(30_000, 'load generator start');
    mailroom = new MailroomProcess(seeded.mailroomDir, params.profileDir);
    await mailroom.ready();
    const servers: Server[] = [];
    if (seeded.dovecot) {
      dovecot = await startDovecot(seeded.dovecot, { imap: await freePort(HOST) }, (ports) =>
        waitForImap(ports.imap!),
      );
      servers.push({ name: 'dovecot', port: dovecot.listeners.imap! });
    }
    servers.push({ name: 'mailroom', port: mailroom.imapPort });

    /** goal, measured, verdict */
    const goals: string[][] = [];
    if (params.phases.has('load') && !stopped()) {
      const results = await runLoad(params, load, servers, stopped);
      if (results.size) {
        out(
          `Load: ${params.clients} clients, each looping connect, ${LOOP_COMMANDS.join(', ')}; ${params.seconds} s per server after ${params.warmupSeconds} s of warm-up`,
        );
        out(
          `      INBOX starts with ${params.messages} messages of ~${params.bytes} bytes and grows by every APPEND; latency: command sent → tagged reply`,
        );
        out();
        for (const line of loadReport(results)) out(line);
        const m = results.get('mailroom');
        const d = results.get('dovecot');
        const perSecond = (r: LoopResult | undefined) =>
          r ? Object.values(r.latencies).reduce((n, l) => n + l.length, 0) / (r.elapsedMs / 1000) : NaN;
        const x = ratio(perSecond(m), perSecond(d));
        goals.push([
          "Mailroom's commands/s at least Dovecot's",
          Number.isFinite(x) ? `x ${fmt(x, 2)}` : 'no dovecot',
          Number.isFinite(x) ? verdict(x >= 1) : '',
        ]);
        // LOGIN with the production password hash: what the table above leaves out on purpose.
        const logins = await load.run<LoginsResult>(
          { type: 'logins', target: target(servers.at(-1)!, SCRYPT_ACCOUNT), count: 5 },
          60_000,
        );
        out();
        out(
          `LOGIN with Mailroom's production password hash (scrypt N=2^15, r=8, p=1), 5 in a row: p50 ${fmt(median(logins.latencies), 0)} ms` +
            ` (the bench accounts use N=2^4 so that LOGIN compares with Dovecot's {PLAIN}; see bench/README.md)`,
        );
        out();
      }
    }

    if (params.phases.has('big') && !stopped()) {
      const results = await runBig(params, load, servers, stopped);
      if (results.size) {
        out(
          `Big mailbox: ${params.bigMessages} messages of ~1 KB; per run a new connection, LOGIN, then SELECT INBOX + UID FETCH 1:* (FLAGS) timed to the tagged OK`,
        );
        out(
          `      Dovecot's first SELECT also builds its index of the Maildir (run 1); the median is of ${params.bigRuns} runs`,
        );
        out();
        for (const line of bigReport(results)) out(line);
        out();
        const m = results.get('mailroom');
        const ms = m ? median(m.runs.map((r) => r.totalMs)) : NaN;
        goals.push([
          'SELECT + UID FETCH 1:* (FLAGS) of 100,000 messages under 1 s',
          `${fmt(ms / 1000, 2)} s${params.bigMessages === 100_000 ? '' : ` (with ${params.bigMessages})`}`,
          params.bigMessages === 100_000 ? verdict(ms < GOAL_FETCH_MS) : '',
        ]);
      }
    }

    if (params.phases.has('idle') && !stopped()) {
      // A fresh Mailroom for this part: stop the one that served the others.
      await mailroom.stop();
      mailroom = undefined;
      const result = await runIdle(params, load, seeded.mailroomDir);
      out(
        `Idle: ${params.idle} connections to a fresh Mailroom process, each LOGIN, SELECT INBOX (${params.messages} messages), IDLE; RSS from /proc after a full GC`,
      );
      out();
      for (const line of idleReport(result)) out(line);
      out();
      const { projected } = idleCost(result);
      goals.push([
        `${GOAL_IDLE_CONNECTIONS} idle connections under ${GOAL_IDLE_BYTES / MB} MB`,
        `${fmt(projected / MB, 0)} MB projected`,
        verdict(projected < GOAL_IDLE_BYTES),
      ]);
    }

    if (goals.length) {
      out(table(['goal', 'measured', ''], goals));
      out();
    }
    out('Compare ratios, not absolute numbers: see bench/README.md.');
    if (dovecot) {
      const warnings = (await dovecot.logTail()).split('\n').filter((l) => / (Error|Fatal|Panic):/.test(l));
      if (warnings.length) {
        out('dovecot log (last errors):');
        for (const w of warnings) out(`  ${w}`);
      }
    }
  } finally {
    await load?.stop();
    await mailroom?.stop();
    await dovecot?.stop();
    dovecot = undefined;
    await rm(root, { recursive: true, force: true });
  }
}

function verdict(met: boolean): string {
  return met ? 'met' : 'NOT MET';
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
