import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Sampler } from '../src/sample/sampler.js';
import { handMadeCheckpoint } from './helpers/checkpoints.js';
import { charnn, tempDir } from './helpers/cli.js';

const VOCAB = ['\n', ' ', 'a', 'b', 'c', 'd', 'e'];
/** With zero weights the next character's distribution is the softmax of these biases, whatever came before. */
const BIAS = [0.1, 1.2, 2.0, -0.5, 0.7, 1.6, -1.0];

describe('min-p sampling', () => {
  it('keeps exactly the characters at least p × as likely as the most likely one, in their proportions (chi-square)', () => {
    const ckpt = handMadeCheckpoint(VOCAB, { decoderBias: BIAS });
    const p = 0.3; // shares of 'a' (the top): "\n" 0.15, " " 0.45, "a" 1, "b" 0.08, "c" 0.27, "d" 0.67, "e" 0.05
    const kept = VOCAB.filter((_, j) => Math.exp(BIAS[j] - 2.0) >= p);
    expect(kept).toEqual([' ', 'a', 'd']);
    const sampler = new Sampler(ckpt, { length: 1, seed: 3, minP: p, backend: 'js' });
    const n = 6000;
    const counts = new Map(VOCAB.map((c) => [c, 0]));
    for (let i = 0; i < n; i++) {
      const c = [...sampler.generate()].join('');
      counts.set(c, counts.get(c)! + 1);
    }
    expect(VOCAB.filter((c) => counts.get(c)! > 0)).toEqual(kept);
    const weights = kept.map((c) => Math.exp(BIAS[VOCAB.indexOf(c)]));
    const total = weights.reduce((a, b) => a + b, 0);
    const chi2 = kept.reduce((sum, c, i) => sum + (counts.get(c)! - (n * weights[i]) / total) ** 2 / ((n * weights[i]) / total), 0);
    expect(chi2).toBeLessThan(13.82); // 2 degrees of freedom, p = 0.001
  });

  it('--min-p outside 0..1 is a usage error (exit 2)', async () => {
    const dir = tempDir('minp');
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const r = await charnn(['sample', '--min-p', '1.5', '--checkpoint', 'none.json'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--min-p.*expected a number from 0 to 1/);
  });
});
