import { Command, Option } from 'commander';
import { fileURLToPath } from 'node:url';
import { describeBackend, type BackendName } from '../kernels/index.js';
import { CELL_TYPES, type CellType } from '../model/model.js';
import { benchmark, type BenchResult } from '../train/bench.js';
import type { Threads } from '../train/threads.js';
import { backendOption, choice, positiveInt, threadsOption } from './options.js';
import { canRedraw, compact, stderrStyle as style } from './ui.js';

/** The configurations of the performance goal: layers, hidden, batch, seq (as ../shared/bench/compare.sh). */
const STANDARD: [number, number, number, number][] = [[1, 128, 32, 64], [2, 128, 32, 64], [2, 256, 32, 64], [2, 512, 50, 50]];
const OUR_CORPUS = fileURLToPath(new URL('../../corpora/lighthouse.txt', import.meta.url));

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('measure training and sampling speed (without options: the standard configurations)')
    .addOption(new Option('--model <cell>', 'recurrent cell').argParser(choice(CELL_TYPES)).default('lstm'))
    .addOption(new Option('--layers <n>', 'recurrent layers').argParser(positiveInt))
    .addOption(new Option('--hidden <n>', 'hidden units per layer').argParser(positiveInt))
    .addOption(new Option('--batch <n>', 'batch size').argParser(positiveInt))
    .addOption(new Option('--seq <n>', 'sequence length').argParser(positiveInt))
    .addOption(new Option('--steps <n>', 'timed training steps (after 3 warm-up steps); default by size').argParser(positiveInt))
    .addOption(new Option('--corpus <file>', 'text to train on (default: corpora/lighthouse.txt)'))
    .addOption(backendOption())
    .addOption(threadsOption())
    .addOption(new Option('--json', 'one JSON line per configuration (the keys of the PyTorch reference script BENCHMARKS.md compares with)'))
    .addHelpText('after', `
Examples:
  $ charnn bench                                   # the standard set, as a table
  $ charnn bench --layers 2 --hidden 256 --batch 32 --seq 64 --steps 12 --json`)
    .action(async (opts: {
      model: CellType; layers?: number; hidden?: number; batch?: number; seq?: number; steps?: number; corpus?: string;
      backend: BackendName; threads: Threads; json?: boolean;
    }) => {
      const one = [opts.layers, opts.hidden, opts.batch, opts.seq].some((v) => v !== undefined);
      const configs = one ? [[opts.layers ?? 2, opts.hidden ?? 128, opts.batch ?? 32, opts.seq ?? 64]] : STANDARD;
      // Which kernels run, and why not the native ones when they could not load: once, before the rows.
      const threads = opts.threads === 'auto' ? 'threads: auto (one per core, one for a step too small to share)' : `${opts.threads} thread${opts.threads === 1 ? '' : 's'}`;
      process.stderr.write(style.dim(`${describeBackend(opts.backend)}, ${threads}`) + '\n');
      if (!opts.json) process.stdout.write(header() + '\n');
      // On a terminal, each row overwrites its "measuring" line; elsewhere that is a line of its own.
      const end = canRedraw(process.stderr) ? '\r' : '\n';
      for (const [layers, hidden, batch, seq] of configs) {
        if (!opts.json) process.stderr.write(style.dim(`measuring ${layers}×${hidden}, batch ${batch}×${seq}…`) + end);
        const result = await benchmark({
          corpusPath: opts.corpus ?? OUR_CORPUS, cell: opts.model, layers, hidden, batch, seq,
          steps: opts.steps ?? (hidden >= 512 ? 6 : hidden >= 256 ? 12 : 30), backend: opts.backend, threads: opts.threads,
        });
        process.stdout.write((opts.json ? JSON.stringify(result) : row(result)) + '\n');
      }
    });
}

function header(): string {
  return ['layers×hidden', 'batch×seq', 'params', 'train chars/s', 'step ms', 'GFLOP/s', 'sample chars/s', 'peak MB']
    .map((h, i) => (i < 2 ? h.padEnd(14) : h.padStart(15))).join('');
}

function row(r: BenchResult): string {
  return [`${r.layers}×${r.hidden}`, `${r.batch}×${r.seq}`, compact(r.params), compact(r.chars_per_s), String(r.step_ms), String(r.gflops),
    compact(r.sample_chars_per_s), String(r.peak_rss_mb)].map((c, i) => (i < 2 ? c.padEnd(14) : c.padStart(15))).join('');
}
