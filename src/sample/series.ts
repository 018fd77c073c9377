import { Rng, type RngState } from '../util/rng.js';
import type { FinishReason, RowOptions, SampleBatch, SampleRow } from './batch.js';
import { Draw } from './draw.js';

/** Characters of sample `index` (samples come in order, each in order); `finish` is set on its last chunk. */
export interface SeriesChunk {
  index: number;
  text: string;
  finish: FinishReason | null;
}

interface Run {
  start: RngState; // the stream's state the sample starts from
  expectedEnd: RngState; // where its draws leave the stream if it runs its full length
  rng: Rng;
  row: SampleRow;
}

/**
 * `count` samples exactly as one random stream gives them one after another (sample i + 1 draws from
 * where sample i's draws left the stream), stepped together as rows of one batch. Where sample i + 1
 * starts is only known once sample i has ended, so the later rows are started on a guess — that the
 * samples before them run their full length, which they do unless a stop string or the copy guard ends
 * them — and a row whose guess turns out wrong starts again from the right place. Rows are checked
 * against the state their predecessor really left, so the texts are the serial ones whatever happens;
 * the guessing only decides the speed. It is adaptive: a sample that did not run its full length halves
 * how many rows may run on a guess, one that did doubles it (with stop strings that end most samples,
 * the samples soon go one at a time, as serially, instead of wasting rows).
 *
 * Returns where the last sample left the stream.
 */
export function* sampleSeries(batch: SampleBatch, options: Omit<RowOptions, 'rng'>, rng: Rng, count: number): Generator<SeriesChunk, RngState> {
  const span = Number.isFinite(options.length) ? options.length * Draw.randomsPerCharacter(options) : 0;
  let ahead = Number.isFinite(options.length) ? batch.capacity - 1 : 0; // rows allowed to run on a guess
  const runs: Run[] = [];
  const start = (state: RngState): void => {
    const runRng = Rng.fromState(state);
    const expected = Rng.fromState(state);
    for (let n = 0; n < span; n++) expected.uniform();
    runs.push({ start: state, expectedEnd: expected.state(), rng: runRng, row: batch.add({ ...options, rng: runRng, echo: true }) });
  };
  // Where sample i starts as far as is known now: where sample i - 1 ended, or would end at full length.
  const startOf = (i: number): RngState => (i === 0 ? rng.state() : runs[i - 1].row.done ? runs[i - 1].rng.state() : runs[i - 1].expectedEnd);
  let current = 0; // the sample being written out: the ones before it are out, its start is confirmed
  for (;;) {
    for (let i = current + 1; i < runs.length; i++) {
      if (sameState(runs[i].start, startOf(i))) continue;
      // A wrong guess: this sample and every later one (each guessed from the one before) start again.
      for (const run of runs.splice(i)) batch.remove(run.row);
      break;
    }
    // At most `ahead` + 1 ≤ capacity samples from the current one on, so the batch has room for them all.
    while (runs.length < count && runs.length - current <= ahead) start(startOf(runs.length));
    while (current < runs.length) {
      const { row, rng: runRng, expectedEnd } = runs[current];
      const text = row.take().map((piece) => piece.char).join('');
      if (text !== '' || row.done) yield { index: current, text, finish: row.finishReason };
      if (!row.done) break;
      ahead = sameState(runRng.state(), expectedEnd) ? Math.min(batch.capacity - 1, Math.max(1, 2 * ahead)) : Math.floor(ahead / 2);
      if (++current === count) return runRng.state();
    }
    batch.step();
  }
}

function sameState(a: RngState, b: RngState): boolean {
  return a.every((word, i) => word === b[i]);
}
