import { Command, CommanderError } from 'commander';
import { CharnnError, RuntimeFailure } from '../util/errors.js';
import { stderrStyle } from './ui.js';

/**
 * The commands, in the order `charnn --help` lists them, each registered from its own module. A module
 * brings the model, the trainer, the server… with it, so a run loads only the command it runs (see
 * commandsFor): every `charnn` process pays for its imports, and the test suite starts hundreds.
 */
const COMMANDS: Record<string, () => Promise<(program: Command) => void>> = {
  train: async () => (await import('./train.js')).registerTrain,
  sample: async () => (await import('./sample.js')).registerSample,
  info: async () => (await import('./info.js')).registerInfo,
  eval: async () => (await import('./eval.js')).registerEval,
  bench: async () => (await import('./bench.js')).registerBench,
  viz: async () => (await import('./viz.js')).registerViz,
  index: async () => (await import('./index-corpus.js')).registerIndex,
  serve: async () => (await import('./serve.js')).registerServe,
  export: async () => (await import('./export.js')).registerExport,
};

/**
 * The commands `argv` needs: the one it names (its first word that is not an option: the program's own
 * options take no value), or all of them for the program's help, `charnn help …` and a mistyped name
 * (which commander answers with the closest one).
 */
function commandsFor(argv: string[]): string[] {
  const name = argv.slice(2).find((arg) => !arg.startsWith('-'));
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? [name] : Object.keys(COMMANDS);
}

/** Runs the command line; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('charnn')
    .description('Train a character-level LSTM/GRU/RNN on any UTF-8 text, checkpoint it, resume it, and sample from it.')
    .version(await version(), '-V, --version')
    .option('--debug', 'show stack traces of unexpected errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(stderrStyle.red(text)) });
  const registers = await Promise.all(commandsFor(argv).map((name) => COMMANDS[name]()));
  for (const register of registers) register(program);
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
