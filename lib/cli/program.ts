import { Command, CommanderError, Option } from 'commander';
import { randomBytes } from 'node:crypto';
import { ConfigError, DEFAULTS, loadConfig, type Config } from '../config.js';
import { StoreError } from '../store/errors.js';
import { createOutput, type Output } from './output.js';
import { EXIT_USAGE, UsageError } from './errors.js';
import { runDev } from './dev.js';
import { runContainer } from './containers.js';
import { runIngestWorker } from './ingest-worker.js';
import type { Backend } from '../app/mailroom.js';
import { openBackend } from '../app/backend.js';
import { dnsRecords } from '../app/bootstrap.js';
import { generatePassword, hashPassword } from '../auth/password.js';
import { normalizeAddress, splitAddress } from '../routing/address.js';
import type { RouteAction } from '../store/types.js';

interface GlobalOptions {
  dataDir?: string;
  json?: boolean;
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

/** The password for user add / passwd: read from stdin when asked, else generated (and shown once). */
async function choosePassword(fromStdin: boolean | undefined): Promise<{ password: string; shown?: string }> {
  if (!fromStdin) {
    const password = generatePassword();
    return { password, shown: password };
  }
  const password = (await readStdin()).replace(/\r?\n$/, '');
  if (password.length < 8) throw new UsageError('the password must be at least 8 characters long');
  return { password };
}

function domainOf(address: string): string {
  const parts = splitAddress(address);
  if (!parts) throw new UsageError(`not an address: ${JSON.stringify(address)} (expected local@domain)`);
  return parts.domain.toLowerCase();
}

function positiveInt(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new UsageError(`${name} must be a whole number, got ${JSON.stringify(value)}`);
    return n;
  };
}

