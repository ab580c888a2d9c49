export { resolveRecipient, type Action, type Resolution } from './resolve.js';
export { ownsAddress } from './ownership.js';
export { normalizeAddress, splitAddress, splitPlus } from './address.js';
