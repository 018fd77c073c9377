import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The same relative path from src/kernels/ (tests) and from dist/kernels/ (the built package).
const WASM_URL = new URL('../../build/kernels.wasm', import.meta.url);

/**
 * The bytes of the WebAssembly kernels (built by `npm run build`), or why there are none. Node reads them
 * from disk; the browser bundle replaces this module with src/web/wasm-inline.ts, which holds them inline.
 */
export function wasmBytes(): Uint8Array<ArrayBuffer> | Error {
  try {
    return readFileSync(WASM_URL);
  } catch {
    return new Error(`${fileURLToPath(WASM_URL)} is missing: run npm run build`);
  }
}
