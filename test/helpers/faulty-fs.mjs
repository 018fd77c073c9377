// Preloaded with `node --import` into the real CLI to make checkpoint writes fail the way disks do.
// FAULT=short-write: every write takes at most 777 bytes (the kernel may do that; a correct writer loops).
// FAULT=enospc: after FAULT_AFTER checkpoint (or corpus index) files were written, the next one gets half its bytes
// written, then ENOSPC (a disk that fills up in the middle of a checkpoint).
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const fault = process.env.FAULT;
let allowed = Number(process.env.FAULT_AFTER ?? 0);
const checkpointFds = new Set();
const { openSync, writeSync, closeSync } = fs;

fs.openSync = function (file, ...rest) {
  const fd = openSync.call(this, file, ...rest);
  if (/((latest|best)\.json|corpus\.index)\.\d+\.tmp$/.test(String(file))) checkpointFds.add(fd);
  return fd;
};
fs.closeSync = function (fd) {
  if (checkpointFds.delete(fd) && fault === 'enospc') allowed--;
  return closeSync.call(this, fd);
};
fs.writeSync = function (fd, buffer, offset, length, ...rest) {
  if (checkpointFds.has(fd) && typeof buffer !== 'string') {
    if (fault === 'short-write') return writeSync.call(this, fd, buffer, offset, Math.min(length, 777), ...rest);
    if (fault === 'enospc' && allowed <= 0) {
      if (offset === 0) return writeSync.call(this, fd, buffer, offset, Math.ceil(length / 2), ...rest);
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    }
  }
  return writeSync.call(this, fd, buffer, offset, length, ...rest);
};
syncBuiltinESMExports();
