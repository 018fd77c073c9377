import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../src/checkpoint/format.js';
import { describe as describeCheckpoint, summarize } from '../src/cli/info.js';
import { Sampler } from '../src/sample/sampler.js';
import { CharnnError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';
import { charnn, hasStackTrace, syntheticText, tempDir } from './helpers/cli.js';

/**
 * Hundreds of seeded mutants of a small real checkpoint: truncations, byte flips, deleted keys, wrong
 * types and shapes, odd numbers, bad base64, bad vocabularies, an enormous history. Each must load or be
 * refused with a one-line error (exit 2) — never an unexpected error, a stack trace or a hang.
 *
 * All mutants go through the code that `info`, `sample` and `train --resume` share (loading, then the
 * summary and a sample when it loads); a deterministic selection also goes through the real CLI, as
 * info, sample and train --resume.
 */
const MUTANTS = 480;
const THROUGH_CLI = 9;

let dir: string;
let base: string;

beforeAll(async () => {
  dir = tempDir('fuzz');
  fs.writeFileSync(path.join(dir, 'corpus.txt'), syntheticText(3000));
  const r = await charnn(['train', 'corpus.txt', '--layers', '1', '--hidden', '6', '--seq-length', '8', '--batch-size', '2', '--threads', '1',
    '--max-iters', '6', '--eval-every', '3', '--checkpoint-dir', 'base'], dir);
  expect(r.code, r.stderr).toBe(0);
  base = fs.readFileSync(path.join(dir, 'base/latest.json'), 'utf8');
});

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path to a value in the document, e.g. ['training', 'history', 0, 'trainLoss']. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const here = prefix.length > 0 ? [prefix] : [];
  if (Array.isArray(value)) return [...here, ...value.flatMap((v, i) => paths(v, [...prefix, i]))];
  if (value !== null && typeof value === 'object') return [...here, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k]))];
  return here;
}

const ODD_VALUES: Json[] = [null, 'x', '', true, [], {}, 0, -0, -1, 1.5, 2 ** 32, 2 ** 53, 1e308, -1e308, 5e-324, [1, 2], { a: 1 }];

/** One mutant of the base checkpoint's text, chosen by the generator. */
function mutate(rng: Rng, kind: number): { what: string; text: string | Buffer } {
  const doc = JSON.parse(base) as { [key: string]: any };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rng.uniform() * items.length)];
  const tensorNames = Object.keys(doc.tensors);
  const setAt = (at: (string | number)[], value: Json | undefined) => {
    let parent = doc;
    for (const key of at.slice(0, -1)) parent = parent[key];
    const last = at[at.length - 1];
    if (value === undefined) {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else parent[last] = value;
  };
  // Without the checksum, a change to tensor data reaches the checks behind it (shapes, finite values).
  const oldFormat = rng.uniform() < 0.5;
  if (oldFormat) delete doc.tensorsSha256;
  const result = (what: string) => ({ what: `${what}${oldFormat ? ' (no checksum)' : ''}`, text: JSON.stringify(doc) });
  switch (kind % 9) {
    case 0: {
      const at = Math.floor(rng.uniform() * base.length);
      return { what: `truncated at ${at}`, text: base.slice(0, at) };
    }
    case 1: {
      const bytes = Buffer.from(oldFormat ? JSON.stringify(doc) : base);
      const flips = 1 + Math.floor(rng.uniform() * 3);
      for (let i = 0; i < flips; i++) bytes[Math.floor(rng.uniform() * bytes.length)] = Math.floor(rng.uniform() * 256);
      return { what: `${flips} byte(s) flipped${oldFormat ? ' (no checksum)' : ''}`, text: bytes };
    }
    case 2: {
      const at = pick(paths(doc));
      setAt(at, undefined);
      return result(`deleted ${at.join('.')}`);
    }
    case 3:
    case 4: {
      const at = pick(paths(doc));
      const value = pick(ODD_VALUES);
      setAt(at, value);
      return result(`${at.join('.')} = ${JSON.stringify(value)}`);
    }
    case 5: {
      const name = pick(tensorNames);
      const shape: number[] = doc.tensors[name].shape;
      const changed = pick([[...shape].reverse(), [...shape, 1], shape.slice(1), shape.map((d) => d * 2), [shape.reduce((a, b) => a * b, 1)], [0]]);
      doc.tensors[name].shape = changed;
      return result(`tensor ${name} shape [${shape}] → [${changed}]`);
    }
    case 6: {
      const name = pick(tensorNames);
      const data: string = doc.tensors[name].data;
      const cut = Math.floor(rng.uniform() * data.length);
      const changed = pick([data.slice(0, cut), `${data.slice(0, cut)}!${data.slice(cut + 1)}`, `${data}=`, '', `${data}AAAA`, data.replace(/=+$/, '')]);
      doc.tensors[name].data = changed;
      return result(`tensor ${name} data changed at ${cut}`);
    }
    case 7: {
      const vocab: Json[] = doc.vocab;
      const i = Math.floor(rng.uniform() * vocab.length);
      const change = pick(['duplicate', 'two characters', 'empty', 'number', 'removed', 'added', 'not an array'] as const);
      if (change === 'duplicate') vocab[i] = vocab[(i + 1) % vocab.length];
      else if (change === 'two characters') vocab[i] = 'ab';
      else if (change === 'empty') vocab[i] = '';
      else if (change === 'number') vocab[i] = 7;
      else if (change === 'removed') vocab.splice(i, 1);
      else if (change === 'added') vocab.push('\u{1F98A}');
      else doc.vocab = 'abc';
      return result(`vocab: ${change} at ${i}`);
    }
    default: {
      // Numbers that are valid JSON but odd: each numeric field of model, config and training in turn.
      const numeric = paths(doc).filter((at) => at[0] !== 'tensors' && typeof at.reduce((v: any, k) => v?.[k], doc) === 'number');
      const at = pick(numeric);
      const value = pick([0, -1, 1e308, -1e308, 0.5, 2 ** 53 + 2, 1e-300, 4294967296]);
      setAt(at, value);
      if (rng.uniform() < 0.1) {
        const point = doc.training.history[0];
        doc.training.history = Array.from({ length: 70_000 }, (_, i) => ({ ...point, iteration: Math.min(i, doc.training.iteration) }));
        return result(`${at.join('.')} = ${value}, and a history of 70000 points`);
      }
      return result(`${at.join('.')} = ${value}`);
    }
  }
}

