import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import type { Checkpoint, HistoryPoint } from '../checkpoint/format.js';
import type { CopiedSpan, Source } from '../data/copy-index.js';
import { describeParams } from '../model/model.js';
import type { ActivationTrace } from '../inspect/activations.js';
import type { CellRef, Detection } from '../inspect/detectors.js';
import { COPY_MIN_LENGTH, palette, SURPRISE_MAX_BITS } from './viz-colours.js';

export interface PageInput {
  trace: ActivationTrace;
  /** What is shown per cell ([N, H] per layer, in −1…1) and what it is called ("tanh(c)" or "h"). */
  states: Float32Array[];
  stateLabel: string;
  detections: Detection[];
  saturated: (CellRef & { fraction: number })[];
  /** The cell the page opens with. */
  cell: CellRef;
  ckpt: Checkpoint;
  checkpointFile: string;
  /** Where the text came from, for the header: a file name, "--text", "a sample of …". */
  source: string;
  /**
   * The spans copied from the training text, of the text (null: it is not a sample) and of each sample
   * recorded while training; null when the run's corpus index was not there to find them.
   */
  copies: { text: CopiedSpan[] | null; samples: CopiedSpan[][] } | null;
}

/**
 * One self-contained HTML document: the data as JSON (typed arrays gzipped and base64-encoded; the
 * cells' activations quantised to 6 bits), the page's script
 * and style inline. The script decodes with the browser's own DecompressionStream; nothing is fetched.
 */
export async function renderPage(input: PageInput): Promise<string> {
  const { trace, ckpt } = input;
  const N = trace.length, H = trace.hiddenSize, K = trace.topK;
  const vocab = trace.vocab;
  const surprisal = Uint16Array.from(trace.surprisal, (bits) => Math.min(65535, Math.round(bits * 1000))); // millibits
  const topTokens = Uint16Array.from(trace.topTokens);
  const topProbs = Uint16Array.from(trace.topProbs, (p) => Math.round(p * 65535));
  const t = ckpt.training;
  const data = {
    model: `${ckpt.model.layers}×${H} ${ckpt.model.cell.toUpperCase()}`,
    parameters: describeParams(ckpt.model).reduce((n, p) => n + p.size, 0),
    checkpoint: input.checkpointFile, corpus: t.corpus.name, iteration: t.iteration,
    bestValLoss: t.bestValLoss, source: input.source,
    text: trace.text, length: N, layers: trace.layers, hiddenSize: H, topK: K, vocab,
    bitsPerChar: trace.bitsPerChar, unknownChars: trace.unknownChars, unknown: trace.unknown,
    stateLabel: input.stateLabel, stateLevels: STATE_LEVELS, surpriseMaxBits: SURPRISE_MAX_BITS,
    palettes: { surprise: palette('surprise'), cell: palette('cell') },
    surprisal: pack(surprisal), topTokens: pack(topTokens), topProbs: pack(topProbs), states: pack(quantiseStates(input.states, H)),
    detections: input.detections, saturated: input.saturated, cell: input.cell,
    copies: input.copies?.text?.map(({ at, length, source }) => ({ at, length, from: where(source) })) ?? null,
  };
  const [script, style] = await Promise.all([asset('viz.js'), asset('viz.css')]);
  const title = `charnn viz — ${data.model} on ${t.corpus.name}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${style}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<p class="facts">${facts(input).map((f) => `<span>${f}</span>`).join('')}</p>
</header>
<main>
<section id="surprise">
<h2>Surprise</h2>
<p class="help">Each character shaded by how surprised the model was to see it (−log₂ p, in bits; white 0, red ${SURPRISE_MAX_BITS} or more). Hover or tap a character for the model's top ${K} guesses of the character after it.</p>
${input.copies?.text ? `<p class="help copy-legend">${copyLegend(input.copies.text.length)} Hover one for where it comes from.</p>\n` : ''}<div class="text" id="surprise-text"></div>
</section>
<section id="cells">
<h2>Cells</h2>
<p class="help">The text coloured by one cell's activation, ${escapeHtml(input.stateLabel)}: <span class="swatch neg">−1</span> <span class="swatch zero">0</span> <span class="swatch pos">+1</span>. Layers count from 1 (nearest the input), cells from 0.</p>
<div class="controls">
<label>layer <select id="layer">${Array.from({ length: trace.layers }, (_, l) => `<option value="${l + 1}">${l + 1}</option>`).join('')}</select></label>
<label>cell <input id="cell" type="number" min="0" max="${H - 1}" step="1"></label>
<span id="cell-name"></span>
</div>
<div class="cells-layout">
<div class="text" id="cell-text"></div>
<aside>
<h3>Detectors</h3>
<p class="help">Features of the text and the cells whose activation follows each most closely (Pearson r over this text). Click one to colour the text by it.</p>
<table id="detectors"><tbody></tbody></table>
<h3>Saturated cells</h3>
<p class="help">Beyond ±0.9 for at least three quarters of the text.</p>
<div id="saturated"></div>
</aside>
</div>
</section>
<section id="training">
<h2>Training</h2>
${lossChart(t.history)}
${samplesHtml(t.samples ?? [], input.copies?.samples ?? null)}
</section>
</main>
<div id="tip" role="tooltip" hidden></div>
<script type="application/json" id="viz-data">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>
<script>${script}</script>
</body>
</html>
`;
}

