import { performance } from 'node:perf_hooks';
import { ImapLineClient } from './imap-line-client.js';
import { makeMessageFactory } from './message.js';
import {
  LOOP_COMMANDS,
  type BigRequest,
  type BigResult,
  type BigRun,
  type IdleCloseResult,
  type IdleOpenRequest,
  type IdleOpenResult,
  type LoadRequest,
  type LoadResult,
  type LoginsRequest,
  type LoginsResult,
  type LoopCommand,
  type LoopRequest,
  type LoopResult,
} from './imap-protocol.js';

/*
 * The load side of bench/imap.ts, in a child process of its own so that the clients
 * never share an event loop with Mailroom (Dovecot runs in processes of its own too). The
 * parent sends one request at a time over IPC (bench/imap-protocol.ts) and gets its
 * result back.
 */

function quote(text: string): string {
  return `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

function randomInt(max: number): number {
  return 1 + Math.floor(Math.random() * max);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function runLoop(request: LoopRequest): Promise<LoopResult> {
  const { target } = request;
  const message = makeMessageFactory(request.appendBytes, target.user);
  const latencies = Object.fromEntries(LOOP_COMMANDS.map((c) => [c, [] as number[]])) as Record<
    LoopCommand,
    number[]
  >;
  const connects: number[] = [];
  const errors = new Set<string>();
  let failed = 0;
  let loops = 0;
  let appended = 0;
  const start = performance.now();
  const stopAt = start + request.seconds * 1000;

  const oneLoop = async () => {
    const connectStart = performance.now();
    const client = await ImapLineClient.open(target.port, target.host, target.timeoutMs);
    connects.push(performance.now() - connectStart);
    try {
      const timed = async (
        name: LoopCommand,
        text: string,
        options?: Parameters<ImapLineClient['command']>[1],
      ) => {
        const reply = await client.command(text, options);
        latencies[name].push(reply.ms);
        return reply;
      };
      await timed('LOGIN', `LOGIN ${quote(target.user)} ${quote(target.password)}`);
      const selected = await timed('SELECT INBOX', 'SELECT INBOX', { collect: true });
      const existsLine = selected.lines.find((l) => / EXISTS$/i.test(l));
      const exists = existsLine ? Number(existsLine.split(' ')[1]) : 0;
      if (exists < 1) throw new Error('SELECT INBOX: no EXISTS, or an empty mailbox');
      await timed('FETCH 1:20 (FLAGS ENVELOPE)', `FETCH 1:${Math.min(20, exists)} (FLAGS ENVELOPE)`);
      const fetched = await timed(
        'UID FETCH <n> BODY.PEEK[]',
        `UID FETCH ${randomInt(request.seededUids)} BODY.PEEK[]`,
      );
      if (fetched.untagged < 1) throw new Error('UID FETCH BODY.PEEK[]: no FETCH response for a seeded UID');
      await timed('STORE <n> +FLAGS (\\Flagged)', `STORE ${randomInt(exists)} +FLAGS (\\Flagged)`);
      await timed(
        'SEARCH SUBJECT "<word>"',
        `SEARCH SUBJECT ${quote(`revision ${randomInt(request.seededUids) - 1}`)}`,
      );
      await timed('APPEND INBOX {<size>+}', 'APPEND INBOX', {
        literal: message(request.firstIndex + appended++),
      });
      await timed('LOGOUT', 'LOGOUT');
      loops++;
    } finally {
      client.close();
    }
  };

  const worker = async () => {
    while (performance.now() < stopAt) {
      try {
        await oneLoop();
      } catch (err) {
        failed++;
        if (errors.size < 5) errors.add(describe(err));
        // A server that refuses at once must not turn this into a busy loop.
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: request.clients }, () => worker()));
  return {
    type: 'loop',
    elapsedMs: performance.now() - start,
    loops,
    latencies,
    connects,
    failed,
    errors: [...errors],
  };
}

async function runBig(request: BigRequest): Promise<BigResult> {
  const { target } = request;
  const runs: BigRun[] = [];
  const errors: string[] = [];
  // A whole mailbox in one response: allow far more than one reply's usual timeout.
  const timeoutMs = Math.max(target.timeoutMs, 120_000);
  for (let i = 0; i < request.runs; i++) {
    let client: ImapLineClient | undefined;
    try {
      client = await ImapLineClient.open(target.port, target.host, target.timeoutMs);
      await client.command(`LOGIN ${quote(target.user)} ${quote(target.password)}`);
      const selected = await client.command(`SELECT ${quote(request.mailbox)}`, { collect: true, timeoutMs });
      const fetched = await client.command('UID FETCH 1:* (FLAGS)', { timeoutMs });
      const existsLine = selected.lines.find((l) => / EXISTS$/i.test(l));
      runs.push({
        selectMs: selected.ms,
        fetchMs: fetched.ms,
        totalMs: selected.ms + fetched.ms,
        exists: existsLine ? Number(existsLine.split(' ')[1]) : 0,
        fetched: fetched.untagged,
      });
      await client.logout();
    } catch (err) {
      client?.close();
      errors.push(describe(err));
    }
  }
  return { type: 'big', runs, errors };
}

const idlers: ImapLineClient[] = [];

async function openIdle(request: IdleOpenRequest): Promise<IdleOpenResult> {
  const { target } = request;
  const errors = new Set<string>();
  let failed = 0;
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < request.connections) {
      next++;
      let client: ImapLineClient | undefined;
      try {
        client = await ImapLineClient.open(target.port, target.host, target.timeoutMs);
        await client.command(`LOGIN ${quote(target.user)} ${quote(target.password)}`);
        await client.command('SELECT INBOX');
        await client.idle();
        idlers.push(client);
      } catch (err) {
        client?.close();
        failed++;
        if (errors.size < 5) errors.add(describe(err));
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(request.concurrency, request.connections) }, () => worker()),
  );
  return {
    type: 'idle-open',
    idling: idlers.length,
    failed,
    elapsedMs: performance.now() - start,
    errors: [...errors],
  };
}

function closeIdle(): IdleCloseResult {
  const stillOpen = idlers.filter((client) => !client.closed).length;
  for (const client of idlers.splice(0)) client.close();
  return { type: 'idle-close', stillOpen };
}

async function runLogins(request: LoginsRequest): Promise<LoginsResult> {
  const { target } = request;
  const latencies: number[] = [];
  for (let i = 0; i < request.count; i++) {
    const client = await ImapLineClient.open(target.port, target.host, target.timeoutMs);
    try {
      latencies.push((await client.command(`LOGIN ${quote(target.user)} ${quote(target.password)}`)).ms);
      await client.logout();
    } finally {
      client.close();
    }
  }
  return { type: 'logins', latencies };
}

async function handle(request: LoadRequest): Promise<LoadResult> {
  switch (request.type) {
    case 'loop':
      return runLoop(request);
    case 'big':
      return runBig(request);
    case 'idle-open':
      return openIdle(request);
    case 'idle-close':
      return closeIdle();
    case 'logins':
      return runLogins(request);
  }
}

const send = process.send?.bind(process);
if (!send) {
  process.stderr.write('bench/imap-load.ts is started by bench/imap.ts, not on its own\n');
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
