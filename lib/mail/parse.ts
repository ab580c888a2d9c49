import { parseMimeTree, plainTextPart, type ParsedTree } from './mime-tree.js';
import { EMPTY_ENVELOPE } from './envelope.js';
import { decodeMessage } from './summary.js';
import type { ParsedMessage } from './types.js';

/**
 * Parses a raw message (the octets as received, any line endings) into everything ingest
 * stores and IMAP serves: the MIME structure with byte offsets and the ENVELOPE (our own
 * parser, see mime-tree.ts), and the decoded summary, header text and body text (mailparser,
 * see summary.ts).
 *
 * Never rejects, whatever the input: hostile or broken mail is still mail that got a 250 and
 * must be delivered. Should a bug throw anyway, the message is stored as one opaque
 * text/plain body so that it can still be fetched whole.
 */
export async function parseMessage(raw: Buffer): Promise<ParsedMessage> {
  let tree: ParsedTree;
  try {
    tree = parseMimeTree(raw);
  } catch {
    tree = opaqueTree(raw);
  }
  try {
    return { structure: tree.structure, ...(await decodeMessage(raw, tree)) };
  } catch {
    return {
      structure: tree.structure,
      summary: { subject: '', from: '', to: '', cc: '', date: null, messageId: null, attachments: [] },
      headerText: '',
      bodyText: '',
    };
  }
}

/** The last resort structure: no envelope fields, the whole message as one text/plain body. */
function opaqueTree(raw: Buffer): ParsedTree {
  const body = plainTextPart(raw, 0, 0, raw.length);
  const envelope = { ...EMPTY_ENVELOPE };
  return { structure: { size: raw.length, envelope, body }, fields: [], fallbackCharset: 'latin1' };
}
