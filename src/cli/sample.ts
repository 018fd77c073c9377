import { Command, InvalidArgumentError, Option } from 'commander';
import { loadCheckpoint } from '../checkpoint/store.js';
import { defaultCheckpoint } from './checkpoints.js';
import type { BackendName } from '../kernels/index.js';
import { Sampler } from '../sample/sampler.js';
import type { SeriesChunk } from '../sample/series.js';
import { loadIndex, type CopyIndex } from '../data/copy-index.js';
import { indexFileOf } from '../train/corpus-index.js';
import { RuntimeFailure, UsageError } from '../util/errors.js';
import { backendOption, choice, nonNegativeInt, positiveInt, positiveNumber, repeatable, seed, unescape } from './options.js';
import { stderrStyle as style } from './ui.js';

/** Samples of --count stepped together at most (more wait for a row to finish). */
const MAX_ROWS = 32;

export function registerSample(program: Command): void {
  program
    .command('sample')
    .description('generate text from a trained model, streamed to stdout')
    .addOption(new Option('--checkpoint <file>', 'the checkpoint to sample from (default: the newest best.json under ./checkpoints, else the newest latest.json; a run from standard input last)'))
    .addOption(new Option('--temp <t>', 'temperature (> 0): lower is safer, higher is wilder, near 0 is --argmax (also --temperature)').argParser(positiveNumber).default(1))
    .addOption(temperatureAlias())
    .addOption(new Option('--length <n>', 'characters to generate (the prime not counted); the output ends with a newline, added if the text does not end with one').argParser(nonNegativeInt).default(1000))
    .addOption(new Option('--prime <text>', 'text to start from; it is printed first; escapes as --stop').argParser(unescape))
    .addOption(new Option('--prime-unknown <how>', 'prime characters the model does not know: error or skip').argParser(choice(['error', 'skip'] as const)).default('error'))
    .addOption(new Option('--seed <n>', 'the same seed gives the same text (default: random)').argParser(seed))
    .addOption(new Option('--top-k <k>', 'sample only among the k most likely characters (k above the vocabulary size: all)').argParser(positiveInt))
    .addOption(new Option('--top-p <p>', 'nucleus sampling: only among the fewest most likely characters that together reach probability p (0 < p ≤ 1; applied after --top-k)').argParser(topP))
    .addOption(new Option('--min-p <p>', 'min-p sampling: only the characters at least p times as likely as the most likely one (0 to 1; after --top-p)').argParser(minP))
    .addOption(new Option('--argmax', 'always take the most likely character (greedy; --temp, --top-k and --top-p then do nothing)'))
    .addOption(new Option('--stop <string>', 'end a sample once it generates this string (printed too); repeatable; \\n \\t \\r \\\\ \\xHH \\u{H…} are escapes').argParser(collect).default([], 'none'))
    .addOption(new Option('--count <n>', 'independent samples, each from a fresh state and the prime, separated by a blank line (--json tells apart samples that hold blank lines themselves)').argParser(positiveInt).default(1))
    .addOption(new Option('--beam <k>', 'beam search: the most probable text a beam of k finds (mean log-probability per character), up to --length or a --stop string; no randomness, so no --temp, --top-k, --top-p, --min-p, --argmax, --seed or --count (--beam 1 is --argmax)').argParser(positiveInt))
    .addOption(new Option('--copies', "report each sample's longest span found verbatim in the training text (where from: file and line) and its share of new 10-character windows, on stderr (with --json, in each line)"))
    .addOption(new Option('--max-copy <n>', 'never emit a span longer than n characters that occurs in the training text (a candidate that would is never drawn)').argParser(positiveInt))
    .addOption(new Option('--json', 'print each sample as one line of JSON, {"text": …}, for programs'))
    .addOption(backendOption())
    .addHelpText('after', `
Examples:
  $ charnn sample --temp 0.8
  $ charnn sample --checkpoint checkpoints/lighthouse/best.json --prime "Monday, " --length 300 --seed 7
  $ charnn sample --top-p 0.9 --stop "\\n\\n" --count 3        # three paragraphs
  $ charnn sample --argmax --prime "The " --length 80
  $ charnn sample --length 100000 | less
  $ charnn sample --count 100 --length 40 --json | jq -r .text
  $ charnn sample --copies --max-copy 30                  # new text, not recited
  $ charnn sample --beam 8 --prime "The " --stop . --json  # the most probable sentence, with its score`)
    .action(async (opts: {
      checkpoint?: string; temp: number; temperature?: number; length: number; prime?: string; primeUnknown: 'error' | 'skip'; seed?: number;
      topK?: number; topP?: number; minP?: number; argmax?: boolean; stop: string[]; count: number; json?: boolean; backend: BackendName;
      copies?: boolean; maxCopy?: number; beam?: number;
    }, command: Command) => {
      if (opts.beam !== undefined) refuseWithBeam((name) => command.getOptionValueSource(name) === 'cli');
      const file = opts.checkpoint ?? (await defaultCheckpoint('sampling from'));
      const checkpoint = await loadCheckpoint(file);
      // The corpus index beside the checkpoint, for the copy report and the guard.
      const index = opts.copies || opts.maxCopy !== undefined ? loadIndex(indexFileOf(file), checkpoint.training.corpus.sha256) : null;
      const sampler = new Sampler(checkpoint, {
        rows: opts.beam ?? Math.min(opts.count, MAX_ROWS), temperature: opts.temperature ?? opts.temp, length: opts.length, prime: opts.prime, primeUnknown: opts.primeUnknown, seed: opts.seed,
        topK: opts.topK, topP: opts.topP, minP: opts.minP, argmax: opts.argmax, stop: opts.stop, backend: opts.backend,
        guard: index && opts.maxCopy !== undefined ? { index, maxCopy: opts.maxCopy } : undefined,
      });
      const { dropped } = sampler.primeText();
      if (dropped.length > 0) process.stderr.write(style.yellow(`warning: dropped ${dropped.length} prime character(s) the model does not know`) + '\n');
      const copies = opts.copies && index ? index : null;
      if (opts.beam === undefined) await writeSamples(sampler.samples(opts.count), opts.count, opts.json === true, copies, opts.maxCopy);
      else {
        const found = sampler.beam(opts.beam);
        await writeSamples([{ index: 0, text: found.text, finish: found.finish }], 1, opts.json === true, copies, opts.maxCopy, { score: found.score, logprob: found.logprob });
      }
    });
}

