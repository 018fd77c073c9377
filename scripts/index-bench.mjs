#!/usr/bin/env node
// Measures the corpus index (the suffix array behind sample --copies and --max-copy), as BENCHMARKS.md
// quotes: for each size, builds a corpus in a temp folder from a text's lines in a seeded random order
// (so that it repeats no more than a real text of that size would: lines, not whole copies), trains one
// iteration on it without an index, then runs `charnn index` under /usr/bin/time -v with each suffix-array
// builder and reports the wall time, the CPU time, the peak resident memory and the index's bytes per
// character. The builders: native (libdivsufsort in the addon; build/native-build.txt says whether it has
// it) and sais (the TypeScript SA-IS, with the addon made unloadable by CHARNN_NATIVE_ADDON). Both write
// the same file; the script checks they do. The temp folder is deleted after.
//
//   node scripts/index-bench.mjs [--sizes 10MB,100MB,1GB] [--builders native,sais] [--text FILE] [--json] [--help]
//
// The text defaults to ../shared/corpora/tinyshakespeare.txt when it exists, else corpora/lighthouse.txt.
// Needs /usr/bin/time (apt-get install time). Sizes are decimal: 1GB = 10⁹ bytes.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { args, helpIfAsked, option, repo, sizes as sizesOf, textFile as textOf } from './script-options.mjs';

helpIfAsked(import.meta.url);
const sizes = sizesOf('index-bench', '10MB,100MB');
const BUILDERS = { native: {}, sais: { CHARNN_NATIVE_ADDON: '/nonexistent/charnn.node' } };
const builders = option('--builders', 'native,sais').split(',').map((b) => b.trim());
for (const b of builders) {
  if (!(b in BUILDERS)) {
    process.stderr.write(`index-bench: no builder ${b}; write --builders native,sais\n`);
    process.exit(2);
  }
}
const textFile = textOf();
if (!fs.existsSync('/usr/bin/time')) {
  process.stderr.write('index-bench: needs /usr/bin/time (apt-get install time)\n');
  process.exit(2);
}
const bin = path.join(repo, 'bin/charnn.js');
const lines = fs.readFileSync(textFile, 'utf8').split('\n').filter((l) => l.length > 0);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'charnn-index-bench-'));
process.on('SIGINT', () => {
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(130);
});

/** The SHA-256 of a file, read in pieces (an index of 1 GB is larger than a Buffer can be). */
function hashOf(file) {
  const hash = crypto.createHash('sha256'), piece = Buffer.alloc(1 << 24), fd = fs.openSync(file, 'r');
  for (let n; (n = fs.readSync(fd, piece, 0, piece.length, null)) > 0;) hash.update(piece.subarray(0, n));
  fs.closeSync(fd);
  return hash.digest('hex');
}

/** `bytes` of the text's lines in a seeded random order. */
function writeCorpus(file, bytes) {
  let s = 1;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const fd = fs.openSync(file, 'w');
  let written = 0;
  while (written < bytes) {
    const chunk = [];
    let size = 0;
    while (size < 1 << 20 && written + size < bytes) {
      const line = lines[Math.floor(next() * lines.length)] + '\n';
      chunk.push(line);
      size += Buffer.byteLength(line);
    }
    fs.writeSync(fd, chunk.join(''));
    written += size;
  }
  fs.closeSync(fd);
}

const rows = [];
try {
  for (const size of sizes) {
    const corpus = path.join(dir, `corpus-${size.label}.txt`);
    writeCorpus(corpus, size.bytes);
    const ck = path.join(dir, `ck-${size.label}`);
    const train = spawnSync(process.execPath, [bin, 'train', corpus, '--layers', '1', '--hidden', '8', '--max-iters', '1', '--threads', '1',
      '--val-max-chars', '1000', '--no-index', '--checkpoint-dir', ck], { encoding: 'utf8' });
    if (train.status !== 0) throw new Error(`train failed: ${train.stderr}`);
    const indexFile = path.join(ck, 'corpus.index');
    let first;
    for (const builder of builders) {
      fs.rmSync(indexFile, { force: true });
      const run = spawnSync('/usr/bin/time', ['-v', process.execPath, bin, 'index', path.join(ck, 'latest.json')],
        { encoding: 'utf8', env: { ...process.env, ...BUILDERS[builder] } });
      if (run.status !== 0) throw new Error(`index (${builder}) failed: ${run.stderr}`);
      const field = (name) => new RegExp(`${name}: (.+)`).exec(run.stderr)?.[1].trim();
      const [h, m, sec] = field('Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)').split(':').map(Number).reverse().concat([0, 0]).slice(0, 3).reverse();
      const chars = Number(/indexed (\d+) characters/.exec(run.stderr)[1]);
      const hash = hashOf(indexFile);
      if (first && hash !== first) throw new Error(`the ${builder} index of ${size.label} differs from the ${builders[0]} one`);
      first ??= hash;
      rows.push({
        size: size.label, builder, chars, wallSeconds: Number((h * 3600 + m * 60 + sec).toFixed(1)),
        cpuSeconds: Number((Number(field('User time \\(seconds\\)')) + Number(field('System time \\(seconds\\)'))).toFixed(1)),
        peakMB: Math.round(Number(field('Maximum resident set size \\(kbytes\\)')) / 1024), bytesPerChar: Number((fs.statSync(indexFile).size / chars).toFixed(2)),
      });
    }
    fs.rmSync(corpus);
    fs.rmSync(ck, { recursive: true });
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
if (args.includes('--json')) process.stdout.write(JSON.stringify(rows) + '\n');
else {
  process.stdout.write('| corpus | builder | characters | wall s | CPU s | peak MB | index bytes/char |\n|---|---|---|---|---|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.size} | ${r.builder} | ${r.chars} | ${r.wallSeconds} | ${r.cpuSeconds} | ${r.peakMB} | ${r.bytesPerChar} |\n`);
}