function facts(input: PageInput): string[] {
  const { trace, ckpt } = input;
  const t = ckpt.training;
  const out = [
    `model <b>${ckpt.model.layers}×${trace.hiddenSize} ${ckpt.model.cell.toUpperCase()}</b>`,
    `corpus <b>${escapeHtml(t.corpus.name)}</b>`,
    `iteration <b>${t.iteration}</b>`,
    `validation loss <b>${t.bestValLoss !== null ? `${t.bestValLoss.toFixed(4)} nats (${(t.bestValLoss / Math.LN2).toFixed(3)} bits)/char` : '–'}</b>`,
    `this text <b>${trace.bitsPerChar.toFixed(3)} bits/char</b> over ${trace.length} characters (${escapeHtml(input.source)})`,
  ];
  if (trace.unknownChars > 0) out.push(`${trace.unknownChars} unknown characters skipped`);
  out.push(`checkpoint <code>${escapeHtml(input.checkpointFile)}</code>`);
  return out;
}

/** The loss history as an SVG line chart: training dashed, validation solid. */
function lossChart(history: readonly HistoryPoint[]): string {
  if (history.length === 0) return '<p class="help">The checkpoint has no loss history.</p>';
  const W = 640, Hh = 220, left = 48, right = 12, top = 12, bottom = 32;
  const train = history.flatMap((p) => (p.trainLoss !== null && Number.isFinite(p.trainLoss) ? [[p.iteration, p.trainLoss] as const] : []));
  const val = history.flatMap((p) => (p.valLoss !== null && Number.isFinite(p.valLoss) ? [[p.iteration, p.valLoss] as const] : []));
  const all = [...train, ...val];
  const xMax = Math.max(...all.map(([x]) => x), 1), xMin = Math.min(...all.map(([x]) => x), 0);
  let yMin = Math.min(...all.map(([, y]) => y)), yMax = Math.max(...all.map(([, y]) => y));
  if (yMax - yMin < 1e-6) (yMin -= 0.5), (yMax += 0.5);
  const sx = (x: number) => left + ((x - xMin) / (xMax - xMin || 1)) * (W - left - right);
  const sy = (y: number) => top + (1 - (y - yMin) / (yMax - yMin)) * (Hh - top - bottom);
  const line = (pts: readonly (readonly [number, number])[], cls: string) =>
    pts.length === 0 ? '' : `<polyline class="${cls}" points="${pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`;
  const ticks = [yMin, (yMin + yMax) / 2, yMax].map((y) =>
    `<text x="${left - 6}" y="${sy(y).toFixed(1)}" class="ytick">${y.toFixed(2)}</text><line x1="${left}" x2="${W - right}" y1="${sy(y).toFixed(1)}" y2="${sy(y).toFixed(1)}" class="grid"/>`).join('');
  return `<figure class="chart">
<svg viewBox="0 0 ${W} ${Hh}" width="${W}" height="${Hh}" role="img" aria-label="loss curves">
${ticks}
<text x="${left}" y="${Hh - 8}" class="xtick">${xMin}</text><text x="${W - right}" y="${Hh - 8}" class="xtick end">${xMax} iterations</text>
${line(train, 'train')}${line(val, 'val')}
</svg>
<figcaption><span class="key train"></span> training loss (smoothed) <span class="key val"></span> validation loss, nats/char</figcaption>
</figure>`;
}

