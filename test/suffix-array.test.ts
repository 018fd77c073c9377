import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nativeSuffixArray, saisSuffixArray, suffixArray } from '../src/data/suffix-array.js';
import { charnn, syntheticText, tempDir } from './helpers/cli.js';

/** A seeded generator of small numbers. */
function randomInts(seed: number) {
  let s = seed >>> 0;
  return (below: number) => Math.floor(((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * below);
}

// The addon sorts suffixes only when it was built with libdivsufsort (build/native-build.txt says which).
const native = nativeSuffixArray(new Uint8Array(1)) !== null;
const title = 'the suffix array by libdivsufsort' + (native ? '' : ' (skipped: the addon has no libdivsufsort; apt-get install -y libdivsufsort-dev)');

let dir: string | undefined;
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!native)(title, () => {
  it('is SA-IS\'s exactly: random texts over small and large alphabets, periodic ones, the byte 0 and 255, every small length', () => {
    const next = randomInts(23);
    const texts: [Uint8Array, number][] = [
      [new Uint8Array(0), 1],
      [new Uint8Array(5000), 1], // "aaaa…" over the token 0: no sentinel may sort before it
      [Uint8Array.from({ length: 5000 }, (_, i) => i % 2), 2], // "abab…"
      [Uint8Array.from({ length: 5001 }, (_, i) => [0, 1, 1, 0, 2][i % 5]), 3],
      [Uint8Array.from({ length: 6000 }, (_, i) => (i % 97 < 60 ? i % 3 : next(4))), 4],
      [Uint8Array.from({ length: 20000 }, () => next(2)), 2],
      [Uint8Array.from({ length: 20000 }, () => next(256)), 256],
      [Uint8Array.from({ length: 20000 }, (_, i) => (i % 50 === 0 ? 255 : next(3))), 256],
      [Uint8Array.from({ length: 50000 }, () => next(70)), 70],
    ];
    for (let trial = 0; trial < 400; trial++) {
      const alphabet = [1, 2, 3, 30, 256][trial % 5];
      texts.push([Uint8Array.from({ length: 1 + next(60) }, () => next(alphabet)), alphabet]);
    }
    for (const [t, alphabet] of texts) {
      const sa = nativeSuffixArray(t);
      expect(sa, `${t.length} over ${alphabet}`).toEqual(saisSuffixArray(t, alphabet).slice());
      expect(suffixArray(t, alphabet)).toEqual(sa); // the index's builder is the native one for byte tokens
    }
  });

  it('charnn index writes the same file with the addon as without it (SA-IS)', async () => {
    dir = tempDir('suffix-array');
    fs.writeFileSync(path.join(dir, 'notes.txt'), syntheticText(20000, 7));
    const train = await charnn(['train', 'notes.txt', '--layers', '1', '--hidden', '8', '--max-iters', '1', '--threads', '1', '--no-index'], dir);
    expect(train.code, train.stderr).toBe(0);
    const indexFile = path.join(dir, 'checkpoints/notes/corpus.index');
    const withAddon = await charnn(['index', 'checkpoints/notes/latest.json'], dir);
    expect(withAddon.code, withAddon.stderr).toBe(0);
    const nativeBytes = fs.readFileSync(indexFile);
    fs.rmSync(indexFile);
    const without = await charnn(['index', 'checkpoints/notes/latest.json'], dir, { CHARNN_NATIVE_ADDON: path.join(dir, 'missing.node') });
    expect(without.code, without.stderr).toBe(0);
    expect(fs.readFileSync(indexFile).equals(nativeBytes)).toBe(true);
  });
});
