import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';

/*
 * A throwaway Dovecot for bench/imap.ts and bench/pop3.ts: its own dovecot.conf, base_dir,
 * state_dir, log and Maildirs under a temp directory, listening for plain IMAP and/or POP3
 * on 127.0.0.1 only, run in the foreground (`dovecot -F`) as a child of the bench so that
 * it dies with it. Users live in a passwd-file with {PLAIN} passwords (see the README about
 * LOGIN cost).
 */

export const DOVECOT = '/usr/sbin/dovecot';
/** Where Debian puts Dovecot's service binaries: `imap` (dovecot-imapd), `pop3` (dovecot-pop3d). */
export const DOVECOT_LIBEXEC = '/usr/lib/dovecot';

export type DovecotProtocol = 'imap' | 'pop3';

/** The plain-text listeners to open, by protocol: a port on 127.0.0.1 each. */
export type DovecotListeners = Partial<Record<DovecotProtocol, number>>;

export interface DovecotUser {
  /** The login name, e.g. demo@example.test; its Maildir is <dir>/mail/<local part>/Maildir. */
  user: string;
  password: string;
}

/** The directories, configuration and users of a Dovecot not started yet. */
export interface DovecotSetup {
  version: string;
  dir: string;
  /** The Maildir of a user (created by prepareDovecot). */
  maildir(user: string): string;
}

export interface Dovecot {
  version: string;
  /** The ports it listens on, by protocol. */
  listeners: DovecotListeners;
  /** The master process: every login, auth, imap and pop3 process is a child of it. */
  pid: number;
  configPath: string;
  logPath: string;
  /** The last lines of Dovecot's log, for an error message. */
  logTail(): Promise<string>;
  stop(): Promise<void>;
}

