import type { Pop3Command } from '../parser.js';
import type { Pop3Session } from '../session.js';
import { badArgs } from '../errors.js';

/**
 * LIST and UIDL (RFC 1939 §5, §7): with a message number, one `+OK n value` line; without,
 * a multi-line listing of every message not marked deleted.
 */
export function listing(
  session: Pop3Session,
  command: Pop3Command,
  value: (index: number) => string,
): string | void {
  const maildrop = session.maildrop;
  if (command.args.length > 1) throw badArgs(`${command.name} takes at most a message number`);
  if (command.args.length === 1) {
    const index = maildrop.index(command.args[0]);
    return `${index + 1} ${value(index)}`;
  }
  const { count, octets } = maildrop.stat();
  session.sendMultiline(`${count} messages (${octets} octets)`, lines(session, value));
}

function* lines(session: Pop3Session, value: (index: number) => string): Generator<string> {
  const maildrop = session.maildrop;
  for (let i = 0; i < maildrop.length; i++) {
    if (!maildrop.isDeleted(i)) yield `${i + 1} ${value(i)}`;
  }
}

export function noArgs(command: Pop3Command): void {
  if (command.args.length > 0) throw badArgs(`${command.name} takes no arguments`);
}
