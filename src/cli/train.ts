import { Command, Option } from 'commander';
import { availableParallelism, constants as osConstants } from 'node:os';
import type { TrainingConfig } from '../checkpoint/format.js';
import { BACKENDS, defaultBackend, type BackendName } from '../kernels/index.js';
import { CELL_TYPES, type ModelConfig } from '../model/model.js';
import { OPTIMIZERS } from '../train/optimizer.js';
import { LR_SCHEDULES } from '../train/schedule.js';
import { DEFAULT_CONFIG, DEFAULT_MODEL, train } from '../train/trainer.js';
import { DEFAULT_DOC_SEP } from '../data/corpus.js';
import {
  choice, documentSeparator, duration, finiteNumber, fraction, nonNegativeInt, nonNegativeNumber, positiveInt, positiveIntOrAll, positiveNumber, repeatable, seed,
} from './options.js';
import { jsonDisplay, progressDisplay } from './progress.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Command-line option name → where it goes. */
const MODEL_OPTIONS = { model: 'cell', layers: 'layers', hidden: 'hiddenSize', dropout: 'dropout' } as const;
const CONFIG_OPTIONS = {
  seqLength: 'seqLength', batchSize: 'batchSize', valFrac: 'valFrac', optimizer: 'optimizer', lr: 'lr', lrSchedule: 'lrSchedule', warmup: 'warmup',
  lrDecay: 'lrDecay', lrDecayAfter: 'lrDecayAfter', gradClip: 'gradClip', seed: 'seed', maxEpochs: 'maxEpochs',
  maxIters: 'maxIters', timeLimit: 'timeLimit', evalEvery: 'evalEvery', valMaxChars: 'valMaxChars', patience: 'patience', forgetBias: 'forgetBias', sampleEvery: 'sampleEvery',
} as const satisfies Record<string, keyof TrainingConfig>;

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a model on UTF-8 text: files, folders or standard input; checkpoints go to ./checkpoints/<corpus name>/')
    .argument('<corpus...>', 'text files, folders (every text file below, in sorted order) or - for standard input')
    .addOption(new Option('--model <cell>', 'recurrent cell').argParser(choice(CELL_TYPES)).default(DEFAULT_MODEL.cell))
    .addOption(new Option('--layers <n>', 'recurrent layers').argParser(positiveInt).default(DEFAULT_MODEL.layers))
    .addOption(new Option('--hidden <n>', 'hidden units per layer').argParser(positiveInt).default(DEFAULT_MODEL.hiddenSize))
    .addOption(new Option('--dropout <p>', 'dropout between layers while training').argParser(fraction).default(DEFAULT_MODEL.dropout))
    .addOption(new Option('--seq-length <n>', 'characters per stream per step (truncated BPTT length)').argParser(positiveInt).default(DEFAULT_CONFIG.seqLength))
    .addOption(new Option('--batch-size <n>', 'parallel streams per step').argParser(positiveInt).default(DEFAULT_CONFIG.batchSize))
    .addOption(new Option('--include <glob>', "only files under the folders that match, e.g. '*.md' or 'poems/**'; repeatable").argParser(repeatable))
    .addOption(new Option('--doc-sep <char>', "the character put between documents (files), or none").argParser(documentSeparator).default(DEFAULT_DOC_SEP, "'\\x1e'"))
    .addOption(new Option('--val-frac <f>', 'the last fraction of the corpus (files in reading order) held out for validation').argParser(nonNegativeNumber).default(DEFAULT_CONFIG.valFrac))
    .addOption(new Option('--optimizer <name>', 'optimizer').argParser(choice(OPTIMIZERS)).default(DEFAULT_CONFIG.optimizer))
    .addOption(new Option('--lr <rate>', 'learning rate').argParser(positiveNumber).default(DEFAULT_CONFIG.lr))
    .addOption(new Option('--lr-schedule <name>', 'budget: warm up, hold, then decay over the last 30% to a floor at the end of the budget (the default with --time-limit, --max-iters or --max-epochs); exp: --lr-decay every epoch (the default without); constant').argParser(choice(LR_SCHEDULES)))
    .addOption(new Option('--warmup <iters>', 'warm-up iterations of the budget schedule (default: 2% of the budget, at most 100)').argParser(positiveInt))
    .addOption(new Option('--lr-decay <factor>', 'multiply the learning rate by this every epoch after --lr-decay-after').argParser(positiveNumber).default(DEFAULT_CONFIG.lrDecay))
    .addOption(new Option('--lr-decay-after <epochs>', 'epochs before the learning rate starts to decay').argParser(nonNegativeNumber).default(DEFAULT_CONFIG.lrDecayAfter))
    .addOption(new Option('--grad-clip <norm>', 'clip the global gradient norm to this (0: off)').argParser(nonNegativeNumber).default(DEFAULT_CONFIG.gradClip))
    .addOption(new Option('--seed <n>', 'random seed: the same seed and options give the same run').argParser(seed).default(DEFAULT_CONFIG.seed))
    .addOption(new Option('--forget-bias <b>', 'initial bias of the LSTM forget gates').argParser(finiteNumber).default(DEFAULT_CONFIG.forgetBias))
    .addOption(new Option('--max-epochs <n>', 'stop after this many epochs in all (resumed runs included)').argParser(positiveNumber).default(DEFAULT_CONFIG.maxEpochs))
    .addOption(new Option('--max-iters <n>', 'stop at this iteration in all (resumed runs included)').argParser(positiveInt))
    .addOption(new Option('--time-limit <duration>', 'stop this invocation after e.g. 90s, 10m, 1h').argParser(duration))
    .addOption(new Option('--eval-every <n>', 'measure validation loss and write checkpoints every n iterations').argParser(positiveInt).default(DEFAULT_CONFIG.evalEvery))
    .addOption(new Option('--sample-every <evals>', 'print and record in the checkpoint a 300-character sample every this many evaluations (0: never)').argParser(nonNegativeInt).default(DEFAULT_CONFIG.sampleEvery))
    .addOption(new Option('--patience <evals>', 'stop when this many evaluations in a row have not improved the best validation loss').argParser(positiveInt))
    .addOption(new Option('--val-max-chars <n>', 'score at most this many characters of the validation split at each evaluation (windows spread over it), or all').argParser(positiveIntOrAll).default(DEFAULT_CONFIG.valMaxChars))
    .addOption(new Option('--checkpoint-dir <dir>', 'where latest.json and best.json go (default: checkpoints/<corpus name>)'))
    .addOption(new Option('--resume [checkpoint]', 'continue the run in the checkpoint folder, or from this checkpoint'))
    .addOption(new Option('--init-from <checkpoint>', 'start a new run from these weights (fine-tuning)'))
    .addOption(new Option('--force', 'start a new run even if the checkpoint folder holds one (it is overwritten)'))
    .addOption(new Option('--backend <name>', 'numeric kernels').argParser(choice(BACKENDS)).default(defaultBackend()))
    .addOption(new Option('--threads <n>', 'threads sharing each batch (data parallel)').argParser(positiveInt).default(availableParallelism()))
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
      const given = (name: string) => command.getOptionValueSource(name) === 'cli';
      const model: Partial<Omit<ModelConfig, 'vocabSize'>> = {};
      for (const [flag, key] of Object.entries(MODEL_OPTIONS)) if (given(flag)) Object.assign(model, { [key]: opts[flag] });
      const config: Partial<TrainingConfig> = {};
      for (const [flag, key] of Object.entries(CONFIG_OPTIONS)) if (given(flag)) Object.assign(config, { [key]: opts[flag] });
      if (config.valMaxChars === Infinity) config.valMaxChars = null; // --val-max-chars all

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
          // commander stores the parser's null (--doc-sep none) as ''.
          docSep: given('docSep') ? (opts.docSep as string) || null : undefined,
          checkpointDir: opts.checkpointDir as string | undefined,
          resume: opts.resume as string | true | undefined,
          initFrom: opts.initFrom as string | undefined,
          force: opts.force === true,
          model,
          config,
          backend: opts.backend as BackendName,
          threads: opts.threads as number,
          onEvent: display.event,
          signal: aborter.signal,
          progressInterval: json ? 1000 : 200,
        });
        process.exitCode = done.reason === 'interrupted' ? exitCode : 0;
      } finally {
        display.stop();
        for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
      }
    });
}
