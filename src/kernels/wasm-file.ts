import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { fileURLToPath } from 'node:url';

// The same relative path from src/kernels/ (tests) and from dist/kernels/ (the built package).
const WASM_URLS = {
  plain: new URL('../../build/kernels.wasm', import.meta.url),
  relaxed: new URL('../../build/kernels-relaxed.wasm', import.meta.url),
};

/**
 * The bytes of the WebAssembly kernels (built by `npm run build`), or why there are none: `plain` SIMD, or
 * the same kernels built with relaxed SIMD (the GEMM's fused multiply-add), which Node 20 compiles only
 * behind a V8 flag, set here. Node reads them from disk; the browser bundle replaces this module with one
 * that holds the plain bytes inline and returns them for both.
 */
export function wasmBytes(variant: 'plain' | 'relaxed' = 'plain'): Uint8Array<ArrayBuffer> | Error {
  if (variant === 'relaxed') setFlagsFromString('--experimental-wasm-relaxed-simd');
  const url = WASM_URLS[variant];
  try {
    return readFileSync(url);
  } catch {
    return new Error(`${fileURLToPath(url)} is missing: run npm run build`);
  }
}
