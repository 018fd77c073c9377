import path from 'node:path';
import { saveCheckpoint } from '../../src/checkpoint/store.js';
import { Vocab } from '../../src/data/vocab.js';
import { handMadeCheckpoint } from './checkpoints.js';

const TEXT = 'The keeper rings the bell; the sea waits.\nA lamp, a kettle, a storm!\n';

/** A random 2×16 LSTM saved as checkpoints/lighthouse/best.json under `dir`, for the tests of charnn export. */
export async function exportFixture(dir: string): Promise<string> {
  const file = path.join(dir, 'checkpoints', 'lighthouse', 'best.json');
  await saveCheckpoint(file, handMadeCheckpoint([...Vocab.fromText(TEXT).chars], { randomWeights: 0.7, model: { layers: 2, hiddenSize: 16 } }));
  return file;
}
