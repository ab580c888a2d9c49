export { resolveRecipient, type Action, type RecipientLookup, type Resolution } from './resolve.js';
export {
  cachedDirectory,
  DirectoryCache,
  recipientLookup,
  type Directory,
  type DirectoryCacheOptions,
} from './directory-cache.js';
export { ownsAddress } from './ownership.js';
export { normalizeAddress, splitAddress, splitPlus } from './address.js';
