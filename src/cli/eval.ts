import { Command, Option } from 'commander';
import { loadCheckpoint } from '../checkpoint/store.js';
import { describeSkipped } from '../data/corpus.js';
import { describeChars } from '../data/vocab.js';
import type { BackendName } from '../kernels/index.js';
import { evaluateCorpus } from '../train/evaluate.js';
import { backendOption, repeatable } from './options.js';
import { bytes, statusLine, stderrStyle as style } from './ui.js';

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('measure how well a model predicts text (cross-entropy per character): files, folders or standard input')
    .argument('<checkpoint>', 'a checkpoint file')
    .argument('<text...>', 'UTF-8 text files, folders (every text file below) or - for standard input')
    .addOption(new Option('--include <glob>', "only files under the folders that match, e.g. '*.md'; repeatable").argParser(repeatable))
    .addOption(new Option('--json', 'print one JSON object for programs'))
    .addOption(backendOption())
    .addHelpText('after', `
Examples:
  $ charnn eval checkpoints/lighthouse/best.json held-out.txt
  $ charnn eval checkpoints/notes/best.json new-notes/ --include '*.md' --json
  $ cat held-out.txt | charnn eval checkpoints/lighthouse/best.json -`)
    .action(async (checkpointFile: string, inputs: string[], opts: { include?: string[]; json?: boolean; backend: BackendName }) => {
      const checkpoint = await loadCheckpoint(checkpointFile);
      const status = statusLine(null); // a terminal only: the result is the one line elsewhere
      const result = await evaluateCorpus(checkpoint, inputs, opts.backend, {
        include: opts.include,
        onProgress: (p) => {
          if (p.seconds >= 1) status.show(`reading: ${bytes(p.bytes)}${p.totalBytes !== null ? ` of ${bytes(p.totalBytes)}` : ''}, ${bytes(p.bytes / p.seconds)}/s`);
        },
      }).finally(() => status.stop());
      const what = inputs.join(' ');
      if (result.skipped.length > 0) process.stderr.write(style.yellow(`warning: ${describeSkipped(result.skipped)}`) + '\n');
      if (opts.json) {
        process.stdout.write(JSON.stringify(result) + '\n');
        return;
      }
      if (result.unknownChars > 0) {
        process.stderr.write(style.yellow(`warning: ${result.unknownChars} character(s) of ${what} are not in the model's vocabulary and were left out of the score: ${describeChars(result.unknown)}`) + '\n');
      }
      const files = result.files > 1 ? ` (${result.files} files)` : '';
      process.stdout.write(`${result.lossNats.toFixed(4)} nats/char  ${result.lossBits.toFixed(4)} bits/char  over ${result.chars} characters of ${what}${files}` +
        (result.unknownChars > 0 ? ` (${result.unknownChars} unknown characters left out)` : '') + '\n');
    });
}
