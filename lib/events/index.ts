// Cloud adapters (EventBridgeEvents in ./eventbridge.js) are imported by path, so that the
// embedded build never loads the AWS SDK.
export * from './types.js';
export * from './errors.js';
export * from './message-received.js';
export { LogEvents } from './log-events.js';
