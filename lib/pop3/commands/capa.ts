import { ANY, type Pop3CommandSpec } from '../command.js';

/** CAPA (RFC 2449 §5): the capabilities, in either state. */
export const capa: Pop3CommandSpec = {
  name: 'CAPA',
  states: ANY,
  async handle({ session }) {
    session.sendMultiline('Capability list follows', session.capabilities());
  },
};
