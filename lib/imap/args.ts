import { bad } from './errors.js';
import type { ImapArg } from './types.js';

/** An astring argument (atom, quoted or literal) as UTF-8 text; BAD when missing or a list. */
export function astring(arg: ImapArg | undefined, what: string): string {
  if (!arg || arg.type === 'list') throw bad(`${what} expected`);
  return arg.type === 'atom' ? arg.value : arg.value.toString('utf8');
}

/** A parenthesised list argument; BAD otherwise. */
export function list(arg: ImapArg | undefined, what: string): ImapArg[] {
  if (!arg || arg.type !== 'list') throw bad(`${what} must be a parenthesised list`);
  return arg.items;
}

/** An atom, upper-cased; BAD otherwise. */
export function atom(arg: ImapArg | undefined, what: string): string {
  if (!arg || arg.type !== 'atom') throw bad(`${what} expected`);
  return arg.value.toUpperCase();
}

/** A number (RFC 3501 number / nz-number / mod-sequence); BAD otherwise. */
export function number(arg: ImapArg | undefined, what: string, min = 0): number {
  const text = arg?.type === 'atom' ? arg.value : undefined;
  if (!text || !/^\d{1,20}$/.test(text)) throw bad(`${what} must be a number`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw bad(`${what} out of range`);
  return value;
}

/** BAD when arguments are left over. */
export function noMore(args: ImapArg[], from: number, command: string): void {
  if (args.length > from) throw bad(`too many arguments to ${command}`);
}
