export { createImapDeps, createImapServer, type ImapServer, type ImapServerOptions } from './server.js';
export { ImapSession, type ImapDeps, type SessionState } from './session.js';
export { commandRegistry } from './commands/index.js';
export { MailboxNotifier } from './notifier.js';
export * from './errors.js';
export * from './types.js';
