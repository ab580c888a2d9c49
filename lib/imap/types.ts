/**
 * One parsed IMAP argument (RFC 3501 §9 grammar, as servers meet it):
 * - atom: any atom, including NIL, numbers, sequence sets ("1:*,5"), flags ("\Seen"),
 *   and fetch attributes; a fetch attribute with a section keeps it apart:
 *   `BODY.PEEK[HEADER.FIELDS (From To)]<0.100>` is
 *   { type: 'atom', value: 'BODY.PEEK', section: [atom HEADER.FIELDS, list (From To)], partial: [0, 100] };
 * - string: a quoted string or a literal, as raw bytes (literals may hold any octet but NUL);
 * - list: a parenthesised list.
 */
export type ImapArg = ImapAtom | ImapString | ImapList;

export interface ImapAtom {
  type: 'atom';
  value: string;
  /** The bracketed part of BODY[...], BINARY[...], BODY.PEEK[...], ... */
  section?: ImapArg[];
  /** <start.length> after a section; length absent in `<start>` (invalid in FETCH, kept for errors). */
  partial?: [number, number?];
}

export interface ImapString {
  type: 'string';
  value: Buffer;
  /** True when it came as a literal ({n} or {n+}). */
  literal: boolean;
}

export interface ImapList {
  type: 'list';
  items: ImapArg[];
}

export interface ImapCommand {
  tag: string;
  /** Upper case command name; for UID commands "UID" with the sub-command as first argument. */
  name: string;
  args: ImapArg[];
}

/** Helpers to read arguments. */
export function argText(arg: ImapArg | undefined): string | undefined {
  if (!arg) return undefined;
  if (arg.type === 'atom') return arg.value;
  if (arg.type === 'string') return arg.value.toString('utf8');
  return undefined;
}
