import { loadConfig } from '../lib/config.js';
import { silentLogger } from '../lib/log.js';
import { startMailroom } from '../lib/app/mailroom.js';

/*
 * Mailroom for bench/imap.ts and bench/pop3.ts, in a process of its own so that its RSS is
 * Mailroom's alone (the parent seeds the data directory, the load comes from another
 * child). Started with the data directory as its argument; every listener on a free port
 * of 127.0.0.1. Answers over IPC:
 *   → { type: 'ready', imapPort, pop3Port }  once listening
 *   ← { type: 'memory' } → { type: 'memory', rss, heapUsed, external }, after a full GC
 *   ← { type: 'stop' }   → exits when stopped
 */

export interface MemoryReport {
  type: 'memory';
  /** Bytes, from process.memoryUsage() right after a full garbage collection. */
  rss: number;
  heapUsed: number;
  external: number;
}

const dataDir = process.argv[2];
const send = process.send?.bind(process);
if (!dataDir || !send) {
  process.stderr.write(
    'bench/imap-mailroom.ts is started by bench/imap.ts or bench/pop3.ts, not on its own\n',
  );
  process.exit(2);
}

// The environment is ignored on purpose: MAILROOM_* from a dev shell must not change the run.
const config = loadConfig(
  {
    dataDir,
    host: '127.0.0.1',
    smtpPort: 0,
    submissionPort: 0,
    imapPort: 0,
    imapTlsPort: 0,
    pop3Port: 0,
    pop3TlsPort: 0,
    logLevel: 'silent',
  },
  {},
);
// IMAP and POP3 in plain text only matter here: no certificate (no TLS listener), no ingest runner.
const running = await startMailroom(config, silentLogger, { tls: null, noRunner: true });

const stop = async () => {
  await running.stop().catch(() => undefined);
  process.exit(0);
};
process.on('disconnect', () => void stop());
process.on('SIGTERM', () => void stop());
// Ctrl-C reaches the whole process group; the parent decides when this process stops.
process.on('SIGINT', () => undefined);
process.on('message', (message: { type: string }) => {
  if (message.type === 'stop') void stop();
  if (message.type === 'memory') {
    // Started with --expose-gc: measure what is live, not what the collector has yet to free.
    (globalThis as { gc?: () => void }).gc?.();
    const usage = process.memoryUsage();
    send({
      type: 'memory',
      rss: usage.rss,
      heapUsed: usage.heapUsed,
      external: usage.external,
    } satisfies MemoryReport);
  }
});
send({ type: 'ready', imapPort: running.imapPort, pop3Port: running.pop3Port });
