// For each precision of `charnn export`: the size of the page and of the module, and how much the stored
// weights change the validation loss, measured by `charnn eval` on a checkpoint holding the weights as the
// page computes with them (encoded, then decoded to f32) against the original.
//
//   node scripts/export-precision.mjs <held-out.txt> <checkpoint.json>...
//
// Prints a Markdown table (BENCHMARKS.md). Needs `npm run build`.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint, saveCheckpoint } from '../dist/checkpoint/store.js';
import { describeParams } from '../dist/model/model.js';
import { PRECISIONS, roundTrip } from '../dist/web/precision.js';

const [heldOut, ...checkpoints] = process.argv.slice(2);
if (!heldOut || checkpoints.length === 0) {
  console.error('usage: node scripts/export-precision.mjs <held-out.txt> <checkpoint.json>...');
  process.exit(2);
}
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/charnn.js');
const charnn = (...args) => execFileSync(process.execPath, [BIN, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
const loss = (file) => JSON.parse(charnn('eval', file, heldOut, '--json')).lossNats;
const kB = (file) => `${(fs.statSync(file).size / 1000).toFixed(0)} kB`;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'charnn-export-precision-'));
try {
  console.log('| model | precision | page | module | validation loss (nats/char) | change |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const file of checkpoints) {
    const ckpt = await loadCheckpoint(file);
    const shape = `${ckpt.model.layers}×${ckpt.model.hiddenSize} ${ckpt.model.cell}`;
    const original = loss(file);
    for (const precision of PRECISIONS) {
      const page = path.join(work, `${precision}.html`), module = path.join(work, `${precision}.mjs`);
      charnn('export', file, '--precision', precision, '--out', page);
      charnn('export', file, '--precision', precision, '--format', 'module', '--out', module);
      const stored = path.join(work, `${precision}.json`);
      for (const p of describeParams(ckpt.model)) {
        const t = ckpt.tensors.get(p.name);
        ckpt.tensors.set(p.name, { ...t, data: roundTrip(precision, t.data) });
      }
      await saveCheckpoint(stored, ckpt);
      const measured = loss(stored);
      console.log(`| ${shape} | ${precision} | ${kB(page)} | ${kB(module)} | ${measured.toFixed(6)} | ${(measured - original >= 0 ? '+' : '')}${(measured - original).toFixed(6)} |`);
      Object.assign(ckpt, await loadCheckpoint(file)); // the original weights for the next precision
    }
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
