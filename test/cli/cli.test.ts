import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { runCli } from '../helpers/dev-process.js';
import { tempDir } from '../helpers/mailroom.js';

describe('mailroom CLI', () => {
  let dataDir: string;
  const cli = (args: string[], input?: string) => runCli(['--data-dir', dataDir, ...args], { input });
  beforeAll(async () => {
    dataDir = await tempDir();
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('adds a domain and prints the DNS records to create', async () => {
    const result = await cli(['--json', 'domain', 'add', 'Acme.Test']);
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.domain.name).toBe('acme.test');
    expect(out.dns.map((r: { type: string; purpose: string }) => `${r.type} ${r.purpose}`)).toEqual([
      'MX mx',
      'TXT spf',
      'TXT dmarc',
      'TXT mta-sts',
      'TXT tls-rpt',
    ]);
    // The local backend sends from the mail host itself (or its smarthost), not through SES.
    expect(out.dns[1].value).toBe('"v=spf1 mx -all"');
    expect(JSON.stringify(out.dns)).toContain('_dmarc.acme.test');
    expect(out.dns[3]).toMatchObject({
      name: '_mta-sts.acme.test.',
      policy: { url: 'https://mta-sts.acme.test/.well-known/mta-sts.txt' },
    });
    expect(out.dns[3].policy.text).toContain('mx: mail.acme.test\r\n');
    expect(out.dns[4].value).toBe('"v=TLSRPTv1; rua=mailto:tls-reports@acme.test"');
  });

  it('adds users with a generated password shown once, or one read from stdin', async () => {
    const generated = JSON.parse((await cli(['--json', 'user', 'add', 'ann@acme.test'])).stdout);
    expect(generated.password).toMatch(/^\S{20}$/);
    const piped = await cli(
      ['--json', 'user', 'add', 'ben@acme.test', '--password-stdin'],
      'correct horse battery\n',
    );
    expect(piped.code).toBe(0);
    expect(JSON.parse(piped.stdout).password).toBeUndefined();
    const list = JSON.parse((await cli(['--json', 'user', 'list', 'acme.test'])).stdout);
    expect(list.map((a: { address: string }) => a.address).sort()).toEqual([
      'ann@acme.test',
      'ben@acme.test',
    ]);
    expect(JSON.stringify(list)).not.toContain('scrypt');
  });

  it('manages aliases and routes, and lists mailboxes', async () => {
    expect((await cli(['alias', 'add', 'team@acme.test', 'ann@acme.test', 'out@elsewhere.test'])).code).toBe(
      0,
    );
    const aliases = JSON.parse((await cli(['--json', 'alias', 'list', 'acme.test'])).stdout);
    expect(aliases[0]).toMatchObject({
      address: 'team@acme.test',
      targets: ['ann@acme.test', 'out@elsewhere.test'],
    });
    const route = JSON.parse(
      (await cli(['--json', 'route', 'catch-all', 'acme.test', 'ann@acme.test'])).stdout,
    );
    expect(route.match).toBe('*@acme.test');
    const routes = JSON.parse((await cli(['--json', 'route', 'list', 'acme.test'])).stdout);
    expect(routes).toHaveLength(1);
    expect((await cli(['route', 'remove', 'acme.test', route.id])).code).toBe(0);
    const boxes = JSON.parse((await cli(['--json', 'mailbox', 'list', 'ann@acme.test'])).stdout);
    expect(boxes.map((b: { name: string }) => b.name)).toEqual(
      expect.arrayContaining(['INBOX', 'Sent', 'Drafts', 'Trash', 'Junk', 'Archive']),
    );
  });

  it.each([
    [['domain', 'add', 'not a domain!'], /domain|name/i],
    [['user', 'add', 'nobody'], /not an address/],
    [['user', 'add', 'x@unknown.test'], /unknown\.test|domain/i],
    [['domain', 'add', 'acme.test'], /exists/i],
    [['message', 'show', 'ann@acme.test', 'INBOX', 'abc'], /uid/],
    [['route', 'webhook', 'ann@acme.test', 'ftp://x'], /http/],
    [['bogus-command'], /unknown command/],
    [['user', 'add'], /missing required argument/],
  ])('refuses %j with a clear message and exit code 2', async (args, message) => {
    const result = await cli(args as string[]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('refuses a bad configuration value with exit code 2, naming it', async () => {
    const result = await runCli(['--data-dir', dataDir, 'dev', '--smtp-port', '99999']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/smtpPort.*MAILROOM_SMTP_PORT/);
  });

  it('refuses a bad MAILROOM_DIRECTORY_CACHE_SECONDS with exit code 2, naming it', async () => {
    const result = await runCli(['--data-dir', dataDir, 'domain', 'list'], {
      env: { MAILROOM_DIRECTORY_CACHE_SECONDS: 'soon' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/directoryCacheSeconds.*MAILROOM_DIRECTORY_CACHE_SECONDS.*"soon"/);
  });

  it('has --help on every command', async () => {
    for (const args of [
      [],
      ['domain'],
      ['user', 'add'],
      ['route', 'webhook'],
      ['queue', 'redrive'],
      ['dev'],
    ]) {
      const result = await cli([...args, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Usage: mailroom/m);
    }
  });
});
