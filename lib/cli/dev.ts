import type { Config } from '../config.js';
import { createLogger } from '../log.js';
import { startMailroom } from '../app/mailroom.js';
import { bootstrapFirstStart } from '../app/bootstrap.js';
import { runUntilSignal } from './signals.js';

/** `mailroom dev`: the whole system in this process until SIGINT or SIGTERM. */
export async function runDev(config: Config, json: boolean): Promise<void> {
  const logger = createLogger({ level: config.logLevel, pretty: json ? false : undefined });
  const running = await startMailroom(config, logger);
  const created = await bootstrapFirstStart(running.embedded.store);
  const banner = {
    dataDir: config.dataDir,
    smtp: `${config.host}:${running.smtpPort}`,
    submission: `${config.host}:${running.submissionPort}`,
    ...(running.submissionTlsPort !== undefined
      ? { submissionTls: `${config.host}:${running.submissionTlsPort}` }
      : {}),
    imap: `${config.host}:${running.imapPort}`,
    ...(running.imapTlsPort !== undefined ? { imapTls: `${config.host}:${running.imapTlsPort}` } : {}),
    pop3: `${config.host}:${running.pop3Port}`,
    ...(running.pop3TlsPort !== undefined ? { pop3Tls: `${config.host}:${running.pop3TlsPort}` } : {}),
    starttls: running.tls,
    ...(created ? { account: created.address, password: created.password } : {}),
  };
  if (json) {
    process.stdout.write(JSON.stringify({ ready: banner }) + '\n');
  } else {
    const lines = [
      '',
      'Mailroom is running.',
      `  SMTP (MX)     ${banner.smtp}`,
      `  submission    ${banner.submission}   (AUTH PLAIN/LOGIN${running.tls ? ', STARTTLS' : ''})`,
      ...(banner.submissionTls ? [`  submission    ${banner.submissionTls}   (implicit TLS)`] : []),
      `  IMAP          ${banner.imap}${running.tls ? '   (STARTTLS)' : ''}`,
      ...(banner.imapTls ? [`  IMAP TLS      ${banner.imapTls}`] : []),
      `  POP3          ${banner.pop3}${running.tls ? '   (STLS)' : ''}`,
      ...(banner.pop3Tls ? [`  POP3 TLS      ${banner.pop3Tls}`] : []),
      ...(running.tls && !config.tlsCert
        ? [`  TLS           self-signed certificate in ${config.dataDir}/tls`]
        : []),
      `  data          ${config.dataDir}`,
      ...(created
        ? [
            `  account       ${created.address}`,
            `  password      ${created.password}   (shown once; change it with: npx mailroom user passwd ${created.address})`,
          ]
        : []),
      '',
      'Send a test mail:',
      `  swaks --server ${config.host}:${running.smtpPort} --to demo@example.test --from you@elsewhere.test`,
      'and see it:',
      '  npx mailroom message list demo@example.test',
      '',
      'Mail client settings (Thunderbird, Apple Mail, Outlook, mutt, your phone):',
      `  incoming  IMAP  server ${config.host}  port ${running.imapPort}${running.tls ? ' (STARTTLS)' : ''}${
        running.imapTlsPort !== undefined ? ` or ${running.imapTlsPort} (SSL/TLS)` : ''
      }  normal password`,
      `  or        POP3  server ${config.host}  port ${running.pop3Port}${running.tls ? ' (STARTTLS)' : ''}${
        running.pop3TlsPort !== undefined ? ` or ${running.pop3TlsPort} (SSL/TLS)` : ''
      }  normal password`,
      `  outgoing  SMTP  server ${config.host}  port ${running.submissionPort}${running.tls ? ' (STARTTLS)' : ''}  normal password`,
      `  user name: the full address, e.g. ${created?.address ?? 'demo@example.test'}${
        running.tls && !config.tlsCert ? '  (accept the self-signed certificate once)' : ''
      }`,
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  }

  await runUntilSignal(logger, async (signal) => {
    logger.info({ signal }, 'stopping: no new connections, finishing sessions and the batch in hand');
    await running.stop();
  });
}
