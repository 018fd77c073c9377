#!/usr/bin/env node
// Measures training on big corpora, as BENCHMARKS.md quotes: for each size, builds a corpus in a temp
// folder by repeating a text, runs `charnn train` on it under /usr/bin/time -v for a few iterations, and
// reports how long reading took, when the first iteration started, the peak resident memory and the wall
// time. The temp folder is deleted afterwards (also on Ctrl-C).
//
//   node scripts/big-corpus.mjs [--sizes 100MB,1GB,4GB] [--files N] [--stdin] [--iters N] [--text FILE] [--train 'ARGS']
//                               [--charnn DIR,DIR… [--rounds N]] [--json]
//
// --files N splits each corpus into N files in a folder (default 1: one file); --stdin pipes the one
// file to `charnn train -` instead of naming it; --train passes more
// options to charnn train (the default model is the 2×128 LSTM, batch 32×64). The text defaults to
// ../shared/corpora/tinyshakespeare.txt when it exists, else corpora/lighthouse.txt. Needs /usr/bin/time
// (apt-get install time). Sizes are decimal: 1GB = 10⁹ bytes.
//
// --charnn names the checkouts whose bin/charnn.js runs (default this one, each built with npm run
// build): with several, e.g. an older commit in a git worktree beside this one, each corpus is read by
// each of them in turn, --rounds N times (default 1), so that they meet the same load on a shared machine,
// and the table adds the CPU time (user + system) of each run, which the load disturbs less than the wall
// clock.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { args, option, repo, sizes as sizesOf, textFile as textOf } from './script-options.mjs';

if (args.includes('--help')) {
  process.stdout.write("usage: node scripts/big-corpus.mjs [--sizes 100MB,1GB,4GB] [--files N] [--iters N] [--text FILE] [--stdin] [--train 'ARGS'] [--charnn DIR,DIR… [--rounds N]] [--json]\n");
  process.exit(0);
}
const sizes = sizesOf('big-corpus', '100MB,1GB');
const files = Number(option('--files', '1'));
const iters = Number(option('--iters', '3'));
const textFile = textOf();
const json = args.includes('--json');
const piped = args.includes('--stdin');
if (piped && files !== 1) {
  process.stderr.write('big-corpus: --stdin pipes one file; drop --files\n');
  process.exit(2);
}
const trainArgs = option('--train', '').split(' ').filter(Boolean);
const builds = option('--charnn', repo).split(',').map((dir) => ({ label: dir, bin: path.resolve(dir, 'bin/charnn.js') }));
const rounds = Number(option('--rounds', '1'));
for (const build of builds) {
  if (!fs.existsSync(build.bin)) {
    process.stderr.write(`big-corpus: there is no ${build.bin}; give --charnn the folder of a charnn checkout\n`);
    process.exit(2);
  }
}
const compared = builds.length > 1;
if (!fs.existsSync('/usr/bin/time')) {
  process.stderr.write('big-corpus: /usr/bin/time is missing; install it (apt-get install time)\n');
  process.exit(2);
}

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'charnn-big-'));
process.stderr.write(`building the corpora in ${temp} (deleted at the end)\n`);
const cleanUp = () => fs.rmSync(temp, { recursive: true, force: true });
process.on('SIGINT', () => {
  cleanUp();
  process.exit(130);
});

/** Writes `bytes` bytes of the text repeated, split into `count` files of equal size, cut at character boundaries. */
function buildCorpus(dir, bytes, count) {
  const text = fs.readFileSync(textFile);
  const block = Buffer.alloc(Math.max(text.length, 64 << 20));
  for (let at = 0; at < block.length; at += text.length) text.copy(block, at, 0, Math.min(text.length, block.length - at));
  fs.mkdirSync(dir, { recursive: true });
  let offset = 0; // where the next file starts within the endless repetition
  for (let f = 0; f < count; f++) {
    const target = Math.floor(bytes / count) + (f < bytes % count ? 1 : 0);
    const fd = fs.openSync(path.join(dir, `part-${String(f).padStart(5, '0')}.txt`), 'w');
    let written = 0;
    while (written < target) {
      const start = offset % text.length;
      let end = Math.min(start + (target - written), block.length);
      while (end < block.length && (block[end] & 0xc0) === 0x80) end--; // never cut a character in two
      if (end <= start) end = Math.min(start + (target - written), block.length);
      fs.writeSync(fd, block, start, end - start);
      written += end - start;
      offset += end - start;
    }
    fs.closeSync(fd);
  }
}

