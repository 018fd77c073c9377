// Bundles the command line (src/cli/main.ts and everything it imports, its packages included) with esbuild,
// at `npm run build`, into dist/cli-bundle/: main.js and one chunk per command, which main.js imports
// only when a run names that command. Node then reads a few files at start instead of hundreds (zod alone
// is 225 modules): every `charnn` process starts about 0.1–0.2 s of CPU sooner. bin/charnn.js runs it.
// The library (dist/index.js) and the training threads (dist/train/worker.js) stay as tsc builds them.
// The bundle's files sit two folders below the package root, as src/cli/'s do, so that their
// `new URL('../../build/…', import.meta.url)` still find the kernels, the assets and the worker.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * `import process from 'node:process'` (chalk, ora and their helpers) made into the global `process`.
 * Node gives an ES module import of a built-in module every export's value, so that import alone created
 * process.stdin, a stream no command needs unless it reads standard input: about 10 ms of every start.
 * Only the default import is handled: a package that imports a name from it fails the build here.
 */
const globalProcess = {
  name: 'global-process',
  setup(build) {
    build.onResolve({ filter: /^(node:)?process$/ }, (args) => (args.kind === 'import-statement' ? { path: 'process', namespace: 'global-process' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'global-process' }, () => ({ contents: 'export default process;', loader: 'js' }));
  },
};

/**
 * commander's `require('node:child_process')`, loaded when it first spawns. It spawns only for a subcommand
 * kept in an executable of its own, which charnn has none of; loading child_process (and the modules it
 * loads) cost about 10 ms of every start.
 */
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(build) {
    build.onResolve({ filter: /^node:child_process$/ }, (args) => (args.kind === 'require-call' && /[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'lazy-child-process' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'lazy-child-process' }, () => ({
      contents: "let loaded; module.exports = { spawn: (...args) => (loaded ??= require('node:child_process')).spawn(...args) };", loader: 'js',
    }));
  },
};

const outdir = path.join(root, 'dist/cli-bundle');
// Chunks are named by their content hash: without this, every build would leave the last one's behind.
fs.rmSync(outdir, { recursive: true, force: true });

await esbuild.build({
  entryPoints: [path.join(root, 'src/cli/main.ts')],
  outdir,
  bundle: true, splitting: true, format: 'esm', platform: 'node', target: ['node20'],
  chunkNames: '[name]-[hash]',
  // Packages written as CommonJS (commander) call require: give the ES module bundle one.
  banner: { js: "import { createRequire as __charnnRequire } from 'node:module'; const require = __charnnRequire(import.meta.url);" },
  plugins: [globalProcess, lazyChildProcess],
  logLevel: 'warning', legalComments: 'none',
});
