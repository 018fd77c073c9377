import { defineConfig } from 'vitest/config';

// The suite must pass on a loaded 2-core machine: tests run the real CLI, whose speed varies tenfold
// with the load, so timeouts are generous and no test asserts anything about speed.
export default defineConfig({
  test: {
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
