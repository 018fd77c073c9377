import fs from 'node:fs';
import { afterAll } from 'vitest';
import { tempDirs } from './cli.js';

/**
 * Run before every test file (vitest's setupFiles): after the file's last test, and after its own
 * afterAll hooks (a file's servers stopped, its tmpfs unmounted), the temporary folders it made with
 * tempDir are removed. Before, a run of the suite left some 80 folders (about 50 MB) in the system's
 * temporary folder, and every run added as many.
 */
afterAll(() => {
  for (const dir of tempDirs.splice(0)) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // A folder still in use (a mount that would not go): left for the system to clean.
    }
  }
});
