import { performance } from 'node:perf_hooks';
import { SmtpLineClient } from './smtp-line-client.js';
import { makeMessageFactory } from './message.js';

/*
 * The load side of bench/smtp-ingest.ts, in a child process of its own so that the
 * sender never shares an event loop with Mailroom (smtp-sink, the ceiling, runs in its own
 * process too). The parent sends one PhaseRequest at a time over IPC and gets a
 * PhaseResult back.
 */

export type Mode = 'new-connection' | 'reused-connection';

export interface PhaseRequest {
  type: 'run';
  host: string;
  port: number;
  mode: Mode;
  messages: number;
  connections: number;
  /** No new message is started after this many seconds. */
  maxSeconds: number;
  /** Per reply (and per connect). */
  replyTimeoutMs: number;
  bytes: number;
  mailFrom: string;
  rcptTo: string;
  /** Sent as the Subject's revision number, so every message of a run differs. */
  firstIndex: number;
}

export interface PhaseResult {
  type: 'result';
  /** Messages that got their 250 after the final dot. */
  accepted: number;
  failed: number;
  /** Messages not started because the phase ran out of time. */
  skipped: number;
  elapsedMs: number;
  /** Milliseconds from sending the final dot to reading the 250, one per accepted message. */
  latencies: number[];
  /** Milliseconds from starting to connect to reading the 220 greeting, one per connection. */
  greetings: number[];
  /** The first few distinct failures, for the report. */
  errors: string[];
}

const HELO = 'bench.sender.example';

async function runPhase(request: PhaseRequest): Promise<PhaseResult> {
  const message = makeMessageFactory(request.bytes, request.rcptTo);
  const latencies: number[] = [];
  const greetings: number[] = [];
  const errors = new Set<string>();
  let failed = 0;
  let next = 0;
  const start = performance.now();
  const stopAt = start + request.maxSeconds * 1000;
  const take = () => (next < request.messages && performance.now() < stopAt ? next++ : -1);
  const noteFailure = (err: unknown) => {
    failed++;
    if (errors.size < 5) errors.add(err instanceof Error ? err.message : String(err));
  };
  const open = async () => {
    const connectStart = performance.now();
    const client = await SmtpLineClient.open(request.port, request.host, request.replyTimeoutMs);
    greetings.push(performance.now() - connectStart);
    try {
      await client.command(`EHLO ${HELO}`, 250);
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  };
  const transaction = async (client: SmtpLineClient, index: number) => {
    await client.command(`MAIL FROM:<${request.mailFrom}>`, 250);
    await client.command(`RCPT TO:<${request.rcptTo}>`, 250);
    await client.command('DATA', 354);
    latencies.push(await client.data(message(request.firstIndex + index)));
  };

  // (a) connect, EHLO, MAIL, RCPT, DATA, QUIT for every message.
  const newConnectionWorker = async () => {
    for (let index = take(); index !== -1; index = take()) {
      let client: SmtpLineClient | undefined;
      try {
        client = await open();
        await transaction(client, index);
      } catch (err) {
        client?.close();
        noteFailure(err);
        continue;
      }
      // The message is accepted already; a failed QUIT does not undo that.
      await client.quit().catch(() => undefined);
    }
  };

  // (b) one connection per worker; after a 250 the transaction is over (RFC 5321 §4.1.1.4),
  // so the next message starts with MAIL again. A failure opens a fresh connection.
  const reusedConnectionWorker = async () => {
    let client: SmtpLineClient | undefined;
    for (let index = take(); index !== -1; index = take()) {
      try {
        client ??= await open();
        await transaction(client, index);
      } catch (err) {
        client?.close();
        client = undefined;
        noteFailure(err);
      }
    }
    await client?.quit().catch(() => undefined);
  };

  const worker = request.mode === 'new-connection' ? newConnectionWorker : reusedConnectionWorker;
  await Promise.all(Array.from({ length: request.connections }, () => worker()));
  const elapsedMs = performance.now() - start;
  return {
    type: 'result',
    accepted: latencies.length,
    failed,
    skipped: request.messages - next,
    elapsedMs,
    latencies,
    greetings,
    errors: [...errors],
  };
}

const send = process.send?.bind(process);
if (!send) {
  process.stderr.write('bench/load-generator.ts is started by bench/smtp-ingest.ts, not on its own\n');
  process.exit(2);
}
process.on('disconnect', () => process.exit(0));
process.on('message', (request: PhaseRequest) => {
  if (request.type !== 'run') return;
  void runPhase(request).then(
    (result) => send(result),
    (err: unknown) =>
      send({
        type: 'result',
        accepted: 0,
        failed: request.messages,
        skipped: 0,
        elapsedMs: 0,
        latencies: [],
        greetings: [],
        errors: [String(err)],
      } satisfies PhaseResult),
  );
});
send({ type: 'ready' });
