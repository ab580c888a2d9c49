import { TRANSACTION, type Pop3CommandSpec } from '../command.js';
import { noArgs } from './listing.js';

/** NOOP (RFC 1939 §5). */
export const noop: Pop3CommandSpec = {
  name: 'NOOP',
  states: TRANSACTION,
  async handle({ command }) {
    noArgs(command);
    return 'Nothing done';
  },
};
