// Bundles the command line (src/cli/main.ts and everything it imports, its packages included) with esbuild,
// at `npm run build`, into one CommonJS script, dist/cli-bundle/main.cjs, then makes its V8 code cache
// (main.cjs.cache) with one short training run. bin/charnn.js runs it through src/cli/launch.ts, which
// compiles it with that cache: Node 20 keeps no code cache for ES modules. Node then reads two files at
// start instead of hundreds (zod alone is 225 modules) and skips most of the compiling: every `charnn`
// process starts about 0.2 s of CPU sooner than from the unbundled build, 0.03–0.05 s of it the cache's.
// The library (dist/index.js) and the training threads (dist/train/worker.js) stay as tsc builds them.
// The bundle sits two folders below the package root, as src/cli/'s files do, so that their
// `new URL('../../build/…', import.meta.url)` still find the kernels, the assets and the worker.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
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
const bundle = path.join(outdir, 'main.cjs');
// The folder is emptied first: a cache is never left beside a bundle it was not made from.
fs.rmSync(outdir, { recursive: true, force: true });

const built = await esbuild.build({
  entryPoints: [path.join(root, 'src/cli/main.ts')],
  outfile: bundle, write: false,
  bundle: true, format: 'cjs', platform: 'node', target: ['node20'],
  // Every import() made a require: the commands load only when run, as before, but within the one script,
  // and vm.Script (launch.ts) could not run an import() on Node 20 without a flag.
  supported: { 'dynamic-import': false },
  // import.meta.url, from the script's own path (vm.Script runs it as CommonJS).
  define: { 'import.meta.url': '__charnnImportMetaUrl' },
  banner: { js: "var __charnnImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [globalProcess, lazyChildProcess],
  logLevel: 'warning', legalComments: 'none',
});
const code = built.outputFiles[0].text;
if (/\bimport\(/.test(code.replace(/(["'`]).*?\1/g, ''))) throw new Error('the command-line bundle still holds an import(), which launch.ts cannot run');
// The first line names the build, so that launch.ts uses a cache only beside the bundle it was made from.
const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
fs.mkdirSync(outdir, { recursive: true });
fs.writeFileSync(bundle, `// charnn cli ${hash}\n${code}`);

// The cache: a run with none writes one when it ends (launch.ts). A short training run on the project's own
// text, which also saves, evaluates and samples, compiles the functions most commands run.
const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'charnn-cache-'));
try {
  const run = spawnSync(process.execPath, [path.join(root, 'bin/charnn.js'), 'train', path.join(root, 'corpora/lighthouse.txt'),
    '--layers', '1', '--hidden', '8', '--seq-length', '16', '--batch-size', '4', '--max-iters', '4', '--eval-every', '2',
    '--sample-every', '2', '--threads', '1', '--no-index', '--checkpoint-dir', path.join(temp, 'checkpoints')],
  { cwd: temp, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  if (run.status !== 0 || !fs.existsSync(`${bundle}.cache`)) {
    console.warn(`cli-bundle: no code cache made (the command line starts without one): ${(run.stderr || run.error?.message || '').trim().split('\n').pop()}`);
  }
} finally {
  fs.rmSync(temp, { recursive: true, force: true });
}
