import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { ConfigError, loadConfig } from '../../lib/config.js';
import { dataPaths, resolveTls } from '../../lib/app/mailroom.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import { hashPassword } from '../../lib/auth/password.js';
import { runCli, startCliProcess, type CliProcess } from '../helpers/dev-process.js';
import { DEMO_PASSWORD, tempDir } from '../helpers/mailroom.js';

/*
 * TLS as the containers run it in the cloud (infra/constructs/mail-services.ts): the load
 * balancer terminates TLS for 465/993/995 and forwards plain TCP to the offload ports, whose
 * sessions count as secure; 25/587/143/110 offer STARTTLS with a certificate handed over as
 * PEM text in the environment (Secrets Manager through ECS secrets).
 */

const exec = promisify(execFile);
const HOSTNAME = 'mail.example.test';
const USER = 'demo@example.test';

const PORTS_0 = {
  MAILROOM_SMTP_PORT: '0',
  MAILROOM_SUBMISSION_PORT: '0',
  MAILROOM_IMAP_PORT: '0',
  MAILROOM_IMAP_TLS_PORT: '0',
  MAILROOM_POP3_PORT: '0',
  MAILROOM_POP3_TLS_PORT: '0',
  MAILROOM_HEALTH_PORT: '0',
  MAILROOM_HOSTNAME: HOSTNAME,
  MAILROOM_LOG_LEVEL: 'warn',
};

interface Pem {
  key: string;
  cert: string;
}

/** A fresh EC key and self-signed certificate for HOSTNAME (EC: fast to make). */
async function makeCertificate(dir: string, name: string): Promise<Pem> {
  const key = join(dir, `${name}-key.pem`);
  const cert = join(dir, `${name}-cert.pem`);
  await exec('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '30',
    '-keyout',
    key,
    '-out',
    cert,
    '-subj',
    `/CN=${HOSTNAME}`,
    '-addext',
    `subjectAltName=DNS:${HOSTNAME}`,
  ]);
  return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
}

/** A line protocol conversation over a real socket that can switch to TLS in place. */
class Conversation {
  private buffer = '';
  private waiters: (() => void)[] = [];
  private closed = false;

  private constructor(private socket: Socket) {
    this.listen(socket);
  }

