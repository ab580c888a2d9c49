import { ANY, SELECTED, type CommandSpec } from '../command.js';

/** NOOP: does nothing; the dispatcher's sync after it is what a client polls for. */
export const noop: CommandSpec = {
  name: 'NOOP',
  states: ANY,
  async handle() {},
};

/** CHECK (RFC 3501 §6.4.1): a checkpoint; the store is always durable, so it is NOOP. Gone in IMAP4rev2. */
export const check: CommandSpec = {
  name: 'CHECK',
  states: SELECTED,
  async handle() {},
};
