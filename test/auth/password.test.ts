import { describe, expect, it } from 'vitest';
import {
  generatePassword,
  hashPassword,
  verifyPassword,
  VerifiedPasswordCache,
} from '../../lib/auth/password.js';

describe('passwords', () => {
  it('hashes with scrypt and a salt, and verifies only the right password', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('correct horse');
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct horsE', a)).toBe(false);
    expect(await verifyPassword('x', 'not-a-hash')).toBe(false);
  });

  it('generates 20-character passwords that differ', () => {
    const a = generatePassword();
    expect(a).toMatch(/^[a-zA-Z2-9]{20}$/);
    expect(generatePassword()).not.toBe(a);
  });

  it('caches successes only, until they expire or the stored hash changes', async () => {
    let calls = 0;
    let now = 0;
    const cache = new VerifiedPasswordCache(
      1000,
      10,
      async (password) => {
        calls++;
        return password === 'right';
      },
      () => now,
    );
    expect(await cache.check('a@x.test', 'right', 'hash1')).toBe(true);
    expect(await cache.check('a@x.test', 'right', 'hash1')).toBe(true);
    expect(calls).toBe(1);
    expect(await cache.check('a@x.test', 'wrong', 'hash1')).toBe(false);
    expect(await cache.check('a@x.test', 'wrong', 'hash1')).toBe(false);
    expect(calls).toBe(3);
    expect(await cache.check('a@x.test', 'right', 'hash2')).toBe(true);
    expect(calls).toBe(4);
    now = 2000;
    expect(await cache.check('a@x.test', 'right', 'hash1')).toBe(true);
    expect(calls).toBe(5);
  });
});
