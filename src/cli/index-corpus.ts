import { Command } from 'commander';
import { indexRun } from '../train/corpus-index.js';
import { defaultCheckpoint } from './checkpoints.js';
import { stderrStyle as style } from './ui.js';

export function registerIndex(program: Command): void {
  program
    .command('index')
    .description("index the text a run was trained on, beside its checkpoints, for sample --copies and --max-copy (training writes it when it ends; this builds it for older runs)")
    .argument('[checkpoint]', 'a checkpoint of the run (default: the one charnn sample would use)')
    .addHelpText('after', `
Examples:
  $ charnn index
  $ charnn index checkpoints/lighthouse/best.json`)
    .action(async (checkpointFile: string | undefined) => {
      const file = checkpointFile ?? (await defaultCheckpoint('indexing the corpus of'));
      const started = performance.now();
      const { file: written, chars } = await indexRun(file);
      process.stderr.write(`indexed ${chars} characters in ${((performance.now() - started) / 1000).toFixed(1)} s: ${style.bold(written)}\n`);
    });
}