/** What --beam cannot be combined with, since it draws nothing at random and gives one text: each one's fix. */
const NOT_WITH_BEAM: [option: string, flag: string, why: string][] = [
  ['count', '--count', 'a beam gives one text, the same every time'],
  ['maxCopy', '--max-copy', 'a beam does not guard against copies (--copies reports them)'],
  ...(['temp', 'temperature', 'topK', 'topP', 'minP', 'argmax', 'seed'] as const).map((option): [string, string, string] =>
    [option, `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, 'a beam searches for the most probable text and draws nothing at random']),
];

function refuseWithBeam(given: (option: string) => boolean): void {
  for (const [option, flag, why] of NOT_WITH_BEAM) if (given(option)) throw new UsageError(`${flag} does not go with --beam: ${why}; drop ${flag} or --beam`);
}

/**
 * `--temperature`, char-rnn's and torch-rnn's spelling of `--temp`, accepted for it (hidden from the help,
 * which names it under --temp).
 */
export function temperatureAlias(): Option {
  return new Option('--temperature <t>').argParser(positiveNumber).conflicts('temp').hideHelp();
}

/**
 * Streams the samples to stdout as they are drawn (sample 1 a character at a time, a later one at once
 * if it was finished on the side; writes to a pipe, file or terminal go out at once;
 * when the reader is slower, we wait for it). Each sample but the last ends with a blank line, newlines
 * added only as needed, so one that ends a paragraph is not followed by two; the last ends with a newline. A reader that goes away
 * (`| head`) ends the program quietly; any other write error is reported. With `json`, each sample is
 * written whole as one line of JSON instead (with `fields`, e.g. a beam's score), so no sample's text can be taken for a separator.
 */
async function writeSamples(chunks: Iterable<SeriesChunk>, count: number, json: boolean, copies: CopyIndex | null, maxCopy?: number, fields: object = {}): Promise<void> {
  const stdout = process.stdout;
  const failures: NodeJS.ErrnoException[] = [];
  // Stays attached: a closed pipe may report more than once.
  stdout.on('error', (err: NodeJS.ErrnoException) => failures.push(err));
  const gone = () => failures.length > 0 || stdout.destroyed;
  let tail = ''; // the last two characters written
  const write = async (text: string) => {
    tail = (tail + text).slice(-2);
    if (!stdout.write(text) && !gone()) await drained();
  };
  let written = 0;
  let text = ''; // the sample's text so far, kept for --json and --copies
  let writing = 0; // the sample being written
  for (const chunk of chunks) {
    if (gone()) break;
    if (!json && chunk.index !== writing) {
      writing = chunk.index;
      await write('\n\n'.slice(tail.endsWith('\n\n') ? 2 : tail.endsWith('\n') ? 1 : 0));
    }
    if (json || copies) text += chunk.text;
    if (!json) {
      await write(chunk.text);
      written += chunk.text.length;
      // Give the event loop a turn now and then, so that a closed pipe is noticed.
      if (written >= 256) {
        written = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    if (chunk.finish === null) continue;
    if (json) {
      await write(JSON.stringify({ text, ...fields, ...(copies ? { copies: copies.copies(text) } : {}), ...(chunk.finish === 'copy' ? { finish: 'copy' } : {}) }) + '\n');
    } else {
      const which = count > 1 ? `sample ${chunk.index + 1}` : 'the sample';
      if (chunk.finish === 'copy') {
        process.stderr.write(style.yellow(`${which} ends early: every next character would have copied more than ${maxCopy} characters of the training text`) + '\n');
      }
      if (copies) process.stderr.write(style.dim(describeCopies(which, copies.copies(text))) + '\n');
    }
    text = '';
  }
  // Text ends with a newline, so that what follows (the prompt, `cat`'s next file) starts on a line of its own.
  if (!gone() && tail !== '' && !tail.endsWith('\n')) stdout.write('\n');
  const failure = failures[0];
  if (failure && failure.code !== 'EPIPE') throw new RuntimeFailure(`cannot write the sample to stdout: ${failure.message}`);
}

/** `sample 2: longest copy 43 characters, "…" (poems/a.txt:12); 96% of its 10-character windows are new` */
function describeCopies(which: string, { longest, newWindows }: ReturnType<CopyIndex['copies']>): string {
  const shown = longest.text.length > 60 ? `${longest.text.slice(0, 57)}…` : longest.text;
  const from = longest.source ? ` (${longest.source.path}:${longest.source.line})` : '';
  return `${which}: longest copy ${longest.length} characters, ${JSON.stringify(shown)}${from}; ${Math.round(newWindows * 100)}% of its 10-character windows are new`;
}

/** Resolves when stdout can take more, or has failed or closed. */
function drained(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.stdout.off('drain', done).off('error', done).off('close', done);
      resolve();
    };
    process.stdout.on('drain', done).on('error', done).on('close', done);
  });
}

/** --stop values, escapes read (see unescape). */
function collect(value: string, previous: string[]): string[] {
  if (value === '') throw new InvalidArgumentError('expected a string of at least one character.');
  return repeatable(unescape(value), previous);
}

function topP(value: string): number {
  const p = positiveNumber(value);
  if (p > 1) throw new InvalidArgumentError('expected a probability greater than 0 and at most 1.');
  return p;
}

function minP(value: string): number {
  const p = Number(value);
  if (value.trim() === '' || !(p >= 0 && p <= 1)) throw new InvalidArgumentError('expected a number from 0 to 1.');
  return p;
}
