import fs from 'node:fs/promises';
import path from 'node:path';
import { BEST, LATEST } from '../checkpoint/store.js';
import { corpusName, STDIN } from '../data/inputs.js';
import { UsageError } from '../util/errors.js';
import { stderrStyle as style } from './ui.js';

const ROOT = 'checkpoints';
/** The folder of a run trained on standard input (`cat *.log | charnn train -`): often a throw-away. */
const STDIN_RUN = path.join(ROOT, corpusName([STDIN]));
/** Other runs named on stderr, at most. */
const LISTED = 3;

/** A folder under ./checkpoints that holds a checkpoint: its best.json, else its latest.json. */
interface Run {
  file: string;
  mtime: number;
  hasBest: boolean;
  fromStdin: boolean;
}

/**
 * The checkpoint a command uses when none is given, named on stderr after `doing`: of the runs under
 * ./checkpoints, the newest, but a named corpus before standard input, and a run with a best.json before
 * one stopped before its first evaluation. When there are several, the line names the others and how to
 * choose one.
 */
export async function defaultCheckpoint(doing: string): Promise<string> {
  const runs = (await findRuns()).sort((a, b) => Number(a.fromStdin) - Number(b.fromStdin) || Number(b.hasBest) - Number(a.hasBest) || b.mtime - a.mtime);
  if (runs.length === 0) throw new UsageError('no checkpoint found under ./checkpoints; train one first (charnn train <corpus.txt>) or give --checkpoint <file>');
  const [chosen, ...others] = runs;
  let line = `${doing} ${chosen.file}`;
  if (others.length > 0) {
    const why = (run: Run) => (run.mtime <= chosen.mtime ? '' : run.fromStdin ? ' (newer, from standard input)' : ' (newer, no best.json yet)');
    const listed = others.slice(0, LISTED).map((run) => run.file + why(run));
    if (others.length > LISTED) listed.push(`${others.length - LISTED} more`);
    line += ` — 1 of ${runs.length} runs under ./${ROOT}; the others: ${listed.join(', ')}; choose one with --checkpoint <file>`;
  }
  process.stderr.write(style.dim(line) + '\n');
  return chosen.file;
}

/** Every run under ./checkpoints, at any depth (--checkpoint-dir checkpoints/a/b is one too). */
async function findRuns(): Promise<Run[]> {
  let entries: string[];
  try {
    entries = await fs.readdir(ROOT, { recursive: true });
  } catch {
    return [];
  }
  const folders = new Map<string, Set<string>>();
  for (const entry of entries) {
    const name = path.basename(entry);
    if (name !== BEST && name !== LATEST) continue;
    const folder = path.join(ROOT, path.dirname(entry));
    folders.set(folder, (folders.get(folder) ?? new Set()).add(name));
  }
  const runs: Run[] = [];
  for (const [folder, names] of folders) {
    const file = path.join(folder, names.has(BEST) ? BEST : LATEST);
    const stat = await fs.stat(file).catch(() => null);
    if (stat?.isFile()) runs.push({ file, mtime: stat.mtimeMs, hasBest: names.has(BEST), fromStdin: folder === STDIN_RUN });
  }
  return runs;
}
