import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadCheckpoint } from '../checkpoint/store.js';
import { readInputs, type CorpusTokens } from '../data/corpus.js';
import { CopyIndex, INDEX_FILE, indexBytes, indexedText, saveIndex } from '../data/copy-index.js';
import { findInputs, STDIN } from '../data/inputs.js';
import { Vocab } from '../data/vocab.js';
import { RuntimeFailure, UsageError } from '../util/errors.js';

/** The corpus index that belongs to a checkpoint: beside it, in the run's folder. */
export const indexFileOf = (checkpointFile: string): string => path.join(path.dirname(checkpointFile), INDEX_FILE);

/** Refuses up front a corpus whose index would not fit in memory while it is built. */
function checkIndexFits(chars: number, vocabSize: number): void {
  const needed = indexBytes(chars, vocabSize).building;
  const total = os.totalmem();
  if (needed > 0.75 * total) {
    const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;
    throw new RuntimeFailure(`indexing ${chars} characters needs about ${gb(needed)} of memory while it is built, more than this machine's ${gb(total)} allows; ` +
      'index a smaller corpus, or sample without --copies and --max-copy');
  }
}

/**
 * Builds the index of a run's corpus (tokens in memory) and writes it into the run's folder, unless an
 * index of the same text is there already. Returns the file.
 */
export function writeCorpusIndex(dir: string, corpus: Pick<CorpusTokens, 'tokens' | 'vocab' | 'record' | 'documents'>): string {
  const file = path.join(dir, INDEX_FILE);
  if (indexedText(file) === corpus.record.sha256) return file;
  checkIndexFits(corpus.tokens.length, corpus.vocab.size);
  saveIndex(file, CopyIndex.build(corpus.tokens, corpus.vocab, corpus.record, corpus.documents));
  return file;
}

/**
 * `charnn index`: reads again the files a checkpoint's run was trained on, checks they are the same
 * text, and writes their index beside the checkpoint.
 */
export async function indexRun(checkpointFile: string, signal?: AbortSignal): Promise<{ file: string; chars: number }> {
  const checkpoint = await loadCheckpoint(checkpointFile);
  const record = checkpoint.training.corpus;
  const paths = (record.files ?? []).map((f) => f.path);
  if (paths.length === 0 || paths.includes(STDIN)) {
    throw new UsageError(`${checkpointFile} was trained on ${paths.length === 0 ? 'a corpus it does not list' : 'standard input'}, which cannot be read again; ` +
      'its index is written when training ends (train again with --resume to write it)');
  }
  const missing = paths.find((p) => !fs.existsSync(p));
  if (missing !== undefined) {
    throw new UsageError(`${missing}, which ${checkpointFile} was trained on, is not there; run charnn index from the folder you trained in`);
  }
  const corpus = await readInputs(await findInputs(paths), { docSep: record.docSep, vocab: Vocab.fromChars(checkpoint.vocab), signal });
  if (corpus.record.sha256 !== record.sha256) {
    throw new UsageError(`the files ${checkpointFile} was trained on have changed since; an index of them would not be the text the model learned`);
  }
  return { file: writeCorpusIndex(path.dirname(checkpointFile), corpus), chars: corpus.tokens.length };
}