  static open(port: number): Promise<Conversation> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new Conversation(socket)));
      socket.once('error', reject);
    });
  }

  private listen(socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('error', () => undefined);
  }

  /** Waits until what arrived matches (multi-line), returns it and starts afresh. */
  async expect(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.buffer);
      if (match) {
        const text = this.buffer.slice(0, match.index + match[0].length);
        this.buffer = this.buffer.slice(text.length);
        return text;
      }
      if (this.closed || Date.now() > deadline) {
        throw new Error(`no ${String(pattern)}; got ${JSON.stringify(this.buffer)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends a line and waits for the reply that ends with `until`. */
  async send(line: string, until: RegExp): Promise<string> {
    this.socket.write(line + '\r\n');
    return this.expect(until);
  }

  /** The client side of the handshake, verifying the server's certificate against `ca` for HOSTNAME. */
  async startTls(ca: string): Promise<TLSSocket> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = tlsConnect({ socket: plain, ca, servername: HOSTNAME });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.listen(secure);
    return secure;
  }

  close(): void {
    this.socket.destroy();
  }
}

const SMTP_REPLY = /^\d{3} [^\n]*\r\n/m;
const POP3_REPLY = /^[+-][A-Z]+[^\n]*\r\n/m;
const imapTagged = (tag: string) => new RegExp(`^${tag} [^\\n]*\\r\\n`, 'm');

async function findMessages(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.eml')) found.push(join(entry.parentPath, entry.name));
  }
  return found;
}

describe('TLS of the containers: offload listeners and a PEM certificate from the environment', () => {
  let dataDir: string;
  let pem: Pem;
  let other: Pem;

  beforeAll(async () => {
    dataDir = await tempDir();
    [pem, other] = await Promise.all([makeCertificate(dataDir, 'mail'), makeCertificate(dataDir, 'other')]);
    const store = SqliteStore.open(dataPaths(dataDir).store);
    await store.addDomain('example.test');
    await store.addAccount(USER, await hashPassword(DEMO_PASSWORD));
    await store.close();
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  describe('mailroom access', () => {
    let access: CliProcess;

    beforeAll(async () => {
      access = await startCliProcess(['--data-dir', dataDir, 'access'], {
        ...PORTS_0,
        MAILROOM_IMAP_OFFLOAD_PORT: '0',
        MAILROOM_POP3_OFFLOAD_PORT: '0',
        MAILROOM_TLS_KEY_PEM: pem.key,
        MAILROOM_TLS_CERT_PEM: pem.cert,
      });
    });

    afterAll(async () => {
      access.child.kill('SIGTERM');
      expect(await access.exited).toBe(0);
    });

    it('serves the offload listeners instead of its own implicit-TLS ones', () => {
      expect(access.ready).toMatchObject({ role: 'access', imapOffload: expect.any(Number) });
      expect(access.ready.pop3Offload).toEqual(expect.any(Number));
      expect(access.ready.imapTls).toBeUndefined();
      expect(access.ready.pop3Tls).toBeUndefined();
    });

    it('IMAP offload: LOGIN in plain text is accepted and STARTTLS is not offered', async () => {
      const imap = await Conversation.open(Number(access.ready.imapOffload));
      await imap.expect(/^\* OK [^\n]*\r\n/m);
      const caps = await imap.send('a CAPABILITY', imapTagged('a'));
      expect(caps).toMatch(/^\* CAPABILITY /m);
      expect(caps).not.toMatch(/STARTTLS|LOGINDISABLED/);
      expect(await imap.send(`b LOGIN ${USER} "${DEMO_PASSWORD}"`, imapTagged('b'))).toMatch(/^b OK /m);
      expect(await imap.send('c SELECT INBOX', imapTagged('c'))).toMatch(/^c OK /m);
      imap.close();
    });

    it('IMAP 143: refuses LOGIN before TLS, and STARTTLS presents the certificate from the environment', async () => {
      const imap = await Conversation.open(Number(access.ready.imap));
      await imap.expect(/^\* OK [^\n]*\r\n/m);
      const caps = await imap.send('a CAPABILITY', imapTagged('a'));
      expect(caps).toMatch(/STARTTLS/);
      expect(caps).toMatch(/LOGINDISABLED/);
      expect(await imap.send(`b LOGIN ${USER} "${DEMO_PASSWORD}"`, imapTagged('b'))).toMatch(/^b NO /m);
      await imap.send('c STARTTLS', imapTagged('c'));
      const secure = await imap.startTls(pem.cert);
      expect(secure.authorized).toBe(true);
      expect(await imap.send(`d LOGIN ${USER} "${DEMO_PASSWORD}"`, imapTagged('d'))).toMatch(/^d OK /m);
      imap.close();
    });

    it('POP3 offload: USER/PASS and AUTH PLAIN in plain text are accepted, STLS is not offered', async () => {
      const pop3 = await Conversation.open(Number(access.ready.pop3Offload));
      await pop3.expect(POP3_REPLY);
      const capa = await pop3.send('CAPA', /^\.\r\n/m);
      expect(capa).toMatch(/^USER\r$/m);
      expect(capa).not.toMatch(/STLS/);
      expect(await pop3.send(`USER ${USER}`, POP3_REPLY)).toMatch(/^\+OK/);
      expect(await pop3.send(`PASS ${DEMO_PASSWORD}`, POP3_REPLY)).toMatch(/^\+OK/);
      await pop3.send('QUIT', POP3_REPLY);
      pop3.close();

      const again = await Conversation.open(Number(access.ready.pop3Offload));
      await again.expect(POP3_REPLY);
      const plain = Buffer.from(`\0${USER}\0${DEMO_PASSWORD}`).toString('base64');
      expect(await again.send(`AUTH PLAIN ${plain}`, POP3_REPLY)).toMatch(/^\+OK/);
      await again.send('QUIT', POP3_REPLY);
      again.close();
    });

    it('POP3 110: refuses USER before TLS, and STLS presents the certificate from the environment', async () => {
      const pop3 = await Conversation.open(Number(access.ready.pop3));
      await pop3.expect(POP3_REPLY);
      expect(await pop3.send(`USER ${USER}`, POP3_REPLY)).toMatch(/^-ERR/);
      expect(await pop3.send('STLS', POP3_REPLY)).toMatch(/^\+OK/);
      expect((await pop3.startTls(pem.cert)).authorized).toBe(true);
      expect(await pop3.send(`USER ${USER}`, POP3_REPLY)).toMatch(/^\+OK/);
      expect(await pop3.send(`PASS ${DEMO_PASSWORD}`, POP3_REPLY)).toMatch(/^\+OK/);
      await pop3.send('QUIT', POP3_REPLY);
      pop3.close();
    });
  });

  describe('mailroom smtp', () => {
    let smtp: CliProcess;

    beforeAll(async () => {
      // PEM on one line with "\n" escapes, as `docker run -e` users tend to pass it.
      smtp = await startCliProcess(['--data-dir', dataDir, 'smtp'], {
        ...PORTS_0,
        MAILROOM_SUBMISSION_OFFLOAD_PORT: '0',
        MAILROOM_SUBMISSION_TLS_PORT: '0',
        MAILROOM_TLS_KEY_PEM: pem.key.replace(/\n/g, '\\n'),
        MAILROOM_TLS_CERT_PEM: pem.cert.replace(/\n/g, '\\n'),
      });
    });

    afterAll(async () => {
      smtp.child.kill('SIGTERM');
      expect(await smtp.exited).toBe(0);
    });

    it('serves the offload listener instead of implicit TLS', () => {
      expect(smtp.ready.submissionOffload).toEqual(expect.any(Number));
      expect(smtp.ready.submissionTls).toBeUndefined();
    });

    it('submission offload: AUTH without TLS, no STARTTLS, and the message is traced as ESMTPSA from the client', async () => {
      const s = await Conversation.open(Number(smtp.ready.submissionOffload));
      await s.expect(SMTP_REPLY);
      const ehlo = await s.send('EHLO client.test', SMTP_REPLY);
      expect(ehlo).toMatch(/AUTH PLAIN LOGIN/);
      expect(ehlo).not.toMatch(/STARTTLS/);
      const plain = Buffer.from(`\0${USER}\0${DEMO_PASSWORD}`).toString('base64');
      expect(await s.send(`AUTH PLAIN ${plain}`, SMTP_REPLY)).toMatch(/^235 /);
      expect(await s.send(`MAIL FROM:<${USER}>`, SMTP_REPLY)).toMatch(/^250 /);
      expect(await s.send(`RCPT TO:<${USER}>`, SMTP_REPLY)).toMatch(/^250 /);
      expect(await s.send('DATA', SMTP_REPLY)).toMatch(/^354 /);
      const body = `From: <${USER}>\r\nTo: <${USER}>\r\nSubject: through the balancer\r\n\r\nhello\r\n.`;
      const queued = await s.send(body, SMTP_REPLY);
      expect(queued).toMatch(/^250 .*queued as (\w+)/);
      await s.send('QUIT', SMTP_REPLY);
      s.close();

      const id = /queued as (\w+)/.exec(queued)![1]!;
      const [file] = (await findMessages(dataPaths(dataDir).blobs)).filter((f) => f.endsWith(`${id}.eml`));
      expect(file).toBeDefined();
      const raw = await readFile(file!, 'latin1');
      expect(raw).toMatch(/^Received: from client\.test \(\[127\.0\.0\.1\]\)/);
      expect(raw).toMatch(/with ESMTPSA id/);
    });

    it('submission 587: AUTH needs STARTTLS, which presents the certificate from the environment', async () => {
      const s = await Conversation.open(Number(smtp.ready.submission));
      await s.expect(SMTP_REPLY);
      expect(await s.send('EHLO client.test', SMTP_REPLY)).toMatch(/STARTTLS/);
      const plain = Buffer.from(`\0${USER}\0${DEMO_PASSWORD}`).toString('base64');
      expect(await s.send(`AUTH PLAIN ${plain}`, SMTP_REPLY)).toMatch(/^5\d\d /);
      expect(await s.send('STARTTLS', SMTP_REPLY)).toMatch(/^220 /);
      expect((await s.startTls(pem.cert)).authorized).toBe(true);
      expect(await s.send('EHLO client.test', SMTP_REPLY)).not.toMatch(/STARTTLS/);
      expect(await s.send(`AUTH PLAIN ${plain}`, SMTP_REPLY)).toMatch(/^235 /);
      s.close();
    });

    it('MX 25: STARTTLS with the same certificate', async () => {
      const s = await Conversation.open(Number(smtp.ready.smtp));
      await s.expect(SMTP_REPLY);
      expect(await s.send('EHLO sender.test', SMTP_REPLY)).toMatch(/STARTTLS/);
      expect(await s.send('STARTTLS', SMTP_REPLY)).toMatch(/^220 /);
      expect((await s.startTls(pem.cert)).authorized).toBe(true);
      s.close();
    });
  });

  describe('a certificate that does not work', () => {
    const config = (env: Record<string, string>) => loadConfig({ dataDir: '/tmp/unused' }, env);

    it('stops the container with exit code 2 and names the variables, never the key', async () => {
      const result = await runCli(['--data-dir', dataDir, 'smtp'], {
        env: { ...PORTS_0, MAILROOM_TLS_KEY_PEM: other.key, MAILROOM_TLS_CERT_PEM: pem.cert },
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(
        /^mailroom: tlsKeyPem \(MAILROOM_TLS_KEY_PEM\) and tlsCertPem \(MAILROOM_TLS_CERT_PEM\): not a usable key and certificate: .*key values mismatch/m,
      );
      expect(result.stderr).not.toContain(other.key.split('\n')[1]!);
    });

    it('says what is wrong with text that is not PEM, or PEM that does not parse', async () => {
      await expect(
        resolveTls(config({ MAILROOM_TLS_KEY_PEM: 'not a key', MAILROOM_TLS_CERT_PEM: pem.cert })),
      ).rejects.toThrow(/MAILROOM_TLS_KEY_PEM.*: the key is not a PEM private key/);
      await expect(
        resolveTls(config({ MAILROOM_TLS_KEY_PEM: pem.key, MAILROOM_TLS_CERT_PEM: 'not a certificate' })),
      ).rejects.toThrow(/MAILROOM_TLS_CERT_PEM.*: the certificate is not PEM/);
      const broken = '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n';
      await expect(
        resolveTls(config({ MAILROOM_TLS_KEY_PEM: broken, MAILROOM_TLS_CERT_PEM: pem.cert })),
      ).rejects.toThrow(ConfigError);
    });

    it('names a certificate file that cannot be read', async () => {
      await expect(
        resolveTls(
          config({ MAILROOM_TLS_KEY: '/nonexistent/key.pem', MAILROOM_TLS_CERT: '/nonexistent/c.pem' }),
        ),
      ).rejects.toThrow(
        /tlsKey \(MAILROOM_TLS_KEY\) and tlsCert \(MAILROOM_TLS_CERT\): cannot read: .*ENOENT/,
      );
    });

    it('takes the PEM pair only whole, and not together with files', () => {
      expect(() => config({ MAILROOM_TLS_KEY_PEM: pem.key })).toThrow(/go together: give both or neither/);
      expect(() =>
        config({
          MAILROOM_TLS_KEY_PEM: pem.key,
          MAILROOM_TLS_CERT_PEM: pem.cert,
          MAILROOM_TLS_KEY: '/k.pem',
          MAILROOM_TLS_CERT: '/c.pem',
        }),
      ).toThrow(/either as PEM text .* or as files .*, not both/);
    });
  });

  describe('configuration of the offload ports', () => {
    const config = (env: Record<string, string>) => loadConfig({ dataDir: '/tmp/unused' }, env);

    it('reads them from the environment; the plain ports then require TLS even on loopback', () => {
      const offloaded = config({
        MAILROOM_SUBMISSION_OFFLOAD_PORT: '2465',
        MAILROOM_IMAP_OFFLOAD_PORT: '3993',
        MAILROOM_POP3_OFFLOAD_PORT: '3995',
      });
      expect(offloaded).toMatchObject({
        submissionOffloadPort: 2465,
        imapOffloadPort: 3993,
        pop3OffloadPort: 3995,
        allowInsecureAuth: false,
      });
      expect(config({}).allowInsecureAuth).toBe(true);
    });

    it('refuses allowInsecureAuth with them', () => {
      expect(() =>
        config({ MAILROOM_IMAP_OFFLOAD_PORT: '3993', MAILROOM_ALLOW_INSECURE_AUTH: 'true' }),
      ).toThrow(/MAILROOM_ALLOW_INSECURE_AUTH\) cannot be combined with the TLS offload ports/);
    });

    it("refuses an offload port that is another listener's port, but not the implicit-TLS port it replaces", () => {
      expect(() => config({ MAILROOM_IMAP_OFFLOAD_PORT: '2143' })).toThrow(
        /imapOffloadPort \(MAILROOM_IMAP_OFFLOAD_PORT\) and imapPort \(MAILROOM_IMAP_PORT\) are both port 2143/,
      );
      expect(() => config({ MAILROOM_IMAP_OFFLOAD_PORT: '2995' })).toThrow(/pop3TlsPort/);
      expect(() => config({ MAILROOM_POP3_OFFLOAD_PORT: '8080' })).toThrow(/healthPort/);
      expect(
        config({ MAILROOM_IMAP_OFFLOAD_PORT: '2993', MAILROOM_POP3_OFFLOAD_PORT: '2995' }),
      ).toMatchObject({ imapOffloadPort: 2993, pop3OffloadPort: 2995 });
    });
  });
});
