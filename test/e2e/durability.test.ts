import { afterAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { SmtpSession } from '../helpers/smtp-session.js';
import { startDevProcess, type DevProcess } from '../helpers/dev-process.js';
import { tempDir, eventually } from '../helpers/mailroom.js';
import { dataPaths } from '../../lib/app/mailroom.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import { SqliteJobQueue } from '../../lib/queue/sqlite/sqlite-job-queue.js';

const MESSAGES = Number(process.env.DURABILITY_MESSAGES ?? 2000);
const CONNECTIONS = 20;
const KILLS = 5;

/**
 * The promise DESIGN.md makes: a message that got 250 is never lost, and never stored
 * twice, even when the process dies with SIGKILL at any moment (mid-DATA, between the blob
 * and the job, mid-ingest, between a delivery and the job's delete).
 */
describe('durability under SIGKILL', () => {
  let dataDir: string;
  let dev: DevProcess | undefined;
  afterAll(async () => {
    dev?.child.kill('SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it(
    `stores every acknowledged message exactly once across ${KILLS} kills`,
    { timeout: 400_000 },
    async () => {
      dataDir = await tempDir();
      const env = { MAILROOM_VISIBILITY_TIMEOUT: '2' };
      dev = await startDevProcess(dataDir, env);
      let current: Promise<DevProcess> = Promise.resolve(dev);
      const acked = new Set<string>();
      const attempted = new Set<string>();
      let next = 0;

      async function client() {
        let session: SmtpSession | undefined;
        let pending: number | undefined;
        let attempt = 0;
        for (;;) {
          if (pending === undefined) {
            if (next >= MESSAGES) return;
            pending = next++;
            attempt = 0;
          }
          try {
            if (!session || session.isClosed) {
              const proc = await current;
              session = await SmtpSession.open(proc.smtpPort);
              if (!(await session.reply()).startsWith('220')) throw new Error('no greeting');
              if (!(await session.command('EHLO load.test')).startsWith('250')) throw new Error('EHLO');
            }
            attempt++;
            const tag = `${pending}-${attempt}`;
            attempted.add(tag);
            if (!(await session.command('MAIL FROM:<load@elsewhere.test>')).startsWith('250'))
              throw new Error('MAIL');
            if (!(await session.command('RCPT TO:<demo@example.test>')).startsWith('250'))
              throw new Error('RCPT');
            if (!(await session.command('DATA')).startsWith('354')) throw new Error('DATA');
            const reply = await session.data(
              `Subject: dur ${tag}\r\nFrom: load@elsewhere.test\r\n\r\n${`${'body '.repeat(40)}\r\n`.repeat(10)}`,
            );
            if (reply.startsWith('250')) {
              acked.add(tag);
              pending = undefined;
            } else {
              throw new Error(reply);
            }
          } catch (err) {
            if (process.env.DURABILITY_DEBUG) console.log('client error', String(err));
            session?.close();
            session = undefined;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      }

      async function killer() {
        for (let k = 0; k < KILLS; k++) {
          // Spread the kills over the run: wait for some progress, then a random moment.
          const target = Math.floor(((k + 1) * MESSAGES) / (KILLS + 2));
          await eventually(() => (acked.size >= target ? true : undefined), 300_000);
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 300));
          const victim = await current;
          let restarted!: (p: DevProcess) => void;
          current = new Promise((resolve) => (restarted = resolve));
          victim.child.kill('SIGKILL');
          await victim.exited;
          dev = await startDevProcess(dataDir, env);
          restarted(dev);
        }
      }

      await Promise.all([killer(), ...Array.from({ length: CONNECTIONS }, client)]);
      expect(acked.size).toBe(MESSAGES);

      // Let the last process ingest everything, including jobs a killed worker held.
      const queue = new SqliteJobQueue({ path: dataPaths(dataDir).queue });
      try {
        await eventually(async () => {
          const stats = await queue.stats();
          return stats.visible + stats.inFlight + stats.delayed === 0 ? stats : undefined;
        }, 120_000);
        expect((await queue.stats()).dead).toBe(0);
      } finally {
        queue.close();
      }
      dev.child.kill('SIGTERM');
      await dev.exited;

      const store = SqliteStore.open(dataPaths(dataDir).store);
      try {
        const counts = new Map<string, number>();
        for (const m of await store.listMessages('demo@example.test', 'INBOX')) {
          const tag = m.summary.subject.replace(/^dur /, '');
          counts.set(tag, (counts.get(tag) ?? 0) + 1);
        }
        const lost = [...acked].filter((tag) => !counts.has(tag));
        const doubled = [...counts].filter(([, n]) => n > 1).map(([tag]) => tag);
        const unknown = [...counts.keys()].filter((tag) => !attempted.has(tag));
        expect({ lost, doubled, unknown }).toEqual({ lost: [], doubled: [], unknown: [] });
      } finally {
        await store.close();
      }
    },
  );
});
