import { promisify } from 'node:util';
import { deflateRaw, deflateRawSync, inflateRaw, inflateRawSync } from 'node:zlib';
import type { MessageMeta, MessageRecord } from '../types.js';

/*
 * The immutable part of a message, as stored: its metadata (blob key, internal date,
 * structure, summary) and its search text (headerText, bodyText), each as deflated JSON cut
 * into parts that fit a DynamoDB item (400 KB). Deflate because the JSON of a structure and
 * plain text shrink 3-10 times, and every KB written costs a write unit. Almost every
 * message has one metadata part; only hostile structures need more.
 *
 * The text goes where it costs least: inside the first metadata item when both fit in
 * INLINE_BYTES (a short message: no item of its own); otherwise, when the store can read
 * it back from the raw message (`textElsewhere`), nowhere; otherwise in text parts.
 */

/** Bytes of payload per item: under the 400 KB item limit with room for keys and names. */
export const MAX_PART_BYTES = 350 * 1024;
/**
 * Metadata and text bytes that share one item: with its keys and attribute names the item
 * stays under 1 KB, one write unit.
 */
export const INLINE_BYTES = 880;

export type MetaFields = Pick<MessageMeta, 'blobKey' | 'internalDate' | 'structure' | 'summary'>;
export type TextFields = Pick<MessageRecord, 'headerText' | 'bodyText'>;

export interface EncodedContent {
  meta: Buffer[];
  /** Text parts: none when the text is inline or left in the raw message. */
  text: Buffer[];
  /** The text, deflated, stored in the first metadata item. */
  inline?: Buffer;
  /** Payload bytes of all parts. */
  bytes: number;
}

const deflateAsync = promisify(deflateRaw);
const inflateAsync = promisify(inflateRaw);

function split(data: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length || parts.length === 0; at += MAX_PART_BYTES) {
    parts.push(data.subarray(at, at + MAX_PART_BYTES));
  }
  return parts;
}

function join(parts: readonly Uint8Array[]): Buffer {
  return parts.length === 1 ? Buffer.from(parts[0]!) : Buffer.concat(parts);
}

export async function encodeContent(
  message: MetaFields & TextFields,
  options: { textElsewhere?: boolean } = {},
): Promise<EncodedContent> {
  const meta: MetaFields = {
    blobKey: message.blobKey,
    internalDate: message.internalDate,
    structure: message.structure,
    summary: message.summary,
  };
  const metaBytes = deflateRawSync(JSON.stringify(meta));
  const room = INLINE_BYTES - metaBytes.length;
  // The text may be a megabyte or more: deflate it off the event loop, and when it is to be
  // kept only if it fits inline, stop as soon as it does not.
  const textBytes = await deflateText(message, options.textElsewhere ? Math.max(room, 0) : undefined);
  if (textBytes !== undefined && textBytes.length <= room) {
    return { meta: [metaBytes], text: [], inline: textBytes, bytes: metaBytes.length + textBytes.length };
  }
  if (textBytes === undefined) return { meta: split(metaBytes), text: [], bytes: metaBytes.length };
  return { meta: split(metaBytes), text: split(textBytes), bytes: metaBytes.length + textBytes.length };
}

/** The text deflated; undefined when it comes to more than `atMost` bytes (when given). */
async function deflateText(message: TextFields, atMost?: number): Promise<Buffer | undefined> {
  const json = JSON.stringify([message.headerText, message.bodyText]);
  if (atMost === undefined) return deflateAsync(json);
  try {
    return await deflateAsync(json, { maxOutputLength: Math.max(atMost, 1) });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') return undefined;
    throw err;
  }
}

export function decodeMeta(parts: readonly Uint8Array[]): MetaFields {
  return JSON.parse(inflateRawSync(join(parts)).toString('utf8')) as MetaFields;
}

export async function decodeText(parts: readonly Uint8Array[]): Promise<TextFields> {
  const [headerText, bodyText] = JSON.parse((await inflateAsync(join(parts))).toString('utf8')) as [
    string,
    string,
  ];
  return { headerText, bodyText };
}
