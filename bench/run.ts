import { rmSync } from 'node:fs';
import { chmod, mkdtemp } from 'node:fs/promises';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';

/** A table line on stdout; progress notes go to stderr so the tables stay clean. */
export const out = (text = ''): void => void process.stdout.write(text + '\n');
export const note = (text: string): void => void process.stderr.write(text + '\n');

/** The machine the figures came from, for the header of every bench. */
export function machineLine(): string {
  const list = cpus();
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  return `node ${process.version}, ${platform()} ${release()}, ${list.length} cores (${list[0]?.model.trim() ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, load ${load}`;
}

export interface BenchRun {
  /** A fresh temp directory, removed at exit whatever happens. */
  root: string;
  /** True after the first Ctrl-C: finish the current step, then stop. */
  stopped(): boolean;
  /** Runs at process exit (an error, a second Ctrl-C, process.exit): kill what was started. */
  atExit(cleanup: () => void): void;
}

/**
 * What every bench does first: a temp directory (traversable by other users, since
 * Dovecot's login, auth and protocol processes run as other users; mkdtemp makes it 0700),
 * cleanup at exit, and Ctrl-C that stops after the current step (twice: at once).
 */
export async function startBenchRun(name: string): Promise<BenchRun> {
  const root = await mkdtemp(join(tmpdir(), `mailroom-bench-${name}-`));
  await chmod(root, 0o711);
  const cleanups: (() => void)[] = [];
  process.on('exit', () => {
    for (const cleanup of cleanups) cleanup();
    rmSync(root, { recursive: true, force: true });
  });
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) {
      note('interrupted again: stopping now');
      process.exit(130);
    }
    interrupted = true;
    note('interrupted: stopping after the current step (Ctrl-C again to stop at once)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { root, stopped: () => interrupted, atExit: (cleanup) => void cleanups.push(cleanup) };
}

/** Resolves once `open` gets a greeting from the server (`what` names it in the error); retries for `seconds`. */
export async function waitForGreeting(
  what: string,
  open: () => Promise<{ close(): void }>,
  seconds = 15,
): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      (await open()).close();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`nothing answers ${what}`, { cause: err });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
