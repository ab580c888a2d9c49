import { NOT_AUTHENTICATED, type CommandContext, type CommandSpec } from '../command.js';
import { astring, atom, noMore } from '../args.js';
import { bad, no } from '../errors.js';

async function logIn(ctx: CommandContext, username: string, password: string) {
  const { session } = ctx;
  const account = await session.deps.authenticate(username, password);
  if (!account) {
    session.log.warn({ user: username.slice(0, 256) }, 'authentication failed');
    // RFC 5530: AUTHENTICATIONFAILED. A short pause slows down password guessing.
    await new Promise((resolve) => setTimeout(resolve, 300));
    throw no('Authentication failed', 'AUTHENTICATIONFAILED');
  }
  session.log.info({ user: account }, 'authenticated');
  session.setState({ kind: 'authenticated', account });
  return { code: `CAPABILITY ${session.capabilities().join(' ')}`, text: 'Logged in' };
}

function requireAuthAllowed(ctx: CommandContext) {
  if (!ctx.session.authAllowed) throw no('Use STARTTLS or the TLS port first', 'PRIVACYREQUIRED');
}

/** LOGIN (RFC 3501 §6.2.3): refused without TLS, except on dev loopback (LOGINDISABLED). */
export const login: CommandSpec = {
  name: 'LOGIN',
  states: NOT_AUTHENTICATED,
  async handle(ctx) {
    requireAuthAllowed(ctx);
    const username = astring(ctx.args[0], 'user name');
    const password = astring(ctx.args[1], 'password');
    noMore(ctx.args, 2, 'LOGIN');
    return logIn(ctx, username, password);
  },
};

/** AUTHENTICATE PLAIN (RFC 4616), with the initial response inline (SASL-IR, RFC 4959) or after "+". */
export const authenticate: CommandSpec = {
  name: 'AUTHENTICATE',
  states: NOT_AUTHENTICATED,
  async handle(ctx) {
    requireAuthAllowed(ctx);
    const mechanism = atom(ctx.args[0], 'SASL mechanism');
    if (mechanism !== 'PLAIN') throw no(`Unsupported mechanism ${mechanism}`, 'CANNOT');
    let response: string;
    if (ctx.args[1]) {
      response = astring(ctx.args[1], 'initial response');
    } else {
      const line = await ctx.session.readRawLine('');
      if (line === null) throw bad('connection closed');
      response = line.toString('latin1').trim();
    }
    if (response === '*') throw bad('AUTHENTICATE cancelled');
    // "=" is an empty initial response (RFC 4959).
    const decoded = response === '=' ? '' : Buffer.from(response, 'base64').toString('utf8');
    const parts = decoded.split('\0');
    if (parts.length !== 3 || !/^[A-Za-z0-9+/]*={0,2}$/.test(response)) throw bad('Malformed PLAIN response');
    const [authzid, username, password] = parts as [string, string, string];
    if (authzid && authzid.toLowerCase() !== username.toLowerCase())
      throw no('Authorization identity must be the user', 'AUTHORIZATIONFAILED');
    return logIn(ctx, username, password);
  },
};

/** STARTTLS (RFC 3501 §6.2.1): OK, then the TLS handshake; the client asks for CAPABILITY again. */
export const starttls: CommandSpec = {
  name: 'STARTTLS',
  states: NOT_AUTHENTICATED,
  async handle({ session, command, args }) {
    noMore(args, 0, 'STARTTLS');
    if (!session.canStartTls) throw bad('TLS is not available or already on');
    session.send(`${command.tag} OK Begin TLS negotiation now`);
    await session.startTls();
    return { answered: true };
  },
};
