import { Command, InvalidArgumentError, Option } from 'commander';
import fs from 'fs-extra';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-file.js';
import type { Checkpoint } from '../checkpoint/format.js';
import { loadCheckpoint } from '../checkpoint/store.js';
import { describeSkipped, readInputs } from '../data/corpus.js';
import { indexedText, loadIndex, type CopyIndex } from '../data/copy-index.js';
import { findInputs, type InputList } from '../data/inputs.js';
import { describeChars, Vocab } from '../data/vocab.js';
import { traceActivations } from '../inspect/activations.js';
import { detectCells, saturatedCells, shownStates, textFeatures, type CellRef } from '../inspect/detectors.js';
import type { BackendName } from '../kernels/index.js';
import { Sampler } from '../sample/sampler.js';
import { indexFileOf } from '../train/corpus-index.js';
import { RuntimeFailure, UsageError } from '../util/errors.js';
import { defaultCheckpoint } from './checkpoints.js';
import { temperatureAlias } from './sample.js';
import { backendOption, nonNegativeInt, positiveInt, positiveNumber } from './options.js';
import { compact, stderrStyle as style } from './ui.js';
import { COPY_MIN_LENGTH } from './viz-colours.js';
import { renderPage } from './viz-page.js';
import { colouredText, plainTable, stdoutColourLevel, type ShownCell } from './viz-terminal.js';

/** The page's file name, in the checkpoint's folder unless --out says otherwise. */
const PAGE = 'charnn-viz.html';

interface VizOptions {
  checkpoint?: string;
  text?: string;
  sample?: number;
  temp: number;
  temperature?: number;
  seed?: number;
  out?: string;
  terminal?: boolean;
  cell?: CellRef;
  backend: BackendName;
}

