import fs from 'fs-extra';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { UsageError } from '../util/errors.js';
import { parseCheckpoint, serializeCheckpoint, type Checkpoint } from './format.js';

export const LATEST = 'latest.json';
export const BEST = 'best.json';

/**
 * Writes a checkpoint atomically: a temp file in the same folder, fsynced, then renamed over the old
 * one, so a crash or Ctrl-C never leaves a half-written checkpoint.
 */
export async function saveCheckpoint(file: string, ckpt: Checkpoint): Promise<void> {
  await fs.ensureDir(path.dirname(file));
  await writeFileAtomic(file, serializeCheckpoint(ckpt), { fsync: true });
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
      else if (entry.isFile() && entry.name === name) {
        const mtime = (await fs.stat(full)).mtimeMs;
        if (!newest || mtime > newest.mtime) newest = { file: full, mtime };
      }
    }
  };
  await walk(root, 0);
  return (newest as { file: string } | null)?.file ?? null;
}