function mutants(): { what: string; text: string | Buffer }[] {
  const rng = new Rng(20261129);
  return Array.from({ length: MUTANTS }, (_, i) => mutate(rng, i));
}

describe('checkpoint fuzzing', () => {
  it(`${MUTANTS} seeded mutants each load or are refused with one line (in process: loading, info's summary, sampling)`, async () => {
    let loaded = 0;
    for (const { what, text } of mutants()) {
      // A turn for the event loop between mutants: vitest's worker must answer its runner within 60 s.
      await new Promise((resolve) => setImmediate(resolve));
      let ckpt;
      try {
        ckpt = parseCheckpoint(typeof text === 'string' ? text : text.toString('utf8'), 'mutant.json');
      } catch (err) {
        expect(err, `${what}: ${(err as Error).stack}`).toBeInstanceOf(CharnnError);
        expect((err as CharnnError).exitCode, what).toBe(2);
        expect((err as Error).message, what).toMatch(/^mutant\.json: [^\n]+$/);
        continue;
      }
      loaded++;
      expect(describeCheckpoint(summarize(ckpt)), what).toMatch(/^model /);
      const sample = [...new Sampler(ckpt, { length: 20, seed: 1, backend: 'js' }).generate()].join('');
      expect([...sample].length, what).toBe(20);
    }
    expect(loaded).toBeGreaterThan(0); // some changes are benign (a name, a loss within range)…
    expect(loaded).toBeLessThan(MUTANTS / 2); // …most are not
  });

  it(`${THROUGH_CLI} of them through the real CLI: info, sample and train --resume exit 0, or 2 with one line`, async () => {
    const all = mutants();
    const step = Math.floor(MUTANTS / THROUGH_CLI);
    for (let m = 0; m < THROUGH_CLI; m++) {
      // Every ninth mutant is of the same kind: walk through the kinds.
      const { what, text } = all[m * step + (m % 9)];
      const file = `mutant-${m}.json`;
      fs.writeFileSync(path.join(dir, file), text);
      for (const args of [['info', file], ['sample', '--checkpoint', file, '--length', '20', '--seed', '1'],
        ['train', 'corpus.txt', '--resume', file, '--max-iters', '9', '--threads', '1', '--checkpoint-dir', `resumed-${m}`]]) {
        const r = await charnn(args, dir);
        const context = `${what} → charnn ${args[0]}: exit ${r.code}\n${r.stderr}`;
        expect([0, 2], context).toContain(r.code);
        expect(r.stderr, context).not.toMatch(/unexpected error/);
        expect(hasStackTrace(r.stderr), context).toBe(false);
        // train may have printed its start line before a check of the corpus against the checkpoint.
        if (r.code === 2) expect(r.stderr, context).toMatch(args[0] === 'train' ? /(^|\n)charnn: [^\n]+\n$/ : /^charnn: [^\n]+\n$/);
      }
    }
  });
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// Two mutants the fuzzing found: a value nested a million arrays deep, and vocabulary entries that are
// not one character. Each is refused by `info` and `sample` with exit 2 and one line that names the
// field and what to do.

/** `info` and `sample` on the checkpoint text both exit 2 with one line matching `message`. */
async function expectRefused(name: string, text: string, message: RegExp): Promise<void> {
  fs.writeFileSync(path.join(dir, name), text);
  for (const args of [['info', name], ['sample', '--checkpoint', name, '--length', '10', '--seed', '1']]) {
    const r = await charnn(args, dir);
    const context = `charnn ${args[0]} ${name}: exit ${r.code}\n${r.stderr.slice(0, 500)}`;
    expect(r.code, context).toBe(2);
    expect(r.stdout, context).toBe('');
    expect(hasStackTrace(r.stderr), context).toBe(false);
    expect(r.stderr, context).toMatch(message);
    expect(r.stderr.split('\n'), context).toHaveLength(2); // one line and its newline
  }
}

describe('a checkpoint with a value nested a million arrays deep', () => {
  const DEEP = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
  const cases: [string, (doc: { [key: string]: any }) => void][] = [
    ['config.seed', (doc) => (doc.config.seed = 'DEEP')],
    ['training.history[0].seconds', (doc) => (doc.training.history[0].seconds = 'DEEP')],
    ['training.corpus.docSep', (doc) => (doc.training.corpus.docSep = 'DEEP')],
  ];

  it.each(cases)('in %s is refused in one line naming the field (info and sample), not a stack overflow', async (field, change) => {
    const doc = JSON.parse(base);
    change(doc);
    const text = JSON.stringify(doc).replace('"DEEP"', DEEP);
    const quoted = field.replace(/[.[\]]/g, (c) => `\\${c}`);
    await expectRefused(`deep-${field}.json`, text,
      new RegExp(`^charnn: deep-${quoted}\\.json: "${quoted}": .*\\(found \\[{40}…\\); fix it or use another checkpoint\\n$`));
  });
});

describe('a checkpoint whose vocabulary entry is not exactly one code point', () => {
  const cases: [string, string, string][] = [
    ['a lone surrogate', '\ud800', '"\\\\ud800" \\(a lone surrogate, half of a UTF-16 pair\\)'],
    ['the other half alone', '\udfff', '"\\\\udfff" \\(a lone surrogate, half of a UTF-16 pair\\)'],
    ['a base letter and a combining mark', 'e\u0301', '"e\\\\u0301" \\(2 code points\\)'],
    ['two characters', 'ab', '"ab" \\(2 code points\\)'],
    ['an emoji and a variation selector', '\u2764\ufe0f', '"❤\\\\ufe0f" \\(2 code points\\)'],
  ];

  it.each(cases)('(%s) is refused in one line naming the entry (info and sample), not sampled from', async (what, entry, shown) => {
    const doc = JSON.parse(base);
    doc.vocab[3] = entry;
    await expectRefused(`vocab-${what.replace(/ /g, '-')}.json`, JSON.stringify(doc),
      new RegExp(`^charnn: vocab-[a-z-]+\\.json: "vocab\\[3\\]" must be one character, found ${shown}; use another checkpoint\\n$`));
  });

  it('an astral character (two UTF-16 units, one code point) is still one character', async () => {
    const doc = JSON.parse(base);
    doc.vocab[3] = '\u{1F98A}';
    fs.writeFileSync(path.join(dir, 'fox.json'), JSON.stringify(doc));
    const r = await charnn(['info', 'fox.json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/vocabulary .*🦊/);
  });
});