export function registerViz(program: Command): void {
  program
    .command('viz')
    .description('show what a model sees in a text: surprise, its next-character guesses, and what its cells track (an HTML page, or colours in the terminal)')
    .argument('[text-file]', 'a UTF-8 text file to run the model over')
    .addOption(new Option('--checkpoint <file>', 'the model (default: the newest best.json under ./checkpoints, else the newest latest.json; a run from standard input last)'))
    .addOption(new Option('--text <text>', 'the text to run the model over, given on the command line'))
    .addOption(new Option('--sample <n>', 'run the model over a fresh sample of n characters of its own').argParser(positiveInt))
    .addOption(new Option('--temp <t>', 'temperature of --sample (also --temperature)').argParser(positiveNumber).default(1))
    .addOption(temperatureAlias())
    .addOption(new Option('--seed <n>', 'seed of --sample (default: random)').argParser(nonNegativeInt))
    .addOption(new Option('--out <file>', `the HTML page to write (default: ${PAGE} in the checkpoint's folder)`))
    .addOption(new Option('--terminal', 'print the text coloured in the terminal instead (a plain table without colour)'))
    .addOption(new Option('--cell <layer:cell>', 'colour by this cell (layers from 1, cells from 0), e.g. 2:117; the page opens on it').argParser(cellRef))
    .addOption(backendOption())
    .addHelpText('after', `
Examples:
  $ charnn viz input.txt                          # writes checkpoints/input/${PAGE}
  $ charnn viz --checkpoint ck/best.json --text "Where's the quote? \\"Here\\", she said."
  $ charnn viz --sample 2000 --temp 0.8           # a fresh sample, as the model sees it
  $ charnn viz input.txt --terminal --cell 2:117  # colour the text in the terminal by one cell`)
    .action(async (textFile: string | undefined, opts: VizOptions) => {
      const given = [textFile !== undefined, opts.text !== undefined, opts.sample !== undefined].filter(Boolean).length;
      if (given !== 1) {
        throw new UsageError(given === 0
          ? 'nothing to show: give a text file, --text "…" or --sample <n>'
          : 'give one text to show: a text file, --text or --sample, not several');
      }
      // Everything that can be wrong with the command is found before the model is read.
      const file = textFile !== undefined ? { name: textFile, inputs: await findInputs([textFile]) } : null;
      const checkpointFile = opts.checkpoint ?? (await defaultCheckpoint('showing'));
      const out = opts.out ?? path.join(path.dirname(checkpointFile), PAGE);
      if (!opts.terminal) await checkWritable(out);
      const ckpt = await loadCheckpoint(checkpointFile);
      if (opts.cell) checkCell(opts.cell, ckpt);
      const { text, source, unknown } = await textToShow(file, opts, ckpt);

      const traced = traceActivations(ckpt, text, { backend: opts.backend });
      const trace = unknown ? { ...traced, unknownChars: unknown.count, unknown: unknown.chars } : traced;
      if (trace.unknownChars > 0) {
        process.stderr.write(style.yellow(`warning: ${trace.unknownChars} character(s) of ${source} are not in the model's vocabulary and were skipped: ${describeChars(trace.unknown)}`) + '\n');
      }
      const states = shownStates(trace);
      const stateLabel = trace.c ? 'tanh(c)' : 'h';
      // Copies are looked for in samples (of the model, and those recorded while training), not in a text given.
      const trainingSamples = opts.terminal ? [] : ckpt.training.samples ?? [];
      const index = opts.sample !== undefined || trainingSamples.length > 0 ? copyIndexOf(checkpointFile, ckpt) : null;
      const copies = (sample: string) => (index ? index.copiedSpans(sample, COPY_MIN_LENGTH) : null);
      const textCopies = opts.sample !== undefined ? copies(trace.text) : null;
      if (opts.terminal) {
        const cell = opts.cell ? shownCell(opts.cell, states, trace.hiddenSize, stateLabel) : null;
        const level = stdoutColourLevel();
        await writeStdout(level > 0 ? colouredText(trace, cell, textCopies, level as 1 | 2 | 3, process.stdout.columns || 100) : plainTable(trace, cell, textCopies));
        return;
      }
      const detections = detectCells(textFeatures([...trace.text]), states, trace.hiddenSize);
      const strongest = detections.flatMap((d) => d.cells).sort((a, b) => Math.abs(b.r) - Math.abs(a.r))[0];
      const page = await renderPage({
        trace, states, stateLabel, detections, saturated: saturatedCells(states, trace.hiddenSize),
        cell: opts.cell ?? strongest ?? { layer: trace.layers, cell: 0 }, ckpt, checkpointFile, source,
        copies: index ? { text: textCopies, samples: trainingSamples.map((sample) => copies(sample.text)!) } : null,
      });
      try {
        writeFileAtomic(out, page);
      } catch (err) {
        throw new RuntimeFailure(`cannot write ${out}: ${(err as Error).message}`);
      }
      process.stderr.write(`wrote ${out} (${compact(Buffer.byteLength(page))} bytes): ${trace.length} characters, ${trace.bitsPerChar.toFixed(3)} bits/char\n`);
    });
}

/**
 * The run's corpus index, which finds the copies in the samples shown; null when there is none or it is
 * of another text, which is said once on stderr (the rest of viz works without it).
 */
function copyIndexOf(checkpointFile: string, ckpt: Checkpoint): CopyIndex | null {
  const file = indexFileOf(checkpointFile);
  const indexed = indexedText(file);
  if (indexed === ckpt.training.corpus.sha256) return loadIndex(file, indexed);
  const why = indexed === null ? `${file} is missing` : `${file} indexes another text than the run's corpus`;
  process.stderr.write(style.yellow(`note: copies of the training text are not marked: ${why}; charnn index builds it`) + '\n');
  return null;
}

