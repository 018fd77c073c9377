import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import vm from 'node:vm';

/**
 * How bin/charnn.js starts the command line: from its bundle (dist/cli-bundle/main.cjs, made by
 * scripts/cli-bundle.mjs: src/cli and its packages in one CommonJS script), compiled with V8's code cache.
 *
 * A code cache is V8's compiled form of a script, so a start skips parsing the bundle and compiling the
 * functions the cached run used. Node 20 keeps none for ES modules (Node 22 has module.enableCompileCache),
 * so the bundle is a script compiled here through vm.Script, the API that takes and makes a cache. The build
 * makes the cache with one short training run (its first run with no cache writes one); a run whose Node
 * rejects the cache (another V8) compiles the source and, where it may write, replaces the cache.
 * Measured against the ES-module bundle before it (scripts/cli-start-time.mjs, BENCHMARKS.md "Starting
 * the command line"): `info` 0.22 → 0.18 s of CPU, `sample` 0.28 → 0.24, a short `train` 0.40 → 0.34.
 *
 * Only this file and the bundle's own code run in the CLI process before a command: this file imports
 * nothing of charnn's.
 */
export const BUNDLE = fileURLToPath(new URL('../../dist/cli-bundle/main.cjs', import.meta.url));

/** The bundle's first line, `// charnn cli <hash of the rest>`: a cache is used only beside the build it was made from. */
const ID = /^\/\/ charnn cli [0-9a-f]+$/;

/** The command line, loaded. */
export interface Cli {
  /** Runs a command line (`process.argv`'s shape) and returns its exit code. */
  main(argv: string[]): Promise<number>;
  /** How the bundle was compiled: from its cache, or without (none there, or one V8 refused). */
  readonly cache: 'used' | 'absent' | 'rejected';
  /** Writes the cache when this run had none it could use; false when it did not (nothing to do, or read-only). */
  save(): boolean;
}

/** The bundle `bundle` (the built one by default), compiled with its cache `bundle.cache` where that fits. */
export function loadCli(bundle = BUNDLE): Cli {
  // A code cache is checked against V8's flags when it is made and when it is used. charnn sets one flag
  // (for the wasm kernels' relaxed SIMD, src/kernels/wasm-file.ts), in some runs only: set it first in all.
  setFlagsFromString('--experimental-wasm-relaxed-simd');
  const source = fs.readFileSync(bundle, 'utf8');
  const id = source.slice(0, source.indexOf('\n'));
  if (!ID.test(id)) throw new Error(`${bundle} is not charnn's command-line bundle`);
  const cacheFile = `${bundle}.cache`;
  const header = Buffer.from(`${id}\n`, 'latin1');
  const cachedData = readCache(cacheFile, header);
  // The CommonJS wrapper, on the first line so that stack traces keep the bundle's line numbers.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: bundle, cachedData });
  const cache = cachedData === undefined ? 'absent' : script.cachedDataRejected ? 'rejected' : 'used';
  const module = { exports: {} as { main(argv: string[]): Promise<number> } };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, path.dirname(bundle));
  return {
    main: (argv) => module.exports.main(argv),
    cache,
    save() {
      if (cache === 'used' || !writable(path.dirname(bundle))) return false;
      // Written whole under another name, then renamed: a run starting meanwhile reads the old file or the new.
      const temp = `${cacheFile}.${process.pid}.tmp`;
      try {
        fs.writeFileSync(temp, Buffer.concat([header, script.createCachedData()]));
        fs.renameSync(temp, cacheFile);
        return true;
      } catch {
        fs.rmSync(temp, { force: true });
        return false;
      }
    },
  };
}

/** The cache in `file` when it starts with `header` (it was made from this build), else undefined. */
function readCache(file: string, header: Buffer): Buffer | undefined {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  return data.subarray(0, header.length).equals(header) ? data.subarray(header.length) : undefined;
}

function writable(folder: string): boolean {
  try {
    fs.accessSync(folder, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
