import fs from 'fs-extra';
import path from 'node:path';
import { UsageError } from '../util/errors.js';

export interface Corpus {
  path: string;
  /** The file name without its extension: names the checkpoint folder. */
  name: string;
  text: string;
  bytes: number;
}

/** Reads a training text, refusing what cannot be learned from with a message that says what to do. */
export async function readCorpus(file: string): Promise<Corpus> {
  const bytes = await readTextFile(file);
  if (bytes.length === 0) throw new UsageError(`${file} is empty; give a text file with some content to learn from`);
  const text = decodeUtf8Strict(bytes, file);
  if (text.length === 0) throw new UsageError(`${file} is empty; give a text file with some content to learn from`);
  return { path: file, name: path.basename(file, path.extname(file)), text, bytes: bytes.length };
}

/** The bytes of a file the user named, with one-line errors for the usual problems. */
export async function readTextFile(file: string): Promise<Uint8Array> {
  try {
    const stat = await fs.stat(file);
    if (stat.isDirectory()) throw new UsageError(`${file} is a directory; give the path of a text file`);
    return await fs.readFile(file);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`no such file: ${file} — check the path`);
    if (code === 'EACCES' || code === 'EPERM') throw new UsageError(`cannot read ${file}: permission denied — check its permissions`);
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * Decodes UTF-8, refusing binary content (NUL bytes) and invalid UTF-8 with the byte offset of the
 * first problem. A leading byte-order mark is dropped; line endings are kept as they are.
 */
export function decodeUtf8Strict(bytes: Uint8Array, label: string): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new UsageError(`${label} looks like a binary file (a NUL byte at offset ${nul}); give a UTF-8 text file`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new UsageError(`${label} is not valid UTF-8 (bad byte at offset ${firstInvalidUtf8(bytes)}); convert it to UTF-8, e.g. iconv -f latin1 -t utf-8`);
  }
  return text;
}

/** Offset of the first byte that breaks UTF-8 (overlong forms, surrogates and values past U+10FFFF included). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    let need: number, min: number;
    if (b < 0x80) { i++; continue; }
    else if (b >= 0xc2 && b <= 0xdf) { need = 1; min = 0x80; }
    else if (b >= 0xe0 && b <= 0xef) { need = 2; min = 0x800; }
    else if (b >= 0xf0 && b <= 0xf4) { need = 3; min = 0x10000; }
    else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return bytes.length;
}