/** LAYER:CELL, both whole numbers. */
function cellRef(value: string): CellRef {
  const match = /^\s*(\d+):(\d+)\s*$/.exec(value);
  if (!match) throw new InvalidArgumentError('expected LAYER:CELL, e.g. 2:117 (layers count from 1, cells from 0).');
  const layer = Number(match[1]), cell = Number(match[2]);
  if (layer < 1) throw new InvalidArgumentError('layers count from 1.');
  return { layer, cell };
}

function checkCell(ref: CellRef, ckpt: Checkpoint): void {
  const { layers, hiddenSize } = ckpt.model;
  if (ref.layer > layers || ref.cell >= hiddenSize) {
    const which = (count: number, first: number) => (count === 1 ? `(${first})` : `(${first}–${first + count - 1})`);
    throw new UsageError(`--cell ${ref.layer}:${ref.cell} is not in this model: it has ${layers} layer${layers === 1 ? '' : 's'} ${which(layers, 1)} ` +
      `of ${hiddenSize} cells ${which(hiddenSize, 0)}`);
  }
}

function shownCell(ref: CellRef, states: Float32Array[], H: number, label: string): ShownCell {
  const m = states[ref.layer - 1];
  const values = new Float32Array(m.length / H);
  for (let i = 0; i < values.length; i++) values[i] = m[i * H + ref.cell];
  return { ...ref, label, values };
}

/**
 * The text to run the model over. A file is read as `eval` reads text (characters outside the model's
 * vocabulary counted and left out while reading: `unknown`); a --text or a sample is a string, whose
 * unknown characters activations() leaves out.
 */
async function textToShow(file: { name: string; inputs: InputList } | null, opts: VizOptions, ckpt: Checkpoint): Promise<{ text: string; source: string; unknown?: { chars: string[]; count: number } }> {
  if (opts.sample !== undefined) {
    const temperature = opts.temperature ?? opts.temp;
    const sampler = new Sampler(ckpt, { temperature, length: opts.sample, seed: opts.seed, backend: opts.backend });
    return { text: [...sampler.generate()].join(''), source: `a sample of ${opts.sample} characters at temperature ${temperature}` };
  }
  if (file === null) {
    if (opts.text!.length === 0) throw new UsageError('the --text is empty; give some text to show');
    return { text: opts.text!, source: '--text' };
  }
  const vocab = Vocab.fromChars(ckpt.vocab);
  const corpus = await readInputs(file.inputs, { vocab, docSep: null });
  if (corpus.skipped.length > 0) process.stderr.write(style.yellow(`warning: ${describeSkipped(corpus.skipped)}`) + '\n');
  if (corpus.tokens.length === 0 && corpus.unknown.count === 0) throw new UsageError(`${file.name} is empty; give some text to show`);
  return { text: vocab.decode(corpus.tokens), source: file.name, unknown: corpus.unknown };
}

/** Refuses an --out that cannot be written, before any work is done. */
async function checkWritable(file: string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const stat = await fs.stat(file).catch(() => null);
  if (stat?.isDirectory()) throw new UsageError(`--out ${file} is a directory; give a file name, e.g. --out ${path.join(file, 'charnn-viz.html')}`);
  const dirStat = await fs.stat(dir).catch(() => null);
  if (!dirStat?.isDirectory()) throw new UsageError(`cannot write ${file}: the folder ${dir} does not exist; create it or choose another --out`);
  try {
    await fs.access(stat ? file : dir, fs.constants.W_OK);
  } catch (err) {
    throw new UsageError(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code === 'EROFS' ? 'the file system is read-only' : 'permission denied'}; choose another --out`);
  }
}

/**
 * Writes to stdout, waiting for it to drain; a reader that goes away (`| head`) ends it quietly. The
 * stream's 'error' event is main's (cli/main.ts); the write's own callback says how this write went.
 */
function writeStdout(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err?: NodeJS.ErrnoException | null) => {
      if (err && err.code !== 'EPIPE') reject(new RuntimeFailure(`cannot write to stdout: ${err.message}`));
      else resolve();
    });
  });
}
