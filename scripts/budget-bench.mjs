#!/usr/bin/env node
// The best model in a given time: `charnn train <corpus> --time-limit <duration>` with no other option (the
// model and the schedule chosen for the budget), beside fixed sizes given the same time, one after the
// other in one run. For each: the model, the iterations it ran, the validation loss at the end and the best
// one (with when it was reached). With --torch, PyTorch's reference (../shared/bench/torch_lstm.py, 2×256,
// Adam 2e-3, constant rate) for the same time too, where python3 has torch.
//
//   node scripts/budget-bench.mjs <corpus> <duration> [auto] [LxH ...] [--torch] [--threads N]
//   node scripts/budget-bench.mjs ../shared/corpora/tinyshakespeare.txt 10m            # auto, then the standard set
//   node scripts/budget-bench.mjs ../shared/corpora/tinyshakespeare.txt 2m auto 2x192
//
// Checkpoints go to a temporary folder, removed at the end. BENCHMARKS.md quotes its output.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.join(here, '../bin/charnn.js');
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const [, value] = args.splice(i, 2);
  return value;
};
const torch = args.includes('--torch');
if (torch) args.splice(args.indexOf('--torch'), 1);
const threads = flag('--threads');
const [corpus, duration, ...configs] = args;
if (!corpus || !duration || !/^\d+(\.\d+)?[smh]?$/.test(duration) || configs.some((c) => c !== 'auto' && !/^\d+x\d+$/.test(c))) {
  console.error('usage: node scripts/budget-bench.mjs <corpus> <duration, e.g. 10m> [auto] [LxH ...] [--torch] [--threads N]');
  process.exit(2);
}
if (!fs.existsSync(corpus)) {
  console.error(`no such file: ${corpus}`);
  process.exit(2);
}
const runs = configs.length > 0 ? configs : ['auto', '1x128', '2x128', '2x256', '2x512'];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'charnn-budget-'));
const seconds = { s: 1, m: 60, h: 3600 }[duration.at(-1)] ?? 1;
const budget = parseFloat(duration) * seconds;

/** The standard set's batch for a size (as `charnn bench` runs it): 50×50 for 2×512, 32×64 otherwise. */
const batchOf = (layers, hidden) => (layers === 2 && hidden === 512 ? ['--batch-size', '50', '--seq-length', '50'] : []);

const rows = [];
try {
  for (const run of runs) {
    const dir = path.join(work, run);
    const extra = run === 'auto' ? [] : (() => {
      const [layers, hidden] = run.split('x').map(Number);
      return ['--layers', String(layers), '--hidden', String(hidden), ...batchOf(layers, hidden)];
    })();
    const r = spawnSync(process.execPath, [bin, 'train', corpus, '--time-limit', duration, '--checkpoint-dir', dir, '--json', ...extra, ...(threads ? ['--threads', threads] : [])], {
      encoding: 'utf8', maxBuffer: 1 << 28,
    });
    if (r.status !== 0) {
      console.error(`charnn train failed for ${run}: ${r.stderr.trim().split('\n').at(-1)}`);
      process.exit(1);
    }
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const start = events[0];
    const done = events.at(-1);
    const ckpt = JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8'));
    const evals = ckpt.training.history.filter((h) => h.valLoss !== null);
    const best = evals.reduce((a, b) => (b.valLoss < a.valLoss ? b : a));
    const m = start.model;
    rows.push({
      run, model: `${m.layers}×${m.hiddenSize} d${m.dropout} b${start.config.batchSize}×${start.config.seqLength}`, iterations: done.iteration,
      end: evals.at(-1).valLoss, best: best.valLoss, bestAt: best.seconds / 60, seconds: ckpt.training.seconds, choice: start.config.autoChoice?.message ?? null,
    });
    console.error(`${run}: done (${done.reason}) at iteration ${done.iteration}`);
  }
  if (torch) {
    const py = spawnSync('python3', ['-c', 'import torch'], { encoding: 'utf8' });
    if (py.status !== 0) rows.push({ run: 'PyTorch 2×256', missing: 'python3 has no torch (apt-get install -y python3-torch libopenblas0-pthread)' });
    else {
      const r = spawnSync('python3', [path.join(here, '../../shared/bench/torch_lstm.py'), '--corpus', corpus, '--layers', '2', '--hidden', '256', '--threads', '2', '--time-budget-s', String(budget)], {
        encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1' }, maxBuffer: 1 << 26,
      });
      const out = JSON.parse(r.stdout.trim().split('\n').at(-1));
      // Its curve: [seconds, iteration, validation loss] every minute; then the loss at the end.
      const points = [...out.curve.map(([s, , loss]) => ({ s, loss })), { s: budget, loss: out.val_loss }];
      const best = points.reduce((a, b) => (b.loss < a.loss ? b : a));
      rows.push({ run: 'PyTorch 2×256', model: '2×256 d0 b32×64', iterations: out.iters, end: out.val_loss, best: best.loss, bestAt: best.s / 60, seconds: budget, choice: null });
    }
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

console.log(`${path.basename(corpus)}, --time-limit ${duration}`);
console.log(`${'run'.padEnd(14)} ${'model'.padEnd(22)} ${'iterations'.padStart(10)} ${'val at end'.padStart(10)} ${'best val'.padStart(9)} ${'best at'.padStart(8)}`);
for (const row of rows) {
  if (row.missing) {
    console.log(`${row.run.padEnd(14)} ${row.missing}`);
    continue;
  }
  console.log(`${row.run.padEnd(14)} ${row.model.padEnd(22)} ${String(row.iterations).padStart(10)} ${row.end.toFixed(4).padStart(10)} ${row.best.toFixed(4).padStart(9)} ${(Number.isFinite(row.bestAt) ? `${row.bestAt.toFixed(1)} min` : '-').padStart(8)}`);
}
for (const row of rows) if (row.choice) console.log(`auto: ${row.choice}`);
