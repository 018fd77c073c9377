// Measures `charnn viz` at the scale the issue sets: 20,000 characters on a 2×256 model, the page in
// under 5 s and under 8 MB. Usage: node scripts/viz-scale.mjs [checkpoint] [text-file]
// Defaults: an untrained 2×256 LSTM (random weights, seeded) over the first 20,000 characters of
// corpora/lighthouse.txt. Prints one JSON line: seconds (wall clock of the whole command, Node's start
// included), bytes of the page, characters; the median of three runs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { saveCheckpoint } = await import(path.join(root, 'dist/checkpoint/store.js'));
const { Model } = await import(path.join(root, 'dist/model/model.js'));
const { Vocab } = await import(path.join(root, 'dist/data/vocab.js'));
const { Rng } = await import(path.join(root, 'dist/util/rng.js'));
const { DEFAULT_CONFIG } = await import(path.join(root, 'dist/train/trainer.js'));

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'charnn-viz-scale-'));
let [checkpoint, textFile] = process.argv.slice(2);
if (!textFile) {
  textFile = path.join(work, 'text.txt');
  fs.writeFileSync(textFile, [...fs.readFileSync(path.join(root, 'corpora/lighthouse.txt'), 'utf8')].slice(0, 20_000).join(''));
}
const text = fs.readFileSync(textFile, 'utf8');
if (!checkpoint) {
  checkpoint = path.join(work, 'random-2x256.json');
  const vocab = Vocab.fromText(fs.readFileSync(path.join(root, 'corpora/lighthouse.txt'), 'utf8'));
  const config = { cell: 'lstm', vocabSize: vocab.size, hiddenSize: 256, layers: 2, dropout: 0 };
  const model = new Model(config, { maxBatch: 1, maxSteps: 1, backend: 'js' });
  model.initialize(new Rng(1));
  const tensors = new Map(model.params.map((p) => [p.name, { shape: [...p.shape], data: model.k.heap.slice(p.offset, p.offset + p.size) }]));
  await saveCheckpoint(checkpoint, {
    model: config, vocab: [...vocab.chars], config: DEFAULT_CONFIG, tensors,
    training: { iteration: 0, epoch: 0, cursor: 0, rng: [1, 2, 3, 4], lr: 0.002, optimizerSteps: 0, smoothLoss: null, bestValLoss: null,
      lastValLoss: null, seconds: 0, history: [], corpus: { name: 'lighthouse', chars: 0, sha256: '' } },
  });
}

const out = path.join(work, 'page.html');
const runs = [];
for (let i = 0; i < 3; i++) {
  const start = performance.now();
  const r = spawnSync(process.execPath, [path.join(root, 'bin/charnn.js'), 'viz', textFile, '--checkpoint', checkpoint, '--out', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  runs.push((performance.now() - start) / 1000);
}
runs.sort((a, b) => a - b);
console.log(JSON.stringify({ checkpoint, characters: [...text].length, seconds: Number(runs[1].toFixed(2)), runs: runs.map((s) => Number(s.toFixed(2))), bytes: fs.statSync(out).size }));
fs.rmSync(work, { recursive: true, force: true });
