import { BEST, findNewest, LATEST } from '../checkpoint/store.js';
import { UsageError } from '../util/errors.js';
import { stderrStyle as style } from './ui.js';

/**
 * The checkpoint a command uses when none is given: the newest best.json under ./checkpoints (else the
 * newest latest.json: a run stopped before its first evaluation), named on stderr after `doing`.
 */
export async function defaultCheckpoint(doing: string): Promise<string> {
  const file = (await findNewest('checkpoints', BEST)) ?? (await findNewest('checkpoints', LATEST));
  if (!file) throw new UsageError('no checkpoint found under ./checkpoints; train one first (charnn train <corpus.txt>) or give --checkpoint <file>');
  process.stderr.write(style.dim(`${doing} ${file}`) + '\n');
  return file;
}
