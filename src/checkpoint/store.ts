import fs from 'fs-extra';
import path from 'node:path';
import { fileProblem, writeFileAtomic } from '../util/atomic-file.js';
import { RuntimeFailure, UsageError } from '../util/errors.js';
import { parseCheckpoint, serializeCheckpoint, type Checkpoint } from './format.js';

export const LATEST = 'latest.json';
export const BEST = 'best.json';

/**
 * Writes a checkpoint to each file in turn, each atomically (see writeFileAtomic): a crash, a full disk
 * or Ctrl-C never leaves a half-written checkpoint, and a file that could not be written keeps its
 * previous checkpoint. A failure is a RuntimeFailure naming the folder and the cause.
 */
export async function saveCheckpoint(files: string | readonly string[], ckpt: Checkpoint): Promise<void> {
  const text = Buffer.from(serializeCheckpoint(ckpt), 'utf8');
  for (const file of typeof files === 'string' ? [files] : files) {
    const folder = path.dirname(file);
    try {
      await fs.ensureDir(folder);
      writeFileAtomic(file, text);
    } catch (err) {
      throw new RuntimeFailure(`could not save ${path.basename(file)} in ${folder}: ${writeFailure(err as NodeJS.ErrnoException, folder, text.length)}; ` +
        `the previous checkpoint there is intact`);
    }
  }
}

/** The cause of a failed write, in words; for a full disk, how much space the checkpoint needs. */
function writeFailure(err: NodeJS.ErrnoException, folder: string, bytes: number): string {
  if (err.code === 'ENOSPC' || err.code === 'EDQUOT') {
    let free = '';
    try {
      const stats = fs.statfsSync(folder);
      free = `, ${bytesInWords(stats.bavail * stats.bsize)} free`;
    } catch {
      // The figure is a courtesy; the message stands without it.
    }
    return `the disk is full (${err.code}): the checkpoint needs ${bytesInWords(bytes)}${free} — free some space or use another --checkpoint-dir`;
  }
  return fileProblem(err);
}

/** 61234 → "61.2 kB", 8.4e10 → "84.0 GB". */
function bytesInWords(bytes: number): string {
  const [unit, size] = bytes >= 1e9 ? ['GB', 1e9] : bytes >= 1e6 ? ['MB', 1e6] : ['kB', 1e3];
  return `${(bytes / size).toFixed(1)} ${unit}`;
}

export async function loadCheckpoint(file: string): Promise<Checkpoint> {
  let text: string;
  try {
    const stat = await fs.stat(file);
    if (stat.isDirectory()) {
      const hint = (await fs.pathExists(path.join(file, BEST))) ? `; did you mean ${path.join(file, BEST)}?` : '';
      throw new UsageError(`${file} is a directory, not a checkpoint file${hint}`);
    }
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`no checkpoint at ${file} — check the path`);
    throw new UsageError(`cannot read checkpoint ${file}: ${(err as Error).message}`);
  }
  return parseCheckpoint(text, file);
}

/** The most recently written file called `name` anywhere under `root`, or null. */
export async function findNewest(root: string, name: string): Promise<string | null> {
  let newest: { file: string; mtime: number } | null = null;
  for (const found of await findAll(root, name)) if (!newest || found.mtime > newest.mtime) newest = found;
  return newest?.file ?? null;
}

/** Every file called `name` under `root` (at most four folders down), sorted by path, with when it was written. */
export async function findAll(root: string, name: string): Promise<{ file: string; mtime: number }[]> {
  const found: { file: string; mtime: number }[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries: fs.Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && depth < 4) await walk(full, depth + 1);
      else if (entry.isFile() && entry.name === name) found.push({ file: full, mtime: (await fs.stat(full)).mtimeMs });
    }
  };
  await walk(root, 0);
  return found.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}
