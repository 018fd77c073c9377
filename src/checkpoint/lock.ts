import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileProblem, processIsAlive, removeStaleTempFiles, writeFileAtomic } from '../util/atomic-file.js';
import { UsageError } from '../util/errors.js';

export const LOCK = 'charnn.lock';
const PROBE = '.charnn-probe';

interface Owner {
  pid: number;
  host: string;
  started: string;
}

export interface FolderLock {
  readonly file: string;
  /** What taking the lock found and cleaned up (a lock or temp files of a run that is gone), or null. */
  readonly note: string | null;
  /** Removes the lock; also done when the process exits, however it exits short of a kill -9. */
  release(): void;
}

/**
 * Makes sure `folder` can hold checkpoints and takes it for one training run: creates it, takes a lock
 * file holding this process's PID, host and start time (created exclusively, so of two runs started
 * together one wins), then writes and removes a probe the way checkpoints are written. A lock whose
 * process is gone (kill -9, power cut) is taken over; temp files of dead processes are removed.
 * Every problem is one UsageError line, before any training.
 */
export function lockCheckpointFolder(folder: string): FolderLock {
  const unusable = (err: unknown): never => {
    throw new UsageError(`cannot use ${folder} as the checkpoint folder: ${fileProblem(err as NodeJS.ErrnoException)}; use another --checkpoint-dir`);
  };
  const file = path.join(folder, LOCK);
  const me: Owner = { pid: process.pid, host: os.hostname(), started: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
  const notes: string[] = [];
  let created: string | undefined;
  try {
    created = fs.mkdirSync(folder, { recursive: true });
  } catch (err) {
    unusable(mkdirProblem(folder, err as NodeJS.ErrnoException));
  }
  try {
    for (let attempt = 0; !createExclusively(file, JSON.stringify(me) + '\n'); attempt++) {
      const owner = readOwner(file);
      if (owner === undefined) continue; // it went away between the two calls
      if (owner !== null && (owner.host !== me.host || processIsAlive(owner.pid)) || attempt > 2) {
        const who = owner === null ? 'another process' : `PID ${owner.pid}${owner.host !== me.host ? ` on ${owner.host}` : ''}, started ${owner.started}`;
        const elsewhere = owner !== null && owner.host !== me.host ? `; if that run is gone, remove ${file}` : '';
        throw new UsageError(`${folder} is in use by charnn (${who}); wait for it or use another --checkpoint-dir${elsewhere}`);
      }
      if (takeOver(file, owner)) notes.push(`took over ${file} from a run that is gone (${owner === null ? 'unreadable lock' : `PID ${owner.pid}, started ${owner.started}`})`);
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    unusable(err);
  }
  const release = () => {
    const owner = readOwner(file);
    if (owner && owner.pid === me.pid && owner.started === me.started && owner.host === me.host) fs.rmSync(file, { force: true });
    process.off('exit', release);
    // The folders this run created, left empty (it stopped before its first checkpoint), go again.
    const top = created !== undefined ? path.resolve(created) : null;
    for (let dir = path.resolve(folder); top !== null && !path.relative(top, dir).startsWith('..'); dir = path.dirname(dir)) {
      try {
        fs.rmdirSync(dir);
      } catch {
        break;
      }
      if (dir === top) break;
    }
  };
  process.on('exit', release);
  try {
    writeFileAtomic(path.join(folder, PROBE), 'charnn checks it can write here\n');
    fs.rmSync(path.join(folder, PROBE));
    const stale = removeStaleTempFiles(folder);
    if (stale.length > 0) notes.push(`removed ${stale.length} temp file(s) left by runs that were killed: ${stale.join(', ')}`);
  } catch (err) {
    release();
    unusable(err);
  }
  return { file, note: notes.length > 0 ? notes.join('; ') : null, release };
}

/**
 * Creates `file` with `content` only if it does not exist, all at once: the content goes to a temp file
 * that is then hard-linked to the name (link fails if the name exists), so no one ever reads a half-written lock.
 */
function createExclusively(file: string, content: string): boolean {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, content);
    fs.linkSync(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** The lock's owner; null when the lock cannot be read as one; undefined when there is no lock. */
function readOwner(file: string): Owner | null | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const owner = JSON.parse(text) as Owner;
    return Number.isSafeInteger(owner.pid) && typeof owner.host === 'string' && typeof owner.started === 'string' ? owner : null;
  } catch {
    return null;
  }
}

/**
 * Removes a dead run's lock. It is first renamed aside, which only one of several starting runs can do;
 * if what was renamed is no longer that dead run's lock (another run took over meanwhile), it goes back.
 */
function takeOver(file: string, dead: Owner | null): boolean {
  const aside = `${file}.${process.pid}.tmp`;
  try {
    fs.renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  const moved = readOwner(aside);
  if (JSON.stringify(moved) !== JSON.stringify(dead)) {
    try {
      fs.linkSync(aside, file);
    } catch {
      // Yet another run holds the name now; the loop reports it as in use.
    }
    fs.rmSync(aside, { force: true });
    return false;
  }
  fs.rmSync(aside, { force: true });
  return true;
}

/**
 * A recursive mkdir reports ENOENT for a folder it cannot make on a read-only file system; making the
 * first missing folder alone gives the real reason (EROFS, EACCES).
 */
function mkdirProblem(folder: string, err: NodeJS.ErrnoException): NodeJS.ErrnoException {
  if (err.code !== 'ENOENT') return err;
  let missing = path.resolve(folder);
  while (!fs.existsSync(path.dirname(missing)) && path.dirname(missing) !== missing) missing = path.dirname(missing);
  try {
    fs.mkdirSync(missing);
    fs.rmdirSync(missing);
  } catch (real) {
    return real as NodeJS.ErrnoException;
  }
  return err;
}
