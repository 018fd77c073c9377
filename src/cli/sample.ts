import { Command, InvalidArgumentError, Option } from 'commander';
import { BEST, findNewest, loadCheckpoint } from '../checkpoint/store.js';
import { BACKENDS, defaultBackend, type BackendName } from '../kernels/index.js';
import { Sampler } from '../sample/sampler.js';
import { UsageError } from '../util/errors.js';
import { choice, nonNegativeInt, positiveInt, positiveNumber } from './options.js';
import { stderrStyle as style } from './ui.js';

/** Written between samples of --count. */
export const SAMPLE_SEPARATOR = '\n\n';

export function registerSample(program: Command): void {
  program
    .command('sample')
    .description('generate text from a trained model, streamed to stdout')
    .addOption(new Option('--checkpoint <file>', 'the checkpoint to sample from (default: the newest best.json under ./checkpoints)'))
    .addOption(new Option('--temp <t>', 'temperature: lower is safer, higher is wilder').argParser(positiveNumber).default(1))
    .addOption(new Option('--length <n>', 'characters to generate (the prime not counted)').argParser(nonNegativeInt).default(1000))
    .addOption(new Option('--prime <text>', 'text to start from; it is printed first'))
    .addOption(new Option('--prime-unknown <how>', 'prime characters the model does not know: error or skip').argParser(choice(['error', 'skip'] as const)).default('error'))
    .addOption(new Option('--seed <n>', 'the same seed gives the same text (default: random)').argParser(nonNegativeInt))
    .addOption(new Option('--top-k <k>', 'sample only among the k most likely characters').argParser(positiveInt))
    .addOption(new Option('--top-p <p>', 'sample only among the most likely characters that make up probability p').argParser(topP))
    .addOption(new Option('--argmax', 'always take the most likely character'))
    .addOption(new Option('--stop <string>', 'end a sample when it produces this (repeatable)').argParser(collect).default([]))
    .addOption(new Option('--count <n>', 'number of samples, separated by a blank line').argParser(positiveInt).default(1))
    .addOption(new Option('--backend <name>', 'numeric kernels').argParser(choice(BACKENDS)).default(defaultBackend()))
    .addHelpText('after', `
Examples:
  $ charnn sample --temp 0.8
  $ charnn sample --checkpoint checkpoints/lighthouse/best.json --prime "Monday, " --length 300 --seed 7
  $ charnn sample --top-p 0.9 --stop "\\n\\n" --count 3
  $ charnn sample --length 100000 | less`)
    .action(async (opts: {
      checkpoint?: string; temp: number; length: number; prime?: string; primeUnknown: 'error' | 'skip'; seed?: number;
      topK?: number; topP?: number; argmax?: boolean; stop: string[]; count: number; backend: BackendName;
    }) => {
      let file = opts.checkpoint;
      if (file === undefined) {
        file = (await findNewest('checkpoints', BEST)) ?? undefined;
        if (!file) throw new UsageError('no checkpoint found under ./checkpoints; train one first (charnn train <corpus.txt>) or give --checkpoint <file>');
        process.stderr.write(style.dim(`sampling from ${file}`) + '\n');
      }
      const sampler = new Sampler(await loadCheckpoint(file), {
        temperature: opts.temp, length: opts.length, prime: opts.prime, primeUnknown: opts.primeUnknown, seed: opts.seed,
        topK: opts.topK, topP: opts.topP, argmax: opts.argmax, stop: opts.stop, backend: opts.backend,
      });
      const { dropped } = sampler.primeText();
      if (dropped.length > 0) process.stderr.write(style.yellow(`warning: dropped ${dropped.length} prime character(s) the model does not know`) + '\n');
      await writeSamples(sampler, opts.count);
    });
}

/**
 * Streams the samples to stdout a character at a time. A reader that goes away (`| head`) ends the
 * program quietly.
 */
async function writeSamples(sampler: Sampler, count: number): Promise<void> {
  let closed = false;
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') closed = true;
    else throw err;
  };
  process.stdout.on('error', onError);
  try {
    for (let s = 0; s < count && !closed; s++) {
      if (s > 0) process.stdout.write(SAMPLE_SEPARATOR);
      let n = 0;
      for (const char of sampler.generate()) {
        if (closed) break;
        if (!process.stdout.write(char)) await drained();
        // Let a closed pipe be noticed now and then.
        if (++n % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    if (!closed && process.stdout.isTTY) process.stdout.write('\n'); // leave the prompt on a line of its own
  } finally {
    if (!closed) process.stdout.off('error', onError);
  }
}

/** Resolves when stdout can take more, or has failed or closed (then `closed` is set by the error handler). */
function drained(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.stdout.off('drain', done).off('error', done).off('close', done);
      resolve();
    };
    process.stdout.on('drain', done).on('error', done).on('close', done);
  });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value.replace(/\\n/g, '\n').replace(/\\t/g, '\t')];
}

function topP(value: string): number {
  const p = positiveNumber(value);
  if (p > 1) throw new InvalidArgumentError('expected a probability greater than 0 and at most 1.');
  return p;
}