/** Runs charnn train under /usr/bin/time -v; times are seconds since the process was started. */
function measure(bin, corpus, checkpointDir) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('/usr/bin/time', [
      '-v', process.execPath, bin, 'train', piped ? '-' : corpus, '--json',
      '--max-iters', String(iters), '--eval-every', String(iters), '--checkpoint-dir', checkpointDir, ...trainArgs,
    ], { stdio: [piped ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    if (piped) fs.createReadStream(corpus).pipe(child.stdin).on('error', () => {}); // EPIPE if charnn fails
    let stdout = '';
    let stderr = '';
    const result = { startSeconds: null, readSeconds: null, chars: null, firstIterationSeconds: null };
    child.stdout.on('data', (data) => {
      stdout += data;
      let nl;
      while ((nl = stdout.indexOf('\n')) >= 0) {
        const line = stdout.slice(0, nl);
        stdout = stdout.slice(nl + 1);
        const event = JSON.parse(line);
        const at = (performance.now() - started) / 1000;
        if (event.type === 'start') Object.assign(result, { startSeconds: at, readSeconds: event.readSeconds, chars: event.chars });
        if (event.type === 'iteration' && result.firstIterationSeconds === null) result.firstIterationSeconds = at;
      }
    });
    child.stderr.on('data', (data) => (stderr += data));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`charnn train exited with ${code}:\n${stderr}`));
      const rssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]);
      const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)/.exec(stderr)?.[1] ?? '';
      const wallSeconds = wall.split(':').reduce((sum, part) => sum * 60 + Number(part), 0);
      const cpu = (what) => Number(new RegExp(`${what} time \\(seconds\\): ([\\d.]+)`).exec(stderr)?.[1]);
      resolve({ ...result, peakRssMb: rssKb / 1024, wallSeconds, cpuSeconds: cpu('User') + cpu('System') });
    });
  });
}

const rows = [];
try {
  if (!json) {
    const how = trainArgs.length > 0 ? `charnn train ${trainArgs.join(' ')}` : 'the default 2×128 LSTM, batch 32×64';
    process.stdout.write(`text: ${path.relative(repo, textFile)}, ${files} file(s) per corpus, ${iters} iterations of ${how}\n\n`);
    process.stdout.write(`| ${compared ? 'charnn | ' : ''}corpus | read (s) | read MB/s | first iteration starts (s) | peak RSS (MB) | wall (s) |${compared ? ' CPU (s) |' : ''}\n` +
      `|${compared ? '---|' : ''}---|---|---|---|---|---|${compared ? '---|' : ''}\n`);
  }
  for (const size of sizes) {
    const dir = path.join(temp, size.label);
    buildCorpus(dir, size.bytes, files);
    const corpus = files === 1 ? path.join(dir, 'part-00000.txt') : dir;
    for (let round = 0; round < rounds; round++) {
      for (const build of builds) {
        const r = await measure(build.bin, corpus, path.join(temp, `ckpt-${size.label}-${rows.length}`));
        const row = { ...(compared ? { charnn: build.label } : {}), corpus: size.label, bytes: size.bytes, files, ...r, readMBps: size.bytes / 1e6 / r.readSeconds };
        rows.push(row);
        if (json) process.stdout.write(JSON.stringify(row) + '\n');
        else {
          process.stdout.write(`| ${compared ? `${build.label} | ` : ''}${size.label}${files > 1 ? ` in ${files} files` : ''}${piped ? ' on standard input' : ''} | ` +
            `${r.readSeconds.toFixed(1)} | ${row.readMBps.toFixed(0)} | ${r.startSeconds.toFixed(1)} | ${r.peakRssMb.toFixed(0)} | ${r.wallSeconds.toFixed(1)} |` +
            `${compared ? ` ${r.cpuSeconds.toFixed(1)} |` : ''}\n`);
        }
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
} finally {
  cleanUp();
}
