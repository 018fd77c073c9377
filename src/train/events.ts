import type { TrainingConfig } from '../checkpoint/options.js';
import type { BackendName } from '../kernels/index.js';
import type { ModelConfig } from '../model/model.js';

/** What a training run tells its caller as it goes (`charnn train --json` prints each as a line). */
export type StopReason = 'max-iters' | 'max-epochs' | 'time-limit' | 'patience' | 'interrupted';

export type TrainEvent =
  | { type: 'reading'; bytes: number; totalBytes: number | null; seconds: number }
  | { type: 'start'; corpus: string; files: number; bytes: number; readSeconds: number; chars: number; valChars: number; valScored: number; vocabSize: number; params: number; model: ModelConfig; config: TrainingConfig;
      iteration: number; resumedFrom: string | null; addedChars: readonly string[]; checkpointDir: string; backend: BackendName; threads: number; itersPerEpoch: number }
  | { type: 'iteration'; iteration: number; lastIteration: number | null; epoch: number; loss: number; smoothLoss: number; lr: number; charsPerSecond: number;
      seconds: number; etaSeconds: number | null; lastValLoss: number | null }
  | { type: 'eval'; iteration: number; epoch: number; valLoss: number; bestValLoss: number; improved: boolean }
  | { type: 'checkpoint'; iteration: number; file: string }
  | { type: 'sample'; iteration: number; temperature: number; text: string }
  | { type: 'warning'; message: string }
  | { type: 'index'; file: string; seconds: number }
  | { type: 'done'; reason: StopReason; iteration: number; epoch: number; bestValLoss: number | null; lastValLoss: number | null;
      latest: string; best: string | null };
