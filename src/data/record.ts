import type { CorpusFile, CorpusRecord } from './corpus.js';
import { STDIN, type InputList } from './inputs.js';

/**
 * How the corpus differs from the one a checkpoint records, in words ("notes/c.txt added, notes/a.txt
 * modified"), or null when it is the same text. Only sizes are known before reading, so
 * `changedSizes` can refuse a resume at once when a recorded file is gone or has another size; files
 * that are new are only known to be text (not skipped) once read, so `corpusChange` compares the rest.
 */
export function changedSizes(recorded: CorpusRecord, list: InputList): string | null {
  if (!recorded.files) return null;
  const sizes = new Map(list.files.map((f) => [f.path, f.bytes]));
  const known = new Set([...recorded.files.map((f) => f.path), ...(recorded.skipped ?? [])]);
  const added = list.files.filter((f) => !known.has(f.path)).map((f) => f.path);
  const removed: string[] = [];
  const modified: string[] = [];
  for (const f of recorded.files) {
    if (!sizes.has(f.path)) removed.push(f.path);
    else if (f.path !== STDIN && sizes.get(f.path) !== f.bytes) modified.push(f.path);
  }
  return describe(recorded.skipped ? added : [], removed, modified);
}

export function corpusChange(recorded: CorpusRecord, current: CorpusRecord & { files: CorpusFile[] }): string | null {
  if (recorded.sha256 === current.sha256) return null;
  if (!recorded.files) return `it was trained on ${recorded.name} (${recorded.chars} characters), this corpus differs`;
  const now = new Map(current.files.map((f) => [f.path, f]));
  const before = new Map(recorded.files.map((f) => [f.path, f]));
  const added = current.files.filter((f) => !before.has(f.path)).map((f) => f.path);
  const removed = recorded.files.filter((f) => !now.has(f.path)).map((f) => f.path);
  const modified = recorded.files.filter((f) => now.has(f.path) && now.get(f.path)!.sha256 !== f.sha256).map((f) => f.path);
  const changes = describe(added, removed, modified);
  if (changes) return changes;
  if (recorded.docSep !== current.docSep) return 'the document separator (--doc-sep) differs';
  return 'the same files are read in another order';
}

function describe(added: string[], removed: string[], modified: string[]): string | null {
  const parts = [
    ...added.map((p) => `${name(p)} added`),
    ...removed.map((p) => `${name(p)} removed`),
    ...modified.map((p) => `${name(p)} modified`),
  ];
  if (parts.length === 0) return null;
  return parts.length > 8 ? `${parts.slice(0, 8).join(', ')} and ${parts.length - 8} more changes` : parts.join(', ');
}

function name(p: string): string {
  return p === STDIN ? 'standard input' : p;
}
