import { Command, CommanderError } from 'commander';
import { CharnnError, RuntimeFailure } from '../util/errors.js';
import { registerBench } from './bench.js';
import { registerEval } from './eval.js';
import { registerIndex } from './index-corpus.js';
import { registerExport } from './export.js';
import { registerInfo } from './info.js';
import { registerSample } from './sample.js';
import { registerServe } from './serve.js';
import { registerTrain } from './train.js';
import { registerViz } from './viz.js';
import { stderrStyle } from './ui.js';

/** Runs the command line; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('charnn')
    .description('Train a character-level LSTM/GRU/RNN on any UTF-8 text, checkpoint it, resume it, and sample from it.')
    .version(await version(), '-V, --version')
    .option('--debug', 'show stack traces of unexpected errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(stderrStyle.red(text)) });
  registerTrain(program);
  registerSample(program);
  registerInfo(program);
  registerEval(program);
  registerBench(program);
  registerViz(program);
  registerIndex(program);
  registerServe(program);
  registerExport(program);
  // A reader that goes away (`charnn train --help | head -3`) ends the output quietly, as a closed pipe
  // should; without a listener, Node would print the EPIPE as an uncaught error with its stack.
  let stdoutFailure: string | null = null;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') stdoutFailure ??= err.message;
  });

  try {
    await program.parseAsync(argv);
    if (stdoutFailure !== null) throw new RuntimeFailure(`cannot write to stdout: ${stdoutFailure}`);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return report(err, argv.includes('--debug'));
  }
}

/** One line for the user: the message of a typed error, or a short note about an unexpected one. */
function report(err: unknown, debug: boolean): number {
  if (err instanceof CommanderError) {
    // Help and version are not errors; commander has already printed any usage error.
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof CharnnError) {
    process.stderr.write(stderrStyle.red(`charnn: ${err.message}`) + '\n');
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(stderrStyle.red(`charnn: unexpected error: ${message}`) + (debug ? '' : ' (run with --debug for details)') + '\n');
  if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
  return 1;
}

async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
