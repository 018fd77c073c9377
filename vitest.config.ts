import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// The suite must pass on a loaded 2-core machine: tests run the real CLI, whose speed varies tenfold
// with the load, so timeouts are generous and no test asserts anything about speed.
export default defineConfig({
  test: {
    // Brings dist/ and build/ up to date (only what changed) before any test runs the built code.
    globalSetup: ['test/helpers/build.ts'],
    // Removes each test file's temporary folders after its tests (tempDir).
    setupFiles: ['test/helpers/cleanup.ts'],
    // Test files run side by side, two more than the cores: most of a test's time is a CLI process starting
    // or training, and the others fill the moments when two wait (four CLI test files on the shared 2-core
    // machine, load average 12-14: one file at a time 211 s, two 177 s, three 121 s; the whole suite, quiet:
    // three 178.8 s, four 177.2 s).
    maxWorkers: availableParallelism() + 2,
    minWorkers: 1,
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
