import { describeChars } from '../data/vocab.js';
import { describeBackend } from '../kernels/index.js';
import type { TrainEvent } from '../train/trainer.js';
import { bytes as formatBytes, clock, compact, statusLine, stderrStyle as style } from './ui.js';

/** How `charnn train` shows its events: JSON lines on stdout, or progress on stderr. */
export interface Display {
  event(e: TrainEvent): void;
  note(text: string): void;
  stop(): void;
}

export function jsonDisplay(): Display {
  return {
    event: (e) => process.stdout.write(JSON.stringify(e) + '\n'),
    note: (text) => process.stderr.write(text + '\n'),
    stop: () => {},
  };
}

/**
 * A spinner line on a terminal; plain lines (at evaluations, and after 10 s without one) when stderr is a
 * file or pipe, or a terminal that cannot redraw a line (TERM=dumb, 0 columns: see canRedraw).
 */
export function progressDisplay(): Display {
  const status = statusLine(10);
  const line = status.print;
  return {
    event(e) {
      switch (e.type) {
        case 'reading': {
          const text = `reading the corpus: ${formatBytes(e.bytes)}${e.totalBytes !== null ? ` of ${formatBytes(e.totalBytes)}` : ''}, ` +
            `${formatBytes(e.bytes / Math.max(e.seconds, 1e-3))}/s`;
          status.show(text);
          break;
        }
        case 'start': {
          const m = e.model;
          if (e.config.autoChoice && e.resumedFrom === null) line(e.config.autoChoice.message);
          if (e.addedChars.length > 0) line(`the vocabulary grows by ${e.addedChars.length} character(s) the model did not know: ${describeChars(e.addedChars)}`);
          const what = `${m.layers}×${m.hiddenSize} ${m.cell.toUpperCase()} (${compact(e.params)} parameters)`;
          const from = e.resumedFrom ? `resuming ${e.resumedFrom} at iteration ${e.iteration}` : `training a ${what}`;
          const files = e.files > 1 ? `${e.files} files, ` : '';
          const read = e.readSeconds >= 1 ? `, read in ${e.readSeconds.toFixed(1)} s (${formatBytes(e.bytes / e.readSeconds)}/s)` : '';
          line(`${style.bold('charnn')} ${from} on ${e.corpus} (${files}${compact(e.chars)} characters, ${e.vocabSize} distinct${read}), ` +
            `batch ${e.config.batchSize}×${e.config.seqLength}, ${e.itersPerEpoch} iterations/epoch, ${describeBackend(e.backend)}, ${e.threads} thread${e.threads === 1 ? '' : 's'} → ${e.checkpointDir}/`);
          if (e.valChars > 1) {
            line(e.config.valMaxChars !== null && e.config.valMaxChars < e.valChars - 1
              ? `validation: ${compact(e.valScored)} of the ${compact(e.valChars)} held-out characters at each evaluation, in windows spread over them (--val-max-chars)`
              : `validation: all ${compact(e.valChars)} held-out characters at each evaluation`);
          }
          status.show('starting');
          break;
        }
        case 'iteration': {
          const text = `iter ${e.iteration}${e.lastIteration !== null ? `/${e.lastIteration}` : ''}  epoch ${e.epoch.toFixed(2)}  ` +
            `loss ${e.smoothLoss.toFixed(3)}  val ${e.lastValLoss !== null ? e.lastValLoss.toFixed(3) : '-'}  ` +
            `${compact(e.charsPerSecond)} chars/s  ${e.etaSeconds !== null ? `ETA ${clock(e.etaSeconds)}` : `${clock(e.seconds)} elapsed`}`;
          status.show(text);
          break;
        }
        case 'eval':
          line(`iter ${e.iteration}  epoch ${e.epoch.toFixed(2)}  val loss ${e.valLoss.toFixed(4)}${e.improved ? style.green(' (best)') : `  (best ${e.bestValLoss.toFixed(4)})`}`);
          break;
        case 'checkpoint':
          break;
        case 'index':
          line(style.dim(`indexed the corpus for sample --copies and --max-copy${e.seconds >= 1 ? ` in ${e.seconds.toFixed(1)} s` : ''}: ${e.file}`));
          break;
        case 'sample':
          line(style.dim(`sample at iteration ${e.iteration} (temperature ${e.temperature}):\n`) + e.text.replace(/\n+$/, '').split('\n').map((l) => style.dim('  │ ') + l).join('\n'));
          break;
        case 'warning':
          line(style.yellow(`warning: ${e.message}`));
          break;
        case 'done': {
          status.stop();
          const why = { 'max-iters': 'reached --max-iters', 'max-epochs': 'reached --max-epochs', 'time-limit': 'reached --time-limit',
            patience: 'validation loss stopped improving (--patience)', interrupted: 'interrupted' }[e.reason];
          const last = e.lastValLoss !== null && e.lastValLoss !== e.bestValLoss ? ` (last ${e.lastValLoss.toFixed(4)})` : '';
          const best = e.bestValLoss !== null ? `, best val loss ${e.bestValLoss.toFixed(4)}${last}` : '';
          line(`${why} at iteration ${e.iteration} (epoch ${e.epoch.toFixed(2)})${best}; saved ${e.latest}${e.best ? ` and ${e.best}` : ''}`);
          break;
        }
      }
    },
    note: (text) => line(style.yellow(text)),
    stop: status.stop,
  };
}
