import fs from 'node:fs';
import path from 'node:path';

/**
 * A write that either fully happens or does not happen at all, as git and SQLite do it: the data goes to
 * a temp file in the same folder (every byte, looping over short writes), is flushed to the disk, then
 * renamed over the target, and the folder is flushed so the rename itself survives a power cut. On any
 * error the temp file is removed and the target is untouched; the error is rethrown.
 *
 * Temp files are named `<name>.<pid>.tmp`, so a later run can tell a leftover of a killed process (its
 * PID is gone) from one being written right now (see removeStaleTempFiles).
 */
export function writeFileAtomic(file: string, data: string | Uint8Array | readonly Uint8Array[]): void {
  const parts = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
  const temp = tempFileName(file);
  let fd: number | null = null;
  try {
    fd = fs.openSync(temp, 'w', 0o644);
    for (const bytes of parts) {
      for (let written = 0; written < bytes.length;) {
        // At most 1 GiB a call: one write cannot take more than 2 GiB.
        const n = fs.writeSync(fd, bytes, written, Math.min(bytes.length - written, 1 << 30));
        // A regular file never takes 0 bytes of a non-empty write; do not spin if one does.
        if (n <= 0) throw Object.assign(new Error(`write returned ${n} at byte ${written} of ${bytes.length}`), { code: 'EIO' });
        written += n;
      }
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(temp, file);
  } catch (err) {
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw err;
  }
  syncFolder(path.dirname(file));
}

function tempFileName(file: string): string {
  return `${file}.${process.pid}.tmp`;
}

const TEMP_FILE = /^(.+)\.(\d+)\.tmp$/;

/** Removes the temp files in `folder` left by processes that no longer run; returns their names. */
export function removeStaleTempFiles(folder: string): string[] {
  const removed: string[] = [];
  for (const name of fs.readdirSync(folder)) {
    const match = TEMP_FILE.exec(name);
    if (!match || processIsAlive(Number(match[2]))) continue;
    fs.rmSync(path.join(folder, name), { force: true });
    removed.push(name);
  }
  return removed;
}

/** Flushes a folder's entries (a rename, a new file) to the disk. */
function syncFolder(folder: string): void {
  const fd = fs.openSync(folder, 'r');
  try {
    fs.fsyncSync(fd);
  } catch (err) {
    // Some file systems cannot fsync a folder; the rename has happened all the same.
    if (!['EINVAL', 'EISDIR', 'ENOTSUP', 'EBADF'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether a process with this PID runs on this machine (EPERM: it does, as another user). */
export function processIsAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A file system error in words. */
export function fileProblem(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EROFS': return 'the file system is read-only';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EEXIST': case 'ENOTDIR': return 'a file is in the way (it, or a folder above it, is not a folder)';
    case 'ENOSPC': case 'EDQUOT': return 'the disk is full';
    default: return err.message;
  }
}
