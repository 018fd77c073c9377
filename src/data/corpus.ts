import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../util/errors.js';

export interface Corpus {
  path: string;
  /** The file name without its extension: names the checkpoint folder. */
  name: string;
  /** The decoded text, without a byte-order mark, line endings as in the file. */
  text: string;
  /** Size of the file in bytes. */
  bytes: number;
}

/** Reads a training text, refusing what cannot be learned from with a message that says what to do. */
export async function readCorpus(file: string): Promise<Corpus> {
  const bytes = await readTextFile(file);
  const text = decodeUtf8Strict(bytes, file);
  if (text.length === 0) throw new UsageError(`${file} is empty; give a text file with some content to learn from`);
  return { path: file, name: path.basename(file, path.extname(file)), text, bytes: bytes.length };
}

/** The bytes of a file the user named, with one-line errors for the usual problems. */
export async function readTextFile(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UsageError(`no such file: ${file} — check the path`);
    if (code === 'EISDIR') throw new UsageError(`${file} is a directory; give the path of a text file`);
    if (code === 'EACCES' || code === 'EPERM') throw new UsageError(`cannot read ${file}: permission denied — check its permissions`);
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * Decodes UTF-8 text the user gave, refusing binary content (NUL bytes) and invalid UTF-8 with the byte
 * offset of the first problem. A leading byte-order mark is dropped; line endings are kept as they are.
 */
export function decodeUtf8Strict(bytes: Uint8Array, label: string): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new UsageError(`${label} is UTF-16 text (it starts with a UTF-16 byte-order mark); convert it to UTF-8, e.g. iconv -f utf-16 -t utf-8`);
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new UsageError(`${label} looks like a binary file (a NUL byte at offset ${nul}); give a UTF-8 text file`);
  try {
    // ignoreBOM: false means the decoder drops a leading byte-order mark.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const where = `${bad < bytes.length ? `byte 0x${bytes[bad].toString(16).toUpperCase()} ` : ''}at offset ${bad}, line ${lineAt(bytes, bad)}`;
    throw new UsageError(`${label} is not valid UTF-8 (${where}); convert it to UTF-8, e.g. iconv -f latin1 -t utf-8`);
  }
}

/**
 * Offset of the first byte that starts an invalid UTF-8 sequence (a stray continuation byte, a truncated
 * sequence, an overlong form, a surrogate or a value past U+10FFFF), or the length when all is valid.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i];
    if (lead < 0x80) {
      i++;
      continue;
    }
    // Continuation bytes after the lead, and the smallest code point that needs that many.
    let need: number, min: number;
    if (lead >= 0xc2 && lead <= 0xdf) [need, min] = [1, 0x80];
    else if (lead >= 0xe0 && lead <= 0xef) [need, min] = [2, 0x800];
    else if (lead >= 0xf0 && lead <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    let cp = lead & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const next = bytes[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (next & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return bytes.length;
}

/** 1-based line number of a byte offset. */
function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}
