import { performance } from 'node:perf_hooks';
import { Pop3LineClient } from './pop3-line-client.js';
import {
  SESSION_STEPS,
  type BigOpenRequest,
  type BigOpenResult,
  type BigQuitResult,
  type BigRetrResult,
  type LoadRequest,
  type LoadResult,
  type RoundStats,
  type RoundsRequest,
  type RoundsResult,
  type SessionStep,
  type Target,
} from './pop3-protocol.js';

/*
 * The load side of bench/pop3.ts, in a child process of its own so that the clients
 * never share an event loop with Mailroom (Dovecot runs in processes of its own too). The
 * parent sends one request at a time over IPC (bench/pop3-protocol.ts) and gets its
 * result back.
 */

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** "+OK 1000 52406272" → [1000, 52406272]. */
function statOf(line: string): [number, number] {
  const [, count, octets] = line.split(' ');
  return [Number(count), Number(octets)];
}

/** A whole RETR can take long: allow a second per 2 MB on top of the usual reply timeout. */
function retrTimeout(target: Target, size: number): number {
  return target.timeoutMs + Math.ceil(size / (2 * 2 ** 20)) * 1000;
}

async function login(target: Target, user: string, timed: (step: SessionStep, ms: number) => void) {
  const connectStart = performance.now();
  const client = await Pop3LineClient.open(target.port, target.host, target.timeoutMs);
  timed('connect', performance.now() - connectStart);
  try {
    timed('USER', (await client.command(`USER ${user}`)).ms);
    timed('PASS', (await client.command(`PASS ${target.password}`)).ms);
  } catch (err) {
    client.close();
    throw err;
  }
  return client;
}

async function runRounds(request: RoundsRequest): Promise<RoundsResult> {
  const { target } = request;
  const latencies = Object.fromEntries(SESSION_STEPS.map((s) => [s, [] as number[]])) as Record<
    SessionStep,
    number[]
  >;
  const timed = (step: SessionStep, ms: number) => latencies[step].push(ms);
  const errors = new Set<string>();
  const rounds: RoundStats[] = [];
  let failed = 0;
  let sizeMismatches = 0;
  let countMismatches = 0;

  const session = async (user: string, round: RoundStats) => {
    const client = await login(target, user, timed);
    try {
      const stat = await client.command('STAT');
      timed('STAT', stat.ms);
      const [count] = statOf(stat.line);
      const list = await client.multiline('LIST', { collect: true });
      timed('LIST', list.ms);
      const uidl = await client.multiline('UIDL', { collect: true });
      timed('UIDL', uidl.ms);
      if (count !== request.messages || list.lines.length !== count || uidl.lines.length !== count) {
        countMismatches++;
      }
      const sizes = new Map(list.lines.map((l) => l.split(' ').map(Number) as [number, number]));
      for (let n = 1; n <= count; n++) {
        const listed = sizes.get(n) ?? 0;
        const retr = await client.multiline(`RETR ${n}`, { timeoutMs: retrTimeout(target, listed) });
        timed('RETR', retr.ms);
        round.messages++;
        round.octets += retr.octets;
        if (retr.size !== listed) sizeMismatches++;
      }
      timed('QUIT', (await client.quit()).ms);
    } finally {
      client.close();
    }
  };

  for (let r = 0; r < request.rounds; r++) {
    const round: RoundStats = { elapsedMs: 0, messages: 0, octets: 0, sessions: request.users.length };
    const start = performance.now();
    await Promise.all(
      request.users.map((user) =>
        session(user, round).catch((err: unknown) => {
          failed++;
          if (errors.size < 5) errors.add(`${user}: ${describe(err)}`);
        }),
      ),
    );
    round.elapsedMs = performance.now() - start;
    rounds.push(round);
  }
  return {
    type: 'rounds',
    rounds,
    latencies,
    failed,
    sizeMismatches,
    countMismatches,
    errors: [...errors],
  };
}

/** The big message's connection, held open between big-open, big-retr and big-quit. */
let big: { client: Pop3LineClient; target: Target } | undefined;

async function openBig(request: BigOpenRequest): Promise<BigOpenResult> {
  big?.client.close();
  big = undefined;
  const client = await login(request.target, request.user, () => undefined);
  big = { client, target: request.target };
  const [messages, octets] = statOf((await client.command('STAT')).line);
  return { type: 'big-open', messages, octets };
}

async function retrBig(): Promise<BigRetrResult> {
  if (!big) throw new Error('big-retr without big-open');
  const listed = Number((await big.client.command('LIST 1')).line.split(' ')[2]);
  const retr = await big.client.multiline('RETR 1', { timeoutMs: retrTimeout(big.target, listed) });
  return {
    type: 'big-retr',
    ms: retr.ms,
    firstByteMs: retr.firstByteMs,
    octets: retr.octets,
    size: retr.size,
    listed,
  };
}

async function quitBig(): Promise<BigQuitResult> {
  const client = big?.client;
  big = undefined;
  if (client) await client.quit();
  return { type: 'big-quit' };
}

async function handle(request: LoadRequest): Promise<LoadResult> {
  switch (request.type) {
    case 'rounds':
      return runRounds(request);
    case 'big-open':
      return openBig(request);
    case 'big-retr':
      return retrBig();
    case 'big-quit':
      return quitBig();
  }
}

const send = process.send?.bind(process);
if (!send) {
  process.stderr.write('bench/pop3-load.ts is started by bench/pop3.ts, not on its own\n');
  process.exit(2);
}
process.on('disconnect', () => process.exit(0));
// Ctrl-C reaches the whole process group; the parent decides when this process stops.
process.on('SIGINT', () => undefined);
process.on('message', (request: LoadRequest | { type: 'stop' }) => {
  if (request.type === 'stop') process.exit(0);
  void handle(request).then(
    (result) => send(result),
    (err: unknown) => send({ type: 'error', message: describe(err) }),
  );
});
send({ type: 'ready' });
