import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { Pop3Transcript } from '../helpers/pop3-transcript.js';
import { startDevProcess, type DevProcess } from '../helpers/dev-process.js';
import { DEMO_PASSWORD, startTestMailroom, tempDir, type TestMailroom } from '../helpers/mailroom.js';

const DEMO = 'demo@example.test';

/** USER then PASS; the status line of whichever answered last. */
async function userPass(client: Pop3Transcript, user: string, password: string): Promise<string> {
  const { status } = await client.command(`USER ${user}`);
  if (!status.startsWith('+OK')) return status;
  return (await client.command(`PASS ${password}`)).status;
}

/** AUTH PLAIN with the initial response on the command line (RFC 5034 §4). */
async function authPlain(client: Pop3Transcript, user: string, password: string): Promise<string> {
  const response = Buffer.from(`\0${user}\0${password}`, 'utf8').toString('base64');
  return (await client.command(`AUTH PLAIN ${response}`)).status;
}

/**
 * Retries USER/PASS on the same connection while the answer is [IN-USE]; the statuses seen,
 * the last one being the first that was not IN-USE (or the last IN-USE at the deadline).
 */
async function loginWhileInUse(
  client: Pop3Transcript,
  user: string,
  password: string,
  timeoutMs: number,
): Promise<{ statuses: string[]; at: number }> {
  const deadline = Date.now() + timeoutMs;
  const statuses: string[] = [];
  for (;;) {
    const status = await userPass(client, user, password);
    statuses.push(status);
    if (!status.startsWith('-ERR [IN-USE]') || Date.now() > deadline) return { statuses, at: Date.now() };
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Still in AUTHORIZATION: CAPA offers USER (only listed before login) and STAT is refused. */
async function expectAuthorization(client: Pop3Transcript): Promise<void> {
  expect(client.closed).toBe(false);
  expect((await client.command('CAPA', true)).lines).toContain('USER');
  expect((await client.command('STAT')).status).toMatch(/^-ERR .*before login/);
}

describe('POP3 maildrop lock within one process', () => {
  let mailroom: TestMailroom;
  const open = async () => (await Pop3Transcript.open(mailroom.pop3Port)).client;

  beforeAll(async () => {
    // The default 60 s lease: a lock freed within the tests below was released, not expired.
    mailroom = await startTestMailroom();
  });
  afterAll(async () => {
    await mailroom?.cleanup();
  });

  it('answers a second login [IN-USE], keeps it in AUTHORIZATION, and lets it in once the first QUITs', async () => {
    // Prepare
    const a = await open();
    const b = await open();
    expect(await userPass(a, DEMO, DEMO_PASSWORD)).toMatch(/^\+OK/);

    // Act
    const refused = await userPass(b, DEMO, DEMO_PASSWORD);

    // Assess
    expect(refused).toMatch(/^-ERR \[IN-USE\] /);
    await expectAuthorization(b);
    // A's session is unharmed by B's attempt.
    expect((await a.command('STAT')).status).toMatch(/^\+OK \d+ \d+$/);
    expect(await userPass(b, DEMO, DEMO_PASSWORD)).toMatch(/^-ERR \[IN-USE\] /);

    // Act: A quits; the +OK to QUIT means the lock is given up, so B's retry works at once.
    expect((await a.command('QUIT')).status).toMatch(/^\+OK /);
    const retried = await userPass(b, DEMO, DEMO_PASSWORD);

    // Assess
    expect(retried).toMatch(/^\+OK /);
    expect((await b.command('STAT')).status).toMatch(/^\+OK /);
    expect((await b.command('QUIT')).status).toMatch(/^\+OK /);
    await a.waitClosed();
    await b.waitClosed();
  });

  it('frees the lock when the holder drops the connection without QUIT', async () => {
    // Prepare
    const a = await open();
    const b = await open();
    expect(await userPass(a, DEMO, DEMO_PASSWORD)).toMatch(/^\+OK/);
    expect(await userPass(b, DEMO, DEMO_PASSWORD)).toMatch(/^-ERR \[IN-USE\] /);

    // Act
    a.close();
    const { statuses } = await loginWhileInUse(b, DEMO, DEMO_PASSWORD, 2000);

    // Assess: well before the 60 s lease would run out.
    expect(statuses.at(-1)).toMatch(/^\+OK /);
    expect((await b.command('QUIT')).status).toMatch(/^\+OK /);
  });

  it('answers AUTH PLAIN [IN-USE] the same way, and a wrong password [AUTH], not [IN-USE]', async () => {
    // Prepare
    const a = await open();
    const b = await open();
    const c = await open();
    expect(await authPlain(a, DEMO, DEMO_PASSWORD)).toMatch(/^\+OK/);

    // Act
    const plainRefused = await authPlain(b, DEMO, DEMO_PASSWORD);
    const wrongUserPass = await userPass(c, DEMO, 'not-the-password');
    const wrongPlain = await authPlain(c, DEMO, 'not-the-password');

    // Assess
    expect(plainRefused).toMatch(/^-ERR \[IN-USE\] /);
    await expectAuthorization(b);
    // The password is checked before the lock: a wrong one never learns the maildrop is busy.
    expect(wrongUserPass).toMatch(/^-ERR \[AUTH\] /);
    expect(wrongPlain).toMatch(/^-ERR \[AUTH\] /);

    // Act: A quits, B retries with AUTH PLAIN.
    expect((await a.command('QUIT')).status).toMatch(/^\+OK /);
    expect(await authPlain(b, DEMO, DEMO_PASSWORD)).toMatch(/^\+OK /);
    expect((await b.command('QUIT')).status).toMatch(/^\+OK /);
    c.close();
  });
});

describe('POP3 maildrop lock across two processes on one data directory', () => {
  // Short leases, so a killed holder's lock runs out within the test (renewed every ~667 ms).
  const env = { MAILROOM_POP3_LOCK_SECONDS: '2' };
  let dataDir: string;
  let first: DevProcess;
  let second: DevProcess;
  let password: string;
  const clients: Pop3Transcript[] = [];
  const open = async (proc: DevProcess) => {
    const { client } = await Pop3Transcript.open(proc.pop3Port);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    dataDir = await tempDir();
    first = await startDevProcess(dataDir, env);
    second = await startDevProcess(dataDir, env);
  }, 30_000);
  afterAll(async () => {
    for (const client of clients) client.close();
    for (const proc of [first, second]) {
      if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
        proc.child.kill('SIGTERM');
        await proc.exited;
      }
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('bootstraps the account once: the second process prints no new password', async () => {
    expect(first.account).toBe(DEMO);
    expect(first.password).toMatch(/^\S{12,}$/);
    password = first.password!;
    expect(second.account).toBeUndefined();
    expect(second.password).toBeUndefined();
    // The first start's password is the one both processes know.
    const probe = await open(second);
    expect(await userPass(probe, DEMO, 'wrong-password')).toMatch(/^-ERR \[AUTH\] /);
    expect(await userPass(probe, DEMO, password)).toMatch(/^\+OK /);
    expect((await probe.command('QUIT')).status).toMatch(/^\+OK /);
  });

  it('refuses a login through the second process while the first holds the maildrop, past the lease', async () => {
    // Prepare
    const holder = await open(first);
    const other = await open(second);
    expect(await userPass(holder, DEMO, password)).toMatch(/^\+OK /);

    // Act
    const refused = await userPass(other, DEMO, password);
    // Longer than the 2 s lease: only renewals keep it.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const stillRefused = await userPass(other, DEMO, password);

    // Assess
    expect(refused).toMatch(/^-ERR \[IN-USE\] /);
    expect(stillRefused).toMatch(/^-ERR \[IN-USE\] /);
    await expectAuthorization(other);

    // Act: QUIT in the first process frees it for the second at once.
    expect((await holder.command('QUIT')).status).toMatch(/^\+OK /);
    const retried = await userPass(other, DEMO, password);

    // Assess
    expect(retried).toMatch(/^\+OK /);
    expect((await other.command('QUIT')).status).toMatch(/^\+OK /);
  });

  it('frees the lock of a SIGKILLed holder when its lease runs out (at most ~2 s)', async () => {
    // Prepare
    const holder = await open(first);
    const other = await open(second);
    expect(await userPass(holder, DEMO, password)).toMatch(/^\+OK /);

    // Act
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const killedAt = Date.now();
    const { statuses, at } = await loginWhileInUse(other, DEMO, password, 4000);

    // Assess: refused while the lease lasts (it was renewed under 0.7 s before the kill),
    // then let in without anyone releasing it.
    expect(statuses[0]).toMatch(/^-ERR \[IN-USE\] /);
    expect(statuses.at(-1)).toMatch(/^\+OK /);
    expect(at - killedAt).toBeGreaterThan(1000);
    expect(at - killedAt).toBeLessThan(3000);
    expect((await other.command('QUIT')).status).toMatch(/^\+OK /);
  });
});
