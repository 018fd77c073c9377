import { defineConfig } from 'vitest/config';

// The suite must pass on a loaded 2-core machine: tests run the real CLI, whose speed varies tenfold
// with the load, so timeouts are generous and no test asserts anything about speed.
export default defineConfig({
  test: {
    // Brings dist/ and build/ up to date (only what changed) before any test runs the built code.
    globalSetup: ['test/helpers/build.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
