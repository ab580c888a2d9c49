export { createSmtpServer, smtpError, type SmtpDeps, type SmtpMode, type SmtpOptions } from './server.js';
export { receivedHeader, type TraceInfo } from './received.js';
export { newQueueId, rawBlobKey } from './ids.js';
export * from './limits.js';
