import { makeMessageFactory } from './message.js';

/*
 * The messages of bench/pop3.ts. Both servers get the very same octets, each through its
 * own fast path (bench/imap-seed.ts): Mailroom's through the BlobStore and
 * MailStore.appendMessage, Dovecot's as files in Maildir/cur.
 */

/**
 * Sizes of the maildrop's messages, as multiples of --bytes, repeating every ten
 * messages: mostly --bytes, one small, one medium, one three times larger (mean 1.05).
 */
const SIZE_PATTERN = [1, 1, 0.08, 1, 1, 3, 1, 0.4, 1, 1];

/** Where the `large` multi-MB messages go: spread evenly through the maildrop. */
function largeIndexes(count: number, large: number): Set<number> {
  const step = count / Math.max(1, large);
  return new Set(Array.from({ length: Math.min(large, count) }, (_, k) => Math.floor(step * k + step / 2)));
}

/**
 * The maildrop: `count` messages of about `bytes` each in the mix of SIZE_PATTERN, of which
 * `large` (spread evenly) are `largeBytes` instead. CRLF line ends throughout (bench/message.ts),
 * so the size on disk is the size POP3 reports.
 */
export function maildropMessages(
  count: number,
  bytes: number,
  to: string,
  large = 0,
  largeBytes = 5 * 2 ** 20,
): Buffer[] {
  const factories = new Map<number, (index: number) => Buffer>();
  const factory = (size: number) => {
    let make = factories.get(size);
    if (!make) {
      make = makeMessageFactory(size, to);
      factories.set(size, make);
    }
    return make;
  };
  const big = largeIndexes(count, large);
  return Array.from({ length: count }, (_, index) => {
    const size = big.has(index) ? largeBytes : Math.round(bytes * SIZE_PATTERN[index % SIZE_PATTERN.length]!);
    return factory(size)(index);
  });
}

/** The big message of the streaming part: one plain-text message of about `bytes`. */
export function bigMessage(bytes: number, to: string): Buffer {
  return makeMessageFactory(bytes, to)(0);
}

export function totalBytes(messages: Buffer[]): number {
  return messages.reduce((n, m) => n + m.length, 0);
}
