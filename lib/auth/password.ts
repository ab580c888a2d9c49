import { normalizeAddress } from '../routing/address.js';
import { createHmac, randomBytes, randomInt, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/*
 * Passwords are stored as `scrypt$N$r$p$salt$hash` (base64). scrypt with N=2^15, r=8, p=1
 * is OWASP's recommended minimum; the parameters are kept with each hash so they can be
 * raised later without breaking old accounts.
 */
const PARAMS = { N: 1 << 15, r: 8, p: 1 };
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize('NFC'),
      salt,
      KEY_LENGTH,
      { ...options, maxmem: 128 * options.N! * options.r! * 2 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS);
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await derive(password, Buffer.from(salt, 'base64'), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A password a person can type: 20 characters from an unambiguous alphabet (~115 bits). */
export function generatePassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return Array.from({ length: 20 }, () => alphabet[randomInt(alphabet.length)]).join('');
}

/**
 * Remembers successful logins for a while, as Dovecot's auth cache does: scrypt costs
 * ~100 ms of CPU by design, and a phone that reconnects for every IDLE, or a thousand
 * clients reconnecting after a restart, should not pay it every time. Only successes are
 * kept (a wrong password always pays the full price), the password is kept as an HMAC
 * under a key that lives only in this process, and the stored hash is part of the entry,
 * so a changed password misses at once.
 */
export class VerifiedPasswordCache {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly ttlMs = 10 * 60_000,
    private readonly capacity = 10_000,
    private readonly verify: (password: string, stored: string) => Promise<boolean> = verifyPassword,
    private readonly now: () => number = Date.now,
  ) {}

  async check(account: string, password: string, stored: string): Promise<boolean> {
    const entry = createHmac('sha256', this.key)
      .update(`${account}\0${stored}\0${password}`)
      .digest('base64');
    const expires = this.entries.get(entry);
    if (expires !== undefined && expires > this.now()) return true;
    this.entries.delete(entry);
    if (!(await this.verify(password, stored))) return false;
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(entry, this.now() + this.ttlMs);
    return true;
  }
}

/** Checks an address and password against the directory: the account, or undefined. */
export type Authenticator = (username: string, password: string) => Promise<string | undefined>;

/** One authenticator per server: IMAP, POP3 and submission ask the directory the same way. */
export function createAuthenticator(
  directory: { getPasswordHash(address: string): Promise<string | undefined> },
  cache = new VerifiedPasswordCache(),
): Authenticator {
  return async (username, password) => {
    const account = normalizeAddress(username);
    const hash = await directory.getPasswordHash(account);
    return hash && (await cache.check(account, password, hash)) ? account : undefined;
  };
}
