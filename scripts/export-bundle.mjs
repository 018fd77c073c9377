// Bundles the browser entry of charnn (src/web/) with esbuild, at `npm run build`, into dist/bundle/:
//   web.js     the ES module `charnn/web` (package.json exports)
//   module.js  the body of the module `charnn export --format module` writes (after `const CHARNN_MODEL = …`)
//   page.js    the script of the page `charnn export` writes (a classic script: it runs from file://)
// The kernels' WebAssembly goes inline, and the Node-only modules the shared code reaches are swapped
// (see `browser` below); any other Node import fails the build, so the bundles hold none.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Module source (by the end of its import path) → what the browser gets instead. */
const swaps = {
  // src/kernels/wasm-file.ts reads build/kernels.wasm from disk: here the bytes are part of the bundle.
  '/wasm-file.js': `import bytes from ${JSON.stringify(path.join(root, 'build/kernels.wasm'))};
    export function wasmBytes() { return bytes; }`,
  // src/util/native-addon.ts loads a Node addon: browsers have none, and run wasm or js.
  '/native-addon.js': `export function loadAddon() { return new Error('a browser has no native kernels'); }`,
  // src/sample/sampler.ts's sample(path) helper reads a checkpoint file, and its Sampler builds a model
  // from a Checkpoint: in the browser, models come from a PackedModel (src/web/pack.ts) instead.
  '/checkpoint/store.js': `export function loadCheckpoint() { throw new Error('charnn/web cannot read checkpoint files: use charnn export'); }`,
  '/checkpoint/weights.js': `export function modelFromCheckpoint() { throw new Error('charnn/web builds models from a packed model: use WebModel.open'); }`,
};

const browser = {
  name: 'charnn-browser',
  setup(build) {
    build.onResolve({ filter: /\/(wasm-file|native-addon|checkpoint\/store|checkpoint\/weights)\.js$/ }, (args) => {
      if (!args.importer.startsWith(path.join(root, 'src'))) return undefined;
      const swap = Object.keys(swaps).find((end) => args.path.endsWith(end));
      return { path: swap, namespace: 'charnn-browser' };
    });
    build.onLoad({ filter: /.*/, namespace: 'charnn-browser' }, (args) => ({ contents: swaps[args.path], loader: 'js', resolveDir: root }));
    build.onResolve({ filter: /^(node:|fs-extra$|fs$|path$|os$|url$|crypto$|worker_threads$)/ }, (args) => ({
      errors: [{ text: `the browser bundle must not import ${args.path} (imported by ${path.relative(root, args.importer)})` }],
    }));
  },
};

const common = {
  bundle: true, minify: true, platform: 'browser', target: ['es2022'], loader: { '.wasm': 'binary' },
  plugins: [browser], logLevel: 'warning', legalComments: 'none',
};
await Promise.all([
  esbuild.build({ ...common, entryPoints: [path.join(root, 'src/web/index.ts')], format: 'esm', outfile: path.join(root, 'dist/bundle/web.js') }),
  esbuild.build({ ...common, entryPoints: [path.join(root, 'src/web/module.ts')], format: 'esm', outfile: path.join(root, 'dist/bundle/module.js') }),
  esbuild.build({ ...common, entryPoints: [path.join(root, 'src/web/page.ts')], format: 'iife', outfile: path.join(root, 'dist/bundle/page.js') }),
]);
