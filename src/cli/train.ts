import { Command, Option } from 'commander';
import { constants as osConstants } from 'node:os';
import { ALL_OPTIONS, DEFAULT_CONFIG, DEFAULT_MODEL, MODEL_OPTIONS, type TrainingConfig } from '../checkpoint/options.js';
import type { BackendName } from '../kernels/index.js';
import type { ModelConfig } from '../model/model.js';
import { train } from '../train/trainer.js';
import { DEFAULT_DOC_SEP } from '../data/corpus.js';
import type { Threads } from '../train/threads.js';
import { backendOption, documentSeparator, keepingNull, optionParser, optionValue, repeatable, threadsOption } from './options.js';
import { jsonDisplay, progressDisplay } from './progress.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const DEFAULTS: Record<string, unknown> = { ...DEFAULT_MODEL, ...DEFAULT_CONFIG };

/** The model and training options, from their table, each with its default for a new run. */
const tableOptions = Object.entries(ALL_OPTIONS).map(([key, spec]) => {
  const option = new Option(spec.flag, spec.help).argParser(optionParser(spec));
  const fallback = DEFAULTS[key];
  if (fallback !== null && fallback !== undefined && key !== 'lrSchedule') option.default(fallback);
  return { key, option };
});

export function registerTrain(program: Command): void {
  const command = program
    .command('train')
    .description('train a model on UTF-8 text: files, folders or standard input; checkpoints go to ./checkpoints/<corpus name>/')
    .argument('<corpus...>', 'text files, folders (every text file below, in sorted order) or - for standard input');
  for (const { option } of tableOptions) command.addOption(option);
  command
    .addOption(new Option('--include <glob>', "only files under the folders that match, e.g. '*.md' or 'poems/**'; repeatable").argParser(repeatable))
    .addOption(new Option('--doc-sep <char>', "the character put between documents (files), or none").argParser(keepingNull(documentSeparator)).default(DEFAULT_DOC_SEP, "'\\x1e'"))
    .addOption(new Option('--checkpoint-dir <dir>', 'where latest.json and best.json go (default: checkpoints/<corpus name>, or with --resume <file> that file\'s folder)'))
    .addOption(new Option('--resume [checkpoint]', 'continue the run in the checkpoint folder, or from this checkpoint'))
    .addOption(new Option('--init-from <checkpoint>', 'start a new run from these weights (fine-tuning)'))
    .addOption(new Option('--force', 'start a new run even if the checkpoint folder holds one (it is overwritten)'))
    .addOption(backendOption())
    .addOption(threadsOption())
    .addOption(new Option('--no-index', 'do not index the corpus when training ends (sample --copies and --max-copy need the index; charnn index builds it later)'))
    .addOption(new Option('--json', 'print one JSON event per line on stdout instead of progress'))
    .addHelpText('after', `
Examples:
  $ charnn train corpora/lighthouse.txt --time-limit 1m     # model and schedule chosen for the minute
  $ charnn train input.txt --time-limit 10m --layers 2 --hidden 256 --lr-schedule constant
  $ charnn train notes/ --include '*.md'                    # every .md file below notes/
  $ cat *.log | charnn train -                              # standard input; checkpoints/stdin/
  $ charnn train input.txt --layers 2 --hidden 256 --dropout 0.2 --max-epochs 20
  $ charnn train input.txt --hidden 256 --patience 5     # stop once it starts to overfit
  $ charnn train input.txt --resume --max-epochs 40     # carry on, up to 40 epochs in all
  $ charnn train other.txt --init-from checkpoints/input/best.json`)
    .action(async (corpus: string[], opts: Record<string, unknown>, command: Command) => {
      // Only the options the user gave: the library fills in the rest (on resume, from the checkpoint).
      const model: Partial<Omit<ModelConfig, 'vocabSize'>> = {};
      const config: Partial<TrainingConfig> = {};
      for (const { key, option } of tableOptions) {
        const name = option.attributeName(); // --hidden holds hiddenSize, --model the cell
        if (command.getOptionValueSource(name) === 'cli') Object.assign(key in MODEL_OPTIONS ? model : config, { [key]: optionValue(opts[name]) });
      }
      const given = (name: string) => command.getOptionValueSource(name) === 'cli';

      const json = opts.json === true;
      const display = json ? jsonDisplay() : progressDisplay();
      // Ctrl-C, `kill`, `docker stop`, systemd and a closed terminal all stop training the same way: finish
      // the iteration, save, say where, and exit 128 + the signal's number.
      const aborter = new AbortController();
      let exitCode = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        const code = 128 + osConstants.signals[signal];
        if (aborter.signal.aborted) process.exit(code); // a second signal does not wait for the checkpoint
        exitCode = code;
        aborter.abort();
        // After a hang-up the terminal may be gone: writing to it must not stop the checkpoint.
        if (signal === 'SIGHUP') for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
        display.note(`interrupted (${signal}): saving a checkpoint (Ctrl-C again to quit without it)`);
      };
      for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
      try {
        const done = await train({
          corpusPath: corpus,
          include: opts.include as string[] | undefined,
          docSep: given('docSep') ? (optionValue(opts.docSep) as string | null) : undefined,
          checkpointDir: opts.checkpointDir as string | undefined,
          resume: opts.resume as string | true | undefined,
          initFrom: opts.initFrom as string | undefined,
          force: opts.force === true,
          model,
          config,
          backend: opts.backend as BackendName,
          threads: opts.threads as Threads,
          onEvent: display.event,
          signal: aborter.signal,
          progressInterval: json ? 1000 : 200,
          index: opts.index !== false,
        });
        process.exitCode = done.reason === 'interrupted' ? exitCode : 0;
      } finally {
        display.stop();
        for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
      }
    });
}
