import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Loads the native addon, build/charnn.node, once (scripts/build-native.mjs builds it): the kernels
 * (src/kernels/native.ts) and the corpus index's suffix sorter (src/data/suffix-array.ts) both call it, and
 * kernels and data are siblings, so its one loader is here below both. The browser bundle replaces this
 * module with one that has no addon (scripts/export-bundle.mjs).
 * CHARNN_NATIVE_ADDON names another file to load instead: the tests point it at a missing file to check
 * the fallback to wasm.
 */
/**
 * The entries this loader and src/data call; src/kernels/native.ts's Addon extends it with the kernels'.
 * suffixArray is there only when the addon was built with libdivsufsort (build/native-build.txt says).
 */
export interface NativeAddon {
  setBlasThreads(threads: number): void;
  /** The suffix array of text into sa (of text's length): byte order, a suffix that is a prefix of another first. */
  suffixArray?: (text: Uint8Array, sa: Int32Array) => void;
}

// The same relative path from src/util/ (tests) and from dist/util/ (the built package).
const ADDON_URL = new URL('../../build/charnn.node', import.meta.url);
/** What the build script wrote: "built …", or why it did not build. */
const BUILD_STATUS_URL = new URL('../../build/native-build.txt', import.meta.url);

let loaded: NativeAddon | Error | undefined;

/** Why the default addon is missing: the build's own reason when it wrote one. */
function notBuiltReason(): string {
  try {
    const status = fs.readFileSync(BUILD_STATUS_URL, 'utf8').trim();
    if (status && !status.startsWith('built')) return status;
  } catch {
    // no status: the build never ran
  }
  return `${fileURLToPath(ADDON_URL)} is missing (npm run build:native)`;
}

/** The addon, or why it does not load here. */
export function loadAddon(): NativeAddon | Error {
  if (loaded !== undefined) return loaded;
  const override = process.env.CHARNN_NATIVE_ADDON;
  const file = override || fileURLToPath(ADDON_URL);
  if (!override && !fs.existsSync(file)) return (loaded = new Error(notBuiltReason()));
  try {
    const addon = createRequire(import.meta.url)(file) as NativeAddon;
    // One BLAS thread per calling thread: charnn's own worker threads share the cores out, and a product
    // split over threads that then wait on each other lost at every size measured (BENCHMARKS.md,
    // "Native backend"), one-row products (sampling, serving) most of all.
    addon.setBlasThreads(1);
    loaded = addon;
  } catch (error) {
    const first = (error as Error).message.split('\n')[0];
    loaded = new Error(override ? `CHARNN_NATIVE_ADDON=${override} does not load (${first})` : `the addon does not load (${first}): npm run build:native`);
  }
  return loaded;
}
