import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../src/checkpoint/store.js';
import { traceActivations } from '../src/inspect/activations.js';
import { charnn, runNode, syntheticText, tempDir } from './helpers/cli.js';

/** scripts/start-cost.mjs, run as a developer runs it, on a tiny model of a text in paragraphs. */
const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../scripts/start-cost.mjs');
const CHECKPOINT = 'checkpoints/run/best.json';
let dir: string;
/** Paragraphs of three lines; a.txt is the long document, b.txt a short one that falls in the held-out tenth. */
let a: string, b: string;

const startCost = (args: string[]) => runNode(SCRIPT, [CHECKPOINT, ...args], dir);

interface Row { chars: string; fresh: number; context: number; ratio: number }

function parse(stdout: string): { starts: number; rows: Row[] } {
  const lines = stdout.trim().split('\n');
  expect(lines).toHaveLength(5);
  const starts = Number(/^\S+: (\d+) paragraph starts in the held-out 0\.1 of the corpus \(\d+ characters\)$/.exec(lines[0])![1]);
  expect(lines[1]).toMatch(/^chars +fresh +after \d+ +start cost/);
  const rows = lines.slice(2).map((line) => {
    const m = /^(\d+–\d+) +(\d+\.\d{4}) +(\d+\.\d{4}) +(\d+\.\d{3})×$/.exec(line)!;
    expect(m, line).not.toBeNull();
    return { chars: m[1], fresh: Number(m[2]), context: Number(m[3]), ratio: Number(m[4]) };
  });
  return { starts, rows };
}

function paragraphs(chars: number, seed: number): string {
  return syntheticText(chars, seed).replace(/((?:[^\n]*\n){3})/g, '$1\n');
}

/** Where the script's paragraph starts are: not a newline, after a blank line or a separator, 300 characters in, 50 before the end. */
function startsOf(text: string, from: number): number[] {
  return [...text.matchAll(/(?<=\n\n|\u001e)[^\n\u001e]/g)].map((m) => m.index!).filter((p) => p >= Math.max(from, 300) && p + 50 <= text.length);
}

beforeAll(async () => {
  dir = tempDir('start-cost');
  a = paragraphs(6000, 1);
  b = paragraphs(200, 2);
  fs.writeFileSync(path.join(dir, 'a.txt'), a);
  fs.writeFileSync(path.join(dir, 'b.txt'), b);
  const r = await charnn(['train', 'a.txt', 'b.txt', '--checkpoint-dir', 'checkpoints/run', '--layers', '1', '--hidden', '16', '--seq-length', '16', '--batch-size', '4', '--max-iters', '40', '--eval-every', '40', '--threads', '1'], dir);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('scripts/start-cost.mjs', () => {
  it('finds the paragraph starts of the held-out tenth, after blank lines and after the document separator', async () => {
    const r = await startCost(['a.txt', 'b.txt']);
    expect(r.code, r.stderr).toBe(0);
    const text = `${a}\u001e${b}`;
    const expected = startsOf(text, text.length - Math.floor(text.length * 0.1));
    expect(expected).toContain(a.length + 1); // b.txt's first character, after the separator
    expect(parse(r.stdout).starts).toBe(expected.length);
  });

  it('scores the fresh reading as the model reads a text from its start, and prints each ratio as fresh / with context', async () => {
    const r = await startCost(['a.txt']);
    expect(r.code, r.stderr).toBe(0);
    const { starts, rows } = parse(r.stdout);
    expect(rows.map((row) => row.chars)).toEqual(['0–50', '0–25', '25–50']);
    // Every start follows a newline, the token activations() reads first: its surprisals are the fresh reading's.
    const ckpt = await loadCheckpoint(path.join(dir, CHECKPOINT));
    const positions = startsOf(a, a.length - Math.floor(a.length * 0.1));
    expect(positions.length).toBeGreaterThan(3);
    expect(starts).toBe(positions.length);
    const bits = [0, 0];
    for (const p of positions) {
      const { surprisal } = traceActivations(ckpt, a.slice(p, p + 50));
      surprisal.forEach((s, i) => (bits[i < 25 ? 0 : 1] += s));
    }
    const fresh = [(bits[0] + bits[1]) / (50 * starts), bits[0] / (25 * starts), bits[1] / (25 * starts)];
    rows.forEach((row, i) => {
      expect(row.fresh).toBeCloseTo(fresh[i], 3);
      expect(row.ratio).toBeCloseTo(row.fresh / row.context, 2);
    });
    expect(rows[0].context).toBeCloseTo((rows[1].context + rows[2].context) / 2, 3);
  });

  it('gives a start cost of exactly 1 when the context is the one character the fresh reading has', async () => {
    const r = await startCost(['a.txt', '--context', '1']);
    expect(r.code, r.stderr).toBe(0);
    for (const row of parse(r.stdout).rows) {
      expect(row.context).toBe(row.fresh);
      expect(row.ratio).toBe(1);
    }
  });

  it('says how to call it when the arguments are missing, and what is wrong with a bad one, in one line', async () => {
    const usage = await runNode(SCRIPT, [], dir);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^usage: node scripts\/start-cost\.mjs <checkpoint> <corpus\.\.\.>/);
    const missing = await startCost(['nothing.txt']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe('no such file or folder: nothing.txt — check the path');
  });
});