export function buildProgram(): Command {
  const program = new Command('mailroom')
    .description('Mailroom: mail for your own domains. Every command takes --help and --json.')
    .option(
      '-d, --data-dir <dir>',
      'data directory (env MAILROOM_DATA_DIR)',
      process.env.MAILROOM_DATA_DIR ?? '.mailroom',
    )
    .option('--json', 'print JSON for scripts')
    .showHelpAfterError()
    .exitOverride();

  const globals = () => program.opts<GlobalOptions>();
  const output = (): Output => createOutput(Boolean(globals().json));

  /** Opens the data directory, runs the action, closes it again. */
  function withData<A extends unknown[]>(action: (data: Backend, out: Output, ...args: A) => Promise<void>) {
    return async (...args: A) => {
      const config = loadConfig({ dataDir: globals().dataDir });
      const data = await openBackend(config);
      try {
        await action(data, output(), ...args);
      } finally {
        await data.close();
      }
    };
  }

  program
    .command('dev')
    .description(
      'run everything on this machine: SMTP, submission, IMAP, POP3 and the ingest pipeline (what `npm start` runs)',
    )
    .option('--host <host>', `address to listen on (env MAILROOM_HOST, default ${DEFAULTS.host})`)
    .option('--smtp-port <port>', `SMTP (MX) port (env MAILROOM_SMTP_PORT, default ${DEFAULTS.smtpPort})`)
    .option(
      '--submission-port <port>',
      `submission port (env MAILROOM_SUBMISSION_PORT, default ${DEFAULTS.submissionPort})`,
    )
    .option('--imap-port <port>', `IMAP port (env MAILROOM_IMAP_PORT, default ${DEFAULTS.imapPort})`)
    .option(
      '--imap-tls-port <port>',
      `IMAP over TLS port (env MAILROOM_IMAP_TLS_PORT, default ${DEFAULTS.imapTlsPort})`,
    )
    .option('--pop3-port <port>', `POP3 port (env MAILROOM_POP3_PORT, default ${DEFAULTS.pop3Port})`)
    .option(
      '--pop3-tls-port <port>',
      `POP3 over TLS port (env MAILROOM_POP3_TLS_PORT, default ${DEFAULTS.pop3TlsPort})`,
    )
    .option('--hostname <name>', `name in the banner and Received: headers (default ${DEFAULTS.hostname})`)
    .option('--max-message-size <bytes>', 'SIZE limit in bytes (default 41943040, 40 MB)')
    .option(
      '--submission-tls-port <port>',
      'also serve submission with implicit TLS on this port (465 in production)',
    )
    .option(
      '--tls-key <file>',
      'PEM key for STARTTLS and implicit TLS (default: self-signed, made in <data-dir>/tls)',
    )
    .option('--tls-cert <file>', 'PEM certificate that goes with --tls-key')
    .option(
      '--smarthost <url>',
      'send outbound mail through this smtp:// URL (default: keep it in <data-dir>/blobs/outbox)',
    )
    .addOption(
      new Option('--log-level <level>', 'log level').choices([
        'fatal',
        'error',
        'warn',
        'info',
        'debug',
        'trace',
        'silent',
      ]),
    )
    .action(async (opts: Record<string, string | undefined>) => {
      const config: Config = loadConfig({
        dataDir: globals().dataDir,
        host: opts.host,
        smtpPort: opts.smtpPort,
        submissionPort: opts.submissionPort,
        hostname: opts.hostname,
        maxMessageBytes: opts.maxMessageSize,
        smarthost: opts.smarthost,
        submissionTlsPort: opts.submissionTlsPort,
        imapPort: opts.imapPort,
        imapTlsPort: opts.imapTlsPort,
        pop3Port: opts.pop3Port,
        pop3TlsPort: opts.pop3TlsPort,
        tlsKey: opts.tlsKey,
        tlsCert: opts.tlsCert,
        logLevel: opts.logLevel,
      });
      await runDev(config, Boolean(globals().json));
    });

  for (const role of ['smtp', 'access'] as const) {
    program
      .command(role)
      .description(
        role === 'smtp'
          ? 'the ingress container: SMTP (MX) and submission, with a health check (backend from MAILROOM_BACKEND)'
          : 'the access container: IMAP and POP3, with a health check (backend from MAILROOM_BACKEND)',
      )
      .option('--host <host>', 'address to listen on (env MAILROOM_HOST)')
      .option(
        '--health-port <port>',
        `health check port (env MAILROOM_HEALTH_PORT, default ${DEFAULTS.healthPort})`,
      )
      .action(async (opts: Record<string, string | undefined>) => {
        const config = loadConfig({
          dataDir: globals().dataDir,
          host: opts.host,
          healthPort: opts.healthPort,
        });
        await runContainer(role, config, Boolean(globals().json));
      });
  }

  program
    .command('ingest')
    .description('the ingest poller: runs the Lambda handler on queued jobs where there is no Lambda')
    .action(async () => {
      await runIngestWorker(loadConfig({ dataDir: globals().dataDir }), Boolean(globals().json));
    });

  const domain = program.command('domain').description('domains Mailroom receives mail for');
  domain
    .command('add <name>')
    .description('add a domain and print the DNS records to create for it')
    .option('--mx <host>', 'the host name your MX record points at', 'mail.<domain>')
    .action(
      withData(async ({ store, kind }, out, name: string, opts: { mx: string }) => {
        const added = await store.addDomain(name);
        const mx = opts.mx === 'mail.<domain>' ? `mail.${added.name}` : opts.mx;
        // On AWS, SES sends what leaves (forwards, submission), so SPF names SES.
        const records = dnsRecords(added.name, mx, { sender: kind === 'aws' ? 'ses' : 'mx' });
        const policy = records.find((r) => r.policy)?.policy;
        out.result({ domain: added, dns: records }, () =>
          [
            `added ${added.name}. Create these DNS records:`,
            ...records.map((r) => `  ${r.name}\t${r.type}\t${r.value}`),
            'Then:',
            ...records.flatMap((r) => (r.note ? [`  - ${r.note}`] : [])),
            ...(policy ? [`The MTA-STS policy (${policy.url}):`] : []),
            ...(policy?.text.trimEnd().split('\r\n') ?? []).map((line) => `  ${line}`),
          ].join('\n'),
        );
      }),
    );
  domain
    .command('list')
    .description('list domains')
    .action(
      withData(async ({ store }, out) =>
        out.table(await store.listDomains(), ['name', 'createdAt'], 'no domains'),
      ),
    );
  domain
    .command('remove <name>')
    .description('remove a domain that has no accounts, aliases or routes left')
    .action(
      withData(async ({ store }, out, name: string) => {
        await store.removeDomain(name);
        out.result({ removed: name.toLowerCase() }, () => `removed ${name.toLowerCase()}`);
      }),
    );

  const user = program.command('user').description('accounts that receive mail and log in');
  user
    .command('add <address>')
    .description(
      'add an account; its password is generated and printed once, or read from stdin with --password-stdin',
    )
    .option('--password-stdin', 'read the password from standard input')
    .action(
      withData(async ({ store }, out, address: string, opts: { passwordStdin?: boolean }) => {
        domainOf(address);
        const { password, shown } = await choosePassword(opts.passwordStdin);
        const account = await store.addAccount(address, await hashPassword(password));
        out.result({ ...account, ...(shown ? { password: shown } : {}) }, () =>
          shown ? `added ${account.address}\npassword (shown once): ${shown}` : `added ${account.address}`,
        );
      }),
    );
  user
    .command('list <domain>')
    .description("list a domain's accounts")
    .action(
      withData(async ({ store }, out, name: string) =>
        out.table(await store.listAccounts(name), ['address', 'createdAt'], `no accounts in ${name}`),
      ),
    );
  user
    .command('passwd <address>')
    .description('set a new password: generated and printed once, or read from stdin with --password-stdin')
    .option('--password-stdin', 'read the password from standard input')
    .action(
      withData(async ({ store }, out, address: string, opts: { passwordStdin?: boolean }) => {
        const { password, shown } = await choosePassword(opts.passwordStdin);
        await store.setPasswordHash(address, await hashPassword(password));
        out.result({ address: normalizeAddress(address), ...(shown ? { password: shown } : {}) }, () =>
          shown ? `new password for ${normalizeAddress(address)} (shown once): ${shown}` : 'password changed',
        );
      }),
    );
  user
    .command('remove <address>')
    .description('remove an account with its mailboxes and messages')
    .action(
      withData(async ({ store }, out, address: string) => {
        await store.removeAccount(address);
        out.result({ removed: normalizeAddress(address) }, () => `removed ${normalizeAddress(address)}`);
      }),
    );

  const alias = program.command('alias').description('addresses that deliver to other addresses');
  alias
    .command('add <address> <targets...>')
    .description('add an alias delivering to one or more local or external addresses')
    .action(
      withData(async ({ store }, out, address: string, targets: string[]) => {
        targets.forEach(domainOf);
        const added = await store.addAlias(address, targets);
        out.result(added, () => `added ${added.address} → ${added.targets.join(', ')}`);
      }),
    );
  alias
    .command('list <domain>')
    .description("list a domain's aliases")
    .action(
      withData(async ({ store }, out, name: string) =>
        out.table(await store.listAliases(name), ['address', 'targets'], `no aliases in ${name}`),
      ),
    );
  alias
    .command('remove <address>')
    .description('remove an alias')
    .action(
      withData(async ({ store }, out, address: string) => {
        await store.removeAlias(address);
        out.result({ removed: normalizeAddress(address) }, () => `removed ${normalizeAddress(address)}`);
      }),
    );

  const route = program
    .command('route')
    .description('what happens to mail for an address: catch-all, forward, webhook, deliver, drop, reject');
  const addRoute = (match: string, action: RouteAction) =>
    withData(async ({ store }, out) => {
      const added = await store.addRoute(match, action);
      out.result(added, () => `added route ${added.id}: ${added.match} → ${describe(added.action)}`);
    })();
  route
    .command('catch-all <domain> <targets...>')
    .description('mail for unknown addresses of the domain goes to these addresses')
    .action((name: string, targets: string[]) => {
      targets.forEach(domainOf);
      return addRoute(`*@${name.toLowerCase()}`, { type: 'forward', to: targets });
    });
  route
    .command('forward <address> <targets...>')
    .description(
      'forward mail for the address (an account stops receiving it unless you also add a deliver route)',
    )
    .action((address: string, targets: string[]) => {
      targets.forEach(domainOf);
      return addRoute(address, { type: 'forward', to: targets });
    });
  route
    .command('webhook <address> <url>')
    .description('POST each message for the address (or *@domain) as signed JSON to the URL')
    .option('--secret <secret>', 'HMAC secret (default: generated and printed)')
    .action(async (address: string, url: string, opts: { secret?: string }) => {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new UsageError(`not a URL: ${JSON.stringify(url)}`);
      }
      if (!['http:', 'https:'].includes(parsed.protocol))
        throw new UsageError(`webhook URL must be http(s), got ${url}`);
      await addRoute(address, {
        type: 'webhook',
        url,
        secret: opts.secret ?? randomBytes(24).toString('base64url'),
      });
    });
  route
    .command('deliver <address> <account>')
    .description('deliver mail for the address (or *@domain) into an account, optionally into a folder')
    .option('--folder <name>', 'folder to file into', 'INBOX')
    .action((address: string, account: string, opts: { folder: string }) =>
      addRoute(address, { type: 'deliver', account: normalizeAddress(account), folder: opts.folder }),
    );
  route
    .command('drop <address>')
    .description('accept and discard mail for the address')
    .action((address: string) => addRoute(address, { type: 'drop' }));
  route
    .command('reject <address>')
    .description('refuse mail for the address at RCPT with 550')
    .option('--message <text>', 'the text of the 550 reply')
    .action((address: string, opts: { message?: string }) =>
      addRoute(address, { type: 'reject', ...(opts.message ? { message: opts.message } : {}) }),
    );
  route
    .command('list <domain>')
    .description("list a domain's routes")
    .action(
      withData(async ({ store }, out, name: string) => {
        const routes = (await store.listRoutes(name)).map((r) => ({ ...r, does: describe(r.action) }));
        out.table(routes, ['id', 'match', 'does'], `no routes in ${name}`);
      }),
    );
  route
    .command('remove <domain> <id>')
    .description('remove a route')
    .action(
      withData(async ({ store }, out, name: string, id: string) => {
        await store.removeRoute(name, id);
        out.result({ removed: id }, () => `removed route ${id}`);
      }),
    );

  program
    .command('mailbox')
    .description('mailboxes of an account')
    .command('list <address>')
    .description('list the mailboxes of an account with their counts')
    .action(
      withData(async ({ store }, out, address: string) => {
        const boxes = await store.listMailboxes(normalizeAddress(address));
        out.table(
          boxes,
          ['name', 'specialUse', 'messages', 'unseen', 'uidNext', 'uidValidity'],
          'no mailboxes',
        );
      }),
    );

  const message = program.command('message').description('messages in a mailbox');
  message
    .command('list <address> [folder]')
    .description('list the messages of a folder (default INBOX)')
    .option('--limit <n>', 'at most this many, newest last', positiveInt('--limit'), 100)
    .action(
      withData(
        async ({ store }, out, address: string, folder: string | undefined, opts: { limit: number }) => {
          const account = normalizeAddress(address);
          const name = folder ?? 'INBOX';
          const mailbox = await store.getMailbox(account, name);
          if (!mailbox) throw new UsageError(`${account} has no folder ${JSON.stringify(name)}`);
          const all = await store.listMessages(account, name, {});
          const rows = all.slice(-opts.limit).map((m) => ({
            uid: m.uid,
            date: new Date(m.internalDate).toISOString(),
            from: m.summary.from,
            subject: m.summary.subject,
            size: m.size,
            flags: m.flags,
            attachments: m.summary.attachments.map((a) => a.filename ?? a.contentType),
            blobKey: m.blobKey,
          }));
          out.table(rows, ['uid', 'date', 'from', 'subject', 'size', 'flags'], `no messages in ${name}`);
        },
      ),
    );
  message
    .command('show <address> <folder> <uid>')
    .description('show one message: its headers and text, or with --raw its exact bytes')
    .option('--raw', 'print the raw message as stored')
    .action(
      withData(
        async (
          { store, blobs },
          out,
          address: string,
          folder: string,
          uidText: string,
          opts: { raw?: boolean },
        ) => {
          const uid = positiveInt('uid')(uidText);
          const account = normalizeAddress(address);
          const found = await store.getMessage(account, folder, uid);
          if (!found) throw new UsageError(`no message ${uid} in ${account}/${folder}`);
          if (opts.raw) {
            process.stdout.write(await blobs.getBuffer(found.blobKey));
            return;
          }
          const { headerText, bodyText, summary, flags, size, internalDate } = found;
          out.result({ uid, flags, size, internalDate, summary, headerText, bodyText }, () =>
            [headerText.trimEnd(), '', bodyText].join('\n'),
          );
        },
      ),
    );

  const queue = program.command('queue').description('the ingest queue and its dead letters');
  queue
    .command('status')
    .description(
      'counts of waiting, in-flight, delayed and dead jobs, and the dead letters with their reasons',
    )
    .action(
      withData(async ({ queue: q }, out) => {
        const stats = await q.stats();
        const dead = (await q.listDeadLetters(50)).map((d) => ({
          id: d.id,
          job: d.body.id,
          receives: d.receiveCount,
          deadAt: new Date(d.deadAt).toISOString(),
          lastError: d.lastError,
        }));
        if (out.json) return out.result({ ...stats, deadLetters: dead }, () => '');
        out.result(
          stats,
          () =>
            `visible ${stats.visible}  in flight ${stats.inFlight}  delayed ${stats.delayed}  dead ${stats.dead}`,
        );
        if (dead.length) out.table(dead, ['id', 'job', 'receives', 'deadAt', 'lastError'], '');
      }),
    );
  queue
    .command('redrive [ids...]')
    .description('move dead letters (all, or these ids) back to the queue to be tried again')
    .action(
      withData(async ({ queue: q }, out, ids: string[]) => {
        const moved = await q.redrive(ids.length ? ids : undefined);
        out.result({ redriven: moved }, () => `${moved} job${moved === 1 ? '' : 's'} back in the queue`);
      }),
    );

  return program;
}

function describe(action: RouteAction): string {
  switch (action.type) {
    case 'deliver':
      return `deliver to ${action.account}/${action.folder ?? 'INBOX'}`;
    case 'forward':
      return `forward to ${action.to.join(', ')}`;
    case 'webhook':
      return `webhook ${action.url}`;
    case 'drop':
      return 'drop';
    case 'reject':
      return `reject${action.message ? `: ${action.message}` : ''}`;
  }
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (err instanceof UsageError || err instanceof ConfigError || err instanceof StoreError) {
      process.stderr.write(`mailroom: ${err.message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`mailroom: ${err instanceof Error ? err.stack : String(err)}\n`);
    return 1;
  }
}
