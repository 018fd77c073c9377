import { Rng } from '../util/rng.js';
import { rowSeed, type FinishReason, type RowOptions, type SampleBatch, type SampleRow } from './batch.js';

/** Characters of sample `index` (samples come in order, each in order); `finish` is set on its last chunk. */
export interface SeriesChunk {
  index: number;
  text: string;
  finish: FinishReason | null;
}

/**
 * `count` samples, sample i drawing from its own random stream seeded rowSeed(seed, first + i): the text
 * `charnn sample --seed <seed + first + i>` gives alone, and choice i of a `charnn serve` request with
 * that seed. They are stepped together as the rows of one batch, as many at once as it has rows; a
 * finished sample's row goes to the next one. Sample 0's characters come as they are drawn, each later
 * sample's as soon as the ones before it are out.
 */
export function* sampleSeries(batch: SampleBatch, options: Omit<RowOptions, 'rng'>, seed: number, first: number, count: number): Generator<SeriesChunk> {
  const rows: SampleRow[] = [];
  const held: string[] = []; // text of the samples after the one being written out, taken from their rows
  let current = 0; // the sample being written out: the ones before it are out
  for (;;) {
    while (rows.length < count && batch.size < batch.capacity) {
      rows.push(batch.add({ ...options, rng: new Rng(rowSeed(seed, first + rows.length)), echo: true }));
      held.push('');
    }
    for (let i = current + 1; i < rows.length; i++) held[i] += text(rows[i]);
    while (current < rows.length) {
      const row = rows[current];
      const chunk = held[current] + text(row);
      held[current] = '';
      if (chunk !== '' || row.done) yield { index: current, text: chunk, finish: row.finishReason };
      if (!row.done) break;
      if (++current === count) return;
    }
    batch.step();
  }
}

function text(row: SampleRow): string {
  return row.take().map((piece) => piece.char).join('');
}