/** Whether Dovecot is installed with the service binary of every protocol asked for. */
export function dovecotAvailable(protocols: DovecotProtocol[] = ['imap']): boolean {
  try {
    accessSync(DOVECOT, constants.X_OK);
    for (const protocol of protocols) accessSync(join(DOVECOT_LIBEXEC, protocol), constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function dovecotVersion(): string {
  const result = spawnSync(DOVECOT, ['--version'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${DOVECOT} --version failed: ${result.stderr.trim()}`);
  // "2.3.19.1 (9b53102964)"
  return result.stdout.trim().split(' ')[0] ?? '';
}

function atLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

interface Accounts {
  /** System user and group that own the mail and run the imap processes. */
  mailUser: string;
  mailGroup: string;
  /** Unprivileged users for the login and internal processes. */
  loginUser: string;
  internalUser: string;
}

/**
 * Who runs what. As root: mail as nobody (Dovecot refuses to access mail as root), login
 * processes as Debian's dovenull and internal ones as dovecot. As anyone else: everything
 * as that user, which Dovecot allows when it cannot change users anyway.
 */
function accounts(): Accounts {
  if (process.getuid?.() === 0) {
    const group = spawnSync('id', ['-gn', 'nobody'], { encoding: 'utf8' }).stdout.trim() || 'nogroup';
    return { mailUser: 'nobody', mailGroup: group, loginUser: 'dovenull', internalUser: 'dovecot' };
  }
  const me = userInfo().username;
  const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim() || me;
  return { mailUser: me, mailGroup: group, loginUser: me, internalUser: me };
}

/** dovecot.conf for 2.3: the settings that differ from the defaults, nothing else. */
function config23(dir: string, listeners: DovecotListeners, who: Accounts): string {
  const services = protocolsOf(listeners)
    .map(
      (protocol) => `service ${protocol}-login {
  inet_listener ${protocol} {
    address = 127.0.0.1
    port = ${listeners[protocol]}
  }
  inet_listener ${protocol}s {
    port = 0
  }
}
protocol ${protocol} {
  # The default (10) counts connections per user and IP; every bench client is on 127.0.0.1.
  mail_max_userip_connections = 100000
}
`,
    )
    .join('');
  return `# Written by a bench in bench/ for one run; removed with its directory.
protocols = ${protocolsOf(listeners).join(' ')}
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = mailroom-bench-${process.pid}
log_path = ${dir}/dovecot.log
info_log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = ${who.loginUser}
default_internal_user = ${who.internalUser}
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
userdb {
  driver = static
  args = uid=${who.mailUser} gid=${who.mailGroup} home=${dir}/mail/%n
}
mail_location = maildir:~/Maildir
${services}`;
}

/** The same for 2.4, whose settings were renamed (not tried here: Debian 12 ships 2.3). */
function config24(dir: string, listeners: DovecotListeners, who: Accounts): string {
  const services = protocolsOf(listeners)
    .map(
      (protocol) => `service ${protocol}-login {
  inet_listener ${protocol} {
    listen = 127.0.0.1
    port = ${listeners[protocol]}
  }
  inet_listener ${protocol}s {
    port = 0
  }
}
protocol ${protocol} {
  mail_max_userip_connections = 100000
}
`,
    )
    .join('');
  return `# Written by a bench in bench/ for one run; removed with its directory.
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
protocols = ${protocolsOf(listeners).join(' ')}
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = mailroom-bench-${process.pid}
log_path = ${dir}/dovecot.log
info_log_path = ${dir}/dovecot.log
ssl = no
auth_allow_cleartext = yes
auth_mechanisms = plain login
default_login_user = ${who.loginUser}
default_internal_user = ${who.internalUser}
first_valid_uid = 1
passdb passwd-file {
  passwd_file_path = ${dir}/users
  default_password_scheme = PLAIN
}
userdb static {
  fields {
    uid = ${who.mailUser}
    gid = ${who.mailGroup}
    home = ${dir}/mail/%{user | username}
  }
}
mail_driver = maildir
mail_path = ~/Maildir
namespace inbox {
  inbox = yes
}
${services}`;
}

/** The protocols with a listener, in a fixed order. */
function protocolsOf(listeners: DovecotListeners): DovecotProtocol[] {
  return (['imap', 'pop3'] as const).filter((protocol) => listeners[protocol] !== undefined);
}

function localPart(user: string): string {
  return user.split('@')[0] ?? user;
}

/**
 * Makes Dovecot's directories and empty Maildirs under `dir` (new and empty), and writes
 * its users. `dir` is made world-readable: the login, auth, imap and pop3 processes run as
 * other users and must reach their files.
 */
export async function prepareDovecot(dir: string, users: DovecotUser[]): Promise<DovecotSetup> {
  const version = dovecotVersion();
  await chmod(dir, 0o755);
  for (const sub of ['run', 'state', 'mail']) await mkdir(join(dir, sub), { recursive: true });
  const maildir = (user: string) => join(dir, 'mail', localPart(user), 'Maildir');
  for (const { user } of users) {
    for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(maildir(user), sub), { recursive: true });
  }
  await writeFile(join(dir, 'users'), users.map((u) => `${u.user}:{PLAIN}${u.password}\n`).join(''), {
    mode: 0o644,
  });
  return { version, dir, maildir };
}

/**
 * Writes dovecot.conf with a plain-text listener for each protocol in `listeners` (IMAP,
 * POP3 or both), hands what the bench wrote into the Maildirs to the mail user, starts
 * Dovecot in the foreground and waits until `waitForListeners` sees it answer.
 */
export async function startDovecot(
  setup: DovecotSetup,
  listeners: DovecotListeners,
  waitForListeners: (listeners: DovecotListeners) => Promise<void>,
): Promise<Dovecot> {
  const { dir, version } = setup;
  if (protocolsOf(listeners).length === 0) throw new Error('startDovecot: no listener asked for');
  const who = accounts();
  const configPath = join(dir, 'dovecot.conf');
  const logPath = join(dir, 'dovecot.log');
  await writeFile(
    configPath,
    atLeast(version, 2, 4) ? config24(dir, listeners, who) : config23(dir, listeners, who),
  );
  if (process.getuid?.() === 0) {
    const result = spawnSync('chown', ['-R', `${who.mailUser}:${who.mailGroup}`, join(dir, 'mail')], {
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`chown of the Maildirs failed: ${result.stderr.trim()}`);
  }

  // A process group of its own: Ctrl-C at the terminal must not stop Dovecot under a running
  // phase; the bench stops it (and kills it from its exit handler at worst).
  const child = spawn(DOVECOT, ['-F', '-c', configPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-2_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  const logTail = async () => {
    const log = await readFile(logPath, 'utf8').catch(() => '');
    return `${stderr}${log}`.trim().split('\n').slice(-8).join('\n');
  };
  const stop = async () => {
    // The master takes its login, auth, imap and pop3 processes down with it.
    if (running()) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    if (running()) child.kill('SIGKILL');
  };
  try {
    await Promise.race([
      waitForListeners(listeners),
      exited.then(async () => {
        throw new Error(`dovecot exited (${child.exitCode ?? child.signalCode}): ${await logTail()}`);
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { version, listeners, pid: child.pid!, configPath, logPath, logTail, stop };
}

/**
 * A Maildir file name for message `index` of a seed: `<time>.M<index>P<pid>.<host>,S=<size>:2,`
 * in cur/ (Maildir++: S= spares Dovecot a stat; ":2," and no flags). Dovecot sorts new
 * files by the leading seconds before it hands out UIDs, so the seconds grow with the
 * index and UIDs follow the seed order.
 */
export function maildirName(index: number, size: number, baseSeconds: number): string {
  return `${baseSeconds + index}.M${index}P${process.pid}.mailroom-bench,S=${size}:2,`;
}
