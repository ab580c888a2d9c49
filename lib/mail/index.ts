export { parseMessage } from './parse.js';
export { parseMimeTree, walkParts, findPart, countLines, type ParsedTree } from './mime-tree.js';
export { parseAddressList } from './address.js';
export { partFilename } from './summary.js';
export * from './limits.js';
export type * from './types.js';
