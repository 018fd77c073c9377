#!/usr/bin/env node
// Builds the native kernels (native/charnn.c) into build/charnn.node, part of `npm run build` and so of
// `npm install`/`npm ci` (prepare). It never fails: without a C compiler or the system's BLAS it prints one
// line and charnn runs on its WebAssembly kernels. Either way build/native-build.txt records the outcome
// (src/util/native-addon.ts shows it as the reason when the addon is missing), and whether the addon has
// libdivsufsort, the corpus index's fast suffix sorter (src/data/suffix-array.ts; without it the index is
// built by the slower SA-IS in TypeScript).
//
// The compiler is called directly rather than through node-gyp: the Node-API headers come with Node
// itself (<prefix>/include/node beside <prefix>/bin/node), so nothing is downloaded.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'native/charnn.c');
const output = path.join(root, 'build/charnn.node');
const status = path.join(root, 'build/native-build.txt');
const APT = 'apt-get install -y libopenblas-dev';
const DIVSUFSORT_APT = 'apt-get install -y libdivsufsort-dev';

/** Where node_api.h is: beside this Node, or under npm's configured nodedir. */
function nodeIncludeDir() {
  const candidates = [path.resolve(path.dirname(process.execPath), '../include/node')];
  if (process.env.npm_config_nodedir) candidates.push(path.join(process.env.npm_config_nodedir, 'include/node'));
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'node_api.h')));
}

/**
 * The compiler and its arguments for this platform. -ffp-contract=off: a·b + c rounds twice, as in the
 * wasm and TypeScript kernels (the BLAS still fuses); with fused element-wise kernels a finite-difference
 * check of the LSTM (test/gradcheck.test.ts) drifted past its tolerance on one weight.
 * -fno-trapping-math lets the selects in exp and tanh vectorize (nothing here reads FP exception flags).
 */
function command(include, divsufsort) {
  const cc = process.env.CC || 'cc';
  // Libraries after the source that uses them: a linker with --as-needed drops one named before.
  const sorter = divsufsort ? ['-DCHARNN_DIVSUFSORT', '-ldivsufsort'] : [];
  const common = ['-std=gnu11', '-O3', '-fno-trapping-math', '-ffp-contract=off', '-fPIC', '-shared', '-Wall', `-I${include}`, source, ...sorter, '-o', output];
  if (process.platform === 'darwin') {
    const tune = os.arch() === 'arm64' ? '-mcpu=native' : '-march=native';
    return [cc, [...common, tune, '-undefined', 'dynamic_lookup', '-framework', 'Accelerate']];
  }
  return [cc, [...common, '-march=native', '-lopenblas', '-lm']];
}

/** Why the compiler failed, in a few words a user can act on. */
function reasonOf(result, cc) {
  if (result.error) return `no C compiler (${cc}: ${result.error.code ?? result.error.message})`;
  const text = `${result.stderr}`;
  if (/cblas\.h|-lopenblas|openblas/i.test(text)) return `the system's BLAS is missing (${APT})`;
  const first = text.split('\n').find((line) => /error/i.test(line)) ?? text.split('\n')[0];
  return `${cc} failed: ${first.trim()}`;
}

/** Whether a program that calls libdivsufsort compiles and links here (its header is under a multiarch folder on Debian). */
function hasDivsufsort() {
  const probe = path.join(os.tmpdir(), `charnn-divsufsort-probe-${process.pid}`);
  const program = '#include <divsufsort.h>\nint main(void) { unsigned char t[1] = {0}; int sa[1]; return divsufsort(t, sa, 1); }\n';
  const result = spawnSync(process.env.CC || 'cc', ['-x', 'c', '-', '-o', probe, '-ldivsufsort'], { input: program, encoding: 'utf8' });
  fs.rmSync(probe, { force: true });
  return result.status === 0 && !result.error;
}

function build(divsufsort) {
  const include = nodeIncludeDir();
  if (!include) return `the Node-API headers are missing (no include/node beside ${process.execPath})`;
  const [cc, args] = command(include, divsufsort);
  const result = spawnSync(cc, args, { encoding: 'utf8' });
  if (result.status === 0 && !result.error) return null;
  fs.rmSync(output, { force: true });
  return reasonOf(result, cc);
}

fs.mkdirSync(path.dirname(output), { recursive: true });
const divsufsort = hasDivsufsort();
const reason = build(divsufsort);
const sorter = divsufsort ? 'with libdivsufsort for the corpus index' : `without libdivsufsort (the corpus index uses SA-IS in TypeScript, slower: ${DIVSUFSORT_APT})`;
fs.writeFileSync(status, reason ? `${reason}\n` : `built ${path.relative(root, output)}, ${sorter}\n`);
if (reason) console.error(`charnn: native backend not built: ${reason}; charnn will use its WebAssembly kernels`);
