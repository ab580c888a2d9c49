import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../lib/config.js';
import { silentLogger } from '../../lib/log.js';
import { startMailroom, type RunningMailroom, type StartOptions } from '../../lib/app/mailroom.js';
import { hashPassword } from '../../lib/auth/password.js';

export async function tempDir(prefix = 'mailroom-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export interface TestMailroom extends RunningMailroom {
  config: Config;
  cleanup(): Promise<void>;
}

/**
 * A whole Mailroom on 127.0.0.1 with ports 0 and a fresh data directory, holding domain
 * example.test with account demo@example.test (password "demo-password").
 */
export async function startTestMailroom(
  overrides: Partial<Record<keyof Config, unknown>> = {},
  options: StartOptions = {},
): Promise<TestMailroom> {
  const dataDir = await tempDir();
  const config = loadConfig(
    {
      dataDir,
      smtpPort: 0,
      submissionPort: 0,
      imapPort: 0,
      imapTlsPort: 0,
      pop3Port: 0,
      pop3TlsPort: 0,
      logLevel: 'silent',
      ...overrides,
    },
    {},
  );
  // No certificate unless a test asks for one: making an RSA key per test is slow.
  const running = await startMailroom(config, silentLogger, {
    tls: null,
    ...options,
    runner: { idlePollMs: 20, retryBaseSeconds: 0, ...options.runner },
  });
  await running.embedded.store.addDomain('example.test');
  await running.embedded.store.addAccount('demo@example.test', await hashPassword(DEMO_PASSWORD));
  return {
    ...running,
    config,
    async cleanup() {
      await running.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export const DEMO_PASSWORD = 'demo-password';

/** Polls until check returns a value (not undefined), or fails after timeoutMs. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
