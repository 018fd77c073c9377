import { defineConfig } from 'vitest/config';

// The CLI tests train real models in child processes; on a busy two-core machine one test can take far
// longer than vitest's default 5 s, so no test may fail for being slow.
export default defineConfig({ test: { testTimeout: 300_000, hookTimeout: 300_000 } });