function samplesHtml(samples: readonly { iteration: number; valLoss: number | null; temperature: number; text: string }[], copies: CopiedSpan[][] | null): string {
  if (samples.length === 0) {
    return '<p class="help">No samples were recorded while training (train with <code>--sample-every &lt;n&gt;</code> to record them).</p>';
  }
  const legend = copies ? `<p class="help copy-legend">${copyLegend(copies.reduce((n, spans) => n + spans.length, 0))} Hover one for where it comes from.</p>\n` : '';
  return `<h3>Samples recorded while training</h3>
${legend}<ol class="samples">${samples.map((s, k) => `<li><div class="sample-head">iteration ${s.iteration}${s.valLoss !== null ? `, validation loss ${s.valLoss.toFixed(3)}` : ''}, temperature ${s.temperature}</div><pre>${markCopies(s.text, copies?.[k] ?? [])}</pre></li>`).join('\n')}</ol>`;
}

/** The legend of the copy marks, with how many spans are marked. */
function copyLegend(count: number): string {
  return `<span class="copy-key">Underlined</span>: copied, a span of ${COPY_MIN_LENGTH} or more characters found verbatim in the training text ` +
    `(${count === 0 ? 'none here' : `${count} span${count === 1 ? '' : 's'}`}).`;
}

/** `poems/a.txt:12`, as sample --copies gives a source. */
function where(source: Source): string {
  return `${source.path}:${source.line}`;
}

/** The text escaped, its copied spans in <mark> with their source as the title (a span overlapping the one before it starts where that one ends). */
function markCopies(text: string, spans: readonly CopiedSpan[]): string {
  const chars = [...text];
  let html = '', done = 0;
  for (const { at, length, source } of spans) {
    const from = Math.max(at, done);
    html += escapeHtml(chars.slice(done, from).join(''));
    html += `<mark class="copy" title="copied: ${length} characters verbatim from ${escapeHtml(where(source))}">${escapeHtml(chars.slice(from, at + length).join(''))}</mark>`;
    done = at + length;
  }
  return html + escapeHtml(chars.slice(done).join(''));
}

/**
 * Levels a cell's activation is stored with: 6 bits. 8 bits did not fit the page in 8 MB for 20,000
 * characters of a 2×256 model (9.3 MB, measured), 6 bits does (and is finer than the eye can tell).
 */
export const STATE_LEVELS = 63;

/** Per layer and cell, the activations in −1…1 as 0…STATE_LEVELS, cell-major [L, H, N] (one cell's row is what the page decodes). */
export function quantiseStates(states: readonly Float32Array[], H: number): Uint8Array {
  const N = states[0].length / H;
  const out = new Uint8Array(states.length * H * N);
  states.forEach((m, l) => {
    for (let j = 0; j < H; j++) {
      const row = (l * H + j) * N;
      for (let i = 0; i < N; i++) out[row + i] = Math.round(((Math.max(-1, Math.min(1, m[i * H + j])) + 1) / 2) * STATE_LEVELS);
    }
  });
  return out;
}

function pack(array: ArrayBufferView): string {
  return gzipSync(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), { level: 1 }).toString('base64'); // level 1: within 2% of the best, several times faster
}

async function asset(name: string): Promise<string> {
  return readFile(new URL(`../../assets/${name}`, import.meta.url), 'utf8');
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
