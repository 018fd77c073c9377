import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../src/checkpoint/store.js';
import { describeParams } from '../src/model/model.js';
import { packModel, unpackWeights } from '../src/web/pack.js';
import { encodedSize, roundTrip } from '../src/web/precision.js';
import { charnnAsync, hasStackTrace, tempDir } from './helpers/cli.js';
import { exportFixture } from './helpers/export.js';

describe('charnn export', { timeout: 120_000 }, () => {
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('export');
    await exportFixture(dir);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a checkpoint');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes the newest checkpoint as <name>.html by default, and as <name>.mjs with --format module', async () => {
    const page = await charnnAsync(['export'], dir);
    expect(page.code, page.stderr).toBe(0);
    expect(page.stderr).toMatch(/exporting checkpoints.lighthouse.best\.json/);
    const html = fs.readFileSync(path.join(dir, 'lighthouse.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('"name":"lighthouse"');
    expect(html).not.toMatch(/\bsrc=|\bhref=/); // nothing to fetch
    const module = await charnnAsync(['export', '--format', 'module'], dir);
    expect(module.code, module.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'lighthouse.mjs'), 'utf8')).toMatch(/^\/\/ lighthouse: a 2×16 lstm written by charnn export/);
  });

  it('gives, from the module imported by Node, the text of charnn sample', async () => {
    const ckpt = 'checkpoints/lighthouse/best.json';
    expect((await charnnAsync(['export', ckpt, '--format', 'module', '--precision', 'f32', '--out', 'exact.mjs'], dir)).code).toBe(0);
    const cli = await charnnAsync(['sample', '--checkpoint', ckpt, '--prime', 'The ', '--seed', '11', '--length', '120', '--top-p', '0.9', '--temp', '0.8', '--json'], dir);
    const cliText = JSON.parse(cli.stdout).text; // exactly, without the final newline the CLI adds
    const module = await import(path.join(dir, 'exact.mjs'));
    let generated = '';
    for await (const piece of module.generate({ prime: 'The ', seed: 11, length: 120, topP: 0.9, temperature: 0.8 })) generated += piece;
    expect(generated).toBe(cliText);
    module.reset();
    module.feed('The ');
    let steered = 'The ';
    for (let i = 0; i < 12; i++) steered += module.next({ seed: 11, length: 10, topP: 0.9, temperature: 0.8 });
    expect(steered).toBe(cliText);
  });

  it('gives, through charnn/web on the plain-TypeScript kernels (browsers without shared memory), the text of charnn sample --backend js', async () => {
    const ckpt = 'checkpoints/lighthouse/best.json';
    const cli = await charnnAsync(['sample', '--checkpoint', ckpt, '--seed', '4', '--length', '80', '--top-k', '9', '--backend', 'js', '--json'], dir);
    const { WebModel } = await import('charnn/web');
    const model = await WebModel.open(await packModel(await loadCheckpoint(path.join(dir, ckpt)), 'f32', { name: 'lighthouse', savedAt: '' }), { backend: 'js' });
    let generated = '';
    for await (const piece of model.generate({ seed: 4, length: 80, topK: 9 })) generated += piece;
    expect(model.backend).toBe('js');
    expect(generated).toBe(JSON.parse(cli.stdout).text);
  });

  it('stores the weights smaller at f16 and int8 than at f32', async () => {
    const sizes: Record<string, number> = {};
    for (const precision of ['f32', 'f16', 'int8']) {
      const r = await charnnAsync(['export', 'checkpoints/lighthouse/best.json', '--precision', precision, '--out', `${precision}.html`], dir);
      expect(r.code, r.stderr).toBe(0);
      sizes[precision] = fs.statSync(path.join(dir, `${precision}.html`)).size;
    }
    expect(sizes.f16).toBeLessThan(sizes.f32);
    expect(sizes.int8).toBeLessThan(sizes.f16);
  });

  it.each([
    ['a file that is not a checkpoint', ['export', 'notes.txt'], /notes\.txt/],
    ['a missing checkpoint', ['export', 'gone.json'], /no checkpoint at gone\.json/],
    ['an --out in a folder that does not exist', ['export', 'checkpoints/lighthouse/best.json', '--out', 'no/such/folder/x.html'], /cannot write no\/such\/folder\/x\.html: .*choose another --out/],
    ['an --out that is a folder', ['export', 'checkpoints/lighthouse/best.json', '--out', 'checkpoints'], /cannot write checkpoints: .*choose another --out/],
    ['an unknown format', ['export', '--format', 'pdf'], /option '--format <format>' argument 'pdf' is invalid\. expected one of: page, module/],
    ['an unknown precision', ['export', '--precision', 'f8'], /option '--precision <p>' argument 'f8' is invalid\. expected one of: f32, f16, int8/],
  ])('refuses %s in one line, exit 2', async (_, args, message) => {
    const r = await charnnAsync(args, dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('(run with --help'))).toHaveLength(1);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });
});

describe('weights at a lower precision', () => {
  it('packs a model and unpacks its weights: exactly at f32, as rounded at f16 and int8', async () => {
    const dir = tempDir('export-pack');
    try {
      const ckpt = await loadCheckpoint(await exportFixture(dir));
      for (const precision of ['f32', 'f16', 'int8'] as const) {
        const packed = await packModel(ckpt, precision, { name: 'lighthouse', savedAt: '2026-01-01T00:00:00.000Z' });
        expect(packed.weights).toMatch(/^[^"\\<>&'`$~\s]+$/);
        const weights = await unpackWeights(packed);
        expect(weights).toEqual(describeParams(ckpt.model).map((p) => roundTrip(precision, ckpt.tensors.get(p.name)!.data)));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('f16 keeps the nearest half-precision value (ties to even), subnormals, and overflows to infinity', () => {
    const values = Float32Array.of(1, -2.5, 0.1, 65504, 1e5, 2 ** -24, 2 ** -26, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 0);
    expect([...roundTrip('f16', values)]).toEqual([1, -2.5, 0.0999755859375, 65504, Infinity, 2 ** -24, 0, 1, 1 + 4 * 2 ** -11, 0]);
  });

  it('int8 errs by at most half a step of each group of 64, whose step is its largest magnitude / 127', () => {
    const values = Float32Array.from({ length: 200 }, (_, i) => Math.sin(i * 1.7) * (i < 64 ? 0.01 : 3));
    const back = roundTrip('int8', values);
    for (let i = 0; i < values.length; i++) {
      const group = values.slice(Math.floor(i / 64) * 64, Math.floor(i / 64) * 64 + 64);
      const step = Math.max(...group.map(Math.abs)) / 127;
      expect(Math.abs(back[i] - values[i])).toBeLessThanOrEqual(step / 2 + 1e-7);
    }
    expect(encodedSize('int8', 200)).toBe(4 * 4 + 200);
  });
});
