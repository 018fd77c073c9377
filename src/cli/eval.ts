import { Command, Option } from 'commander';
import { loadCheckpoint } from '../checkpoint/store.js';
import { evaluateText } from '../train/evaluate.js';
import { BACKENDS, defaultBackend, type BackendName } from '../kernels/index.js';
import { describeChars } from '../data/vocab.js';
import { choice } from './options.js';
import { stderrStyle as style } from './ui.js';

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('measure how well a model predicts a text file (cross-entropy per character)')
    .argument('<checkpoint>', 'a checkpoint file')
    .argument('<file>', 'a UTF-8 text file')
    .addOption(new Option('--json', 'print one JSON object for programs'))
    .addOption(new Option('--backend <name>', 'numeric kernels').argParser(choice(BACKENDS)).default(defaultBackend()))
    .addHelpText('after', `
Examples:
  $ charnn eval checkpoints/lighthouse/best.json held-out.txt
  $ charnn eval checkpoints/lighthouse/best.json held-out.txt --json`)
    .action(async (checkpointFile: string, file: string, opts: { json?: boolean; backend: BackendName }) => {
      const result = await evaluateText(await loadCheckpoint(checkpointFile), file, opts.backend);
      if (opts.json) {
        process.stdout.write(JSON.stringify(result) + '\n');
        return;
      }
      if (result.unknownChars > 0) {
        process.stderr.write(style.yellow(`warning: ${result.unknownChars} character(s) of ${file} are not in the model's vocabulary and were left out of the score: ${describeChars(result.unknown)}`) + '\n');
      }
      process.stdout.write(`${result.lossNats.toFixed(4)} nats/char  ${result.lossBits.toFixed(4)} bits/char  over ${result.chars} characters of ${file}` +
        (result.unknownChars > 0 ? ` (${result.unknownChars} unknown characters left out)` : '') + '\n');
    });
}
