/**
 * Errors that become tagged replies at the edge (STYLE.md): a handler throws, the session
 * answers `<tag> NO [CODE] text` or `<tag> BAD text` and the connection goes on. Backend
 * errors never reach the wire; the session logs them and answers NO [SERVERBUG].
 */
export class ImapError extends Error {
  constructor(
    readonly status: 'NO' | 'BAD',
    readonly responseCode: string | null,
    message: string,
  ) {
    super(message);
    this.name = 'ImapError';
  }
}

/** `NO [code] text`: the command was understood and refused. */
export function no(text: string, code: string | null = null): ImapError {
  return new ImapError('NO', code, text);
}

/** `BAD [code] text`: the command could not be understood or is not allowed now. */
export function bad(text: string, code: string | null = null): ImapError {
  return new ImapError('BAD', code, text);
}

// Errors of the IMAP modules that are not replies yet; the commands turn them into BAD or NO.
export { SectionError, UnknownCteError } from './fetch-section.js';
export { SearchSyntaxError, BadCharsetError } from './search.js';
export { SequenceError } from './sequence.js';
export { ImapParseError } from './parser.js';
