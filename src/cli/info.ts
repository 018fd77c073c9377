import { Command, Option } from 'commander';
import type { Checkpoint, HistoryPoint, TrainingSample } from '../checkpoint/format.js';
import { loadCheckpoint } from '../checkpoint/store.js';
import { describeParams } from '../model/model.js';
import { lineChart } from './chart.js';
import { clock, compact, stdoutStyle } from './ui.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('describe a checkpoint: model, vocabulary, training progress and the loss curve')
    .argument('<checkpoint>', 'a checkpoint file, e.g. checkpoints/lighthouse/best.json')
    .addOption(new Option('--json', 'print one JSON object for programs'))
    .addHelpText('after', `
Examples:
  $ charnn info checkpoints/lighthouse/best.json
  $ charnn info checkpoints/lighthouse/latest.json --json | jq .bestValLoss`)
    .action(async (file: string, opts: { json?: boolean }) => {
      const summary = summarize(await loadCheckpoint(file));
      process.stdout.write(opts.json ? JSON.stringify(summary) + '\n' : describe(summary) + '\n');
    });
}

export interface CheckpointSummary {
  cell: string;
  layers: number;
  hiddenSize: number;
  dropout: number;
  parameters: number;
  vocabSize: number;
  vocabPreview: string;
  corpus: string;
  corpusChars: number;
  /** Documents the corpus was read from. */
  corpusFiles: number;
  iteration: number;
  epoch: number;
  bestValLoss: number | null;
  lastValLoss: number | null;
  trainLoss: number | null;
  trainingSeconds: number;
  /** The learning rate now, and the budget schedule's cycle (null with the other schedules). */
  lr: number;
  schedule: Checkpoint['training']['schedule'];
  config: Checkpoint['config'];
  history: HistoryPoint[];
  /** The newest sample recorded while training (--sample-every), if any. */
  lastSample: TrainingSample | null;
}

export function summarize(ckpt: Checkpoint): CheckpointSummary {
  const t = ckpt.training;
  const last = t.history[t.history.length - 1];
  return {
    cell: ckpt.model.cell, layers: ckpt.model.layers, hiddenSize: ckpt.model.hiddenSize, dropout: ckpt.model.dropout,
    parameters: describeParams(ckpt.model).reduce((n, p) => n + p.size, 0),
    vocabSize: ckpt.vocab.length,
    vocabPreview: ckpt.vocab.map((c) => (c === '\n' ? '↵' : c === '\r' ? '␍' : c === '\t' ? '⇥' : c === ' ' ? '␠' : c === '\u001e' ? '␞' : c)).slice(0, 80).join(''),
    corpus: t.corpus.name, corpusChars: t.corpus.chars, corpusFiles: t.corpus.files?.length ?? 1,
    iteration: t.iteration, epoch: last?.epoch ?? t.epoch,
    bestValLoss: t.bestValLoss, lastValLoss: t.lastValLoss, trainLoss: t.smoothLoss,
    trainingSeconds: t.seconds, lr: t.lr, schedule: t.schedule ?? null, config: ckpt.config, history: t.history, lastSample: t.samples?.at(-1) ?? null,
  };
}

export function describe(s: CheckpointSummary): string {
  const loss = (v: number | null) => (v === null ? '-' : `${v.toFixed(4)} nats/char (${(v / Math.LN2).toFixed(3)} bits)`);
  const lines = [
    `model       ${s.layers}×${s.hiddenSize} ${s.cell.toUpperCase()}${s.dropout > 0 ? `, dropout ${s.dropout}` : ''}, ${compact(s.parameters)} parameters`,
    `vocabulary  ${s.vocabSize} characters: ${s.vocabPreview}${s.vocabSize > 80 ? '…' : ''}`,
    `corpus      ${s.corpus} (${s.corpusFiles > 1 ? `${s.corpusFiles} files, ` : ''}${compact(s.corpusChars)} characters)`,
    `training    iteration ${s.iteration}, epoch ${s.epoch.toFixed(2)}, ${clock(s.trainingSeconds)}; batch ${s.config.batchSize}×${s.config.seqLength}, ${s.config.optimizer} lr ${s.config.lr}`,
    `schedule    ${describeSchedule(s)}`,
    ...(s.config.autoChoice ? [`chosen      ${s.config.autoChoice.message.replace(/;.*/, '')}`] : []),
    `train loss  ${loss(s.trainLoss)}`,
    `val loss    best ${loss(s.bestValLoss)}, last ${loss(s.lastValLoss)}`,
  ];
  if (s.history.length >= 2) lines.push('', 'loss (nats/char)', ...lossChart(s.history));
  if (s.lastSample) {
    lines.push('', `sample at iteration ${s.lastSample.iteration} (temperature ${s.lastSample.temperature}):`,
      ...s.lastSample.text.replace(/\n+$/, '').split('\n').map((l) => `  │ ${l}`));
  }
  return lines.join('\n');
}

/** The learning-rate schedule in a few words: the budget cycle's warm-up and end, or the exp decay. */
function describeSchedule(s: CheckpointSummary): string {
  const c = s.schedule;
  switch (s.config.lrSchedule ?? 'exp') {
    case 'budget':
      if (!c) return 'budget';
      return `budget: from iteration ${c.start}, warm-up ${c.warmup ?? '2% of the time'}, ` +
        `down to a tenth of --lr ${c.horizon !== null ? `at iteration ${c.horizon}` : `at the end of ${clock(c.seconds ?? 0)}`}; lr now ${s.lr.toPrecision(3)}`;
    case 'constant':
      return `constant, lr ${s.lr}`;
    default:
      return `exp: ×${s.config.lrDecay} every epoch after ${s.config.lrDecayAfter}; lr now ${s.lr.toPrecision(3)}`;
  }
}

/** The loss history as a terminal line chart over iterations: training dotted, validation solid (cyan). */
export function lossChart(history: readonly HistoryPoint[]): string[] {
  return lineChart([
    { label: 'train loss', points: history.flatMap((h) => (h.trainLoss !== null ? [{ x: h.iteration, y: h.trainLoss }] : [])), paint: (t) => t, dotted: true },
    {
      label: 'validation loss',
      points: history.flatMap((h) => (h.valLoss !== null ? [{ x: h.iteration, y: h.valLoss }] : [])),
      paint: (t) => stdoutStyle.cyan(t),
    },
  ], { xLabel: 'iteration' });
}
