import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain-JavaScript module of scripts/
import { chromiumMissing } from '../scripts/chromium.mjs';
import { runNodeAsync, tempDir } from './helpers/cli.js';
import { exportFixture } from './helpers/export.js';

/** The scripts BENCHMARKS.md quotes for charnn export, and the bundles the build makes for it. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CKPT = 'checkpoints/lighthouse/best.json';
let dir: string;

beforeAll(async () => {
  dir = tempDir('export-scripts');
  await exportFixture(dir);
  fs.writeFileSync(path.join(dir, 'held.txt'), 'The keeper rings the bell.\nA lamp, a storm; the sea waits!\n'.repeat(20));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the browser bundles (npm run build)', () => {
  it.each(['web.js', 'module.js', 'page.js'])('%s imports nothing, from Node or elsewhere', (name) => {
    const code = fs.readFileSync(path.join(ROOT, 'dist/bundle', name), 'utf8');
    expect(code).not.toMatch(/\bfrom\s*["']|\bimport\s*\(|\brequire\s*\(|["']node:/);
  });
});

describe('scripts/export-precision.mjs', { timeout: 120_000 }, () => {
  it('gives each precision\'s page and module size and its validation-loss change, none at f32', async () => {
    const r = await runNodeAsync(path.join(ROOT, 'scripts/export-precision.mjs'), ['held.txt', CKPT], dir);
    expect(r.code, r.stderr).toBe(0);
    const rows = [...r.stdout.matchAll(/^\| 2×16 lstm \| (\w+) \| (\d+) kB \| (\d+) kB \| (\d\.\d+) \| ([+-]\d\.\d+) \|$/gm)];
    expect(rows.map((m) => m[1])).toEqual(['f32', 'f16', 'int8']);
    expect(Number(rows[0][5])).toBe(0);
    expect(Math.abs(Number(rows[1][5]))).toBeLessThan(0.001);
    expect(Math.abs(Number(rows[2][5]))).toBeLessThan(0.01);
  });

  it('says how to call it when the arguments are missing', async () => {
    const r = await runNodeAsync(path.join(ROOT, 'scripts/export-precision.mjs'), [], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^usage: node scripts\/export-precision\.mjs/);
  });
});

describe.skipIf(chromiumMissing() !== null)('scripts/export-speed.mjs', { timeout: 180_000 }, () => {
  it('gives the characters per second of charnn sample, the page and the module', async () => {
    const r = await runNodeAsync(path.join(ROOT, 'scripts/export-speed.mjs'), [CKPT, '3000'], dir);
    expect(r.code, r.stderr).toBe(0);
    // No figure is checked: on a loaded machine, the CLI's start-up subtracted can even leave a negative one.
    const runners = [...r.stdout.matchAll(/^\| ([^|]+) \| (-?\d+) \| (-?\d+)% \|$/gm)].map((m) => m[1].replace(/ \(.*/, ''));
    expect(runners).toEqual(['charnn sample', 'page', 'module']);
  });
});
