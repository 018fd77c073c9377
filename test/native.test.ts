import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsKernels } from '../src/kernels/js.js';
import { blasInfo, NativeKernels, nativeUnavailableReason } from '../src/kernels/native.js';
import { charnn, expectSameWeights, hasStackTrace, readJson, syntheticText, tempDir } from './helpers/cli.js';

/**
 * The native backend (the addon over the system's BLAS) in use: on shared memory, in worker threads,
 * resuming exactly, and the fallback to wasm when the addon does not load. The kernels themselves are
 * cross-checked against the reference in test/kernels.test.ts, the model's gradients in gradcheck.
 * Everything but the fallback is skipped, saying why, where the addon is not built.
 */
const missing = nativeUnavailableReason();
const TINY = ['--layers', '2', '--hidden', '16', '--seq-length', '16', '--batch-size', '5', '--eval-every', '7', '--lr-schedule', 'exp'];

let dir: string;

beforeAll(() => {
  dir = tempDir('native');
  fs.writeFileSync(path.join(dir, 'corpus.txt'), syntheticText(6000));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The float32 values of a checkpoint tensor. */
const floats = (b64: string) => new Float32Array(new Uint8Array(Buffer.from(b64, 'base64')).buffer);

describe.skipIf(missing !== undefined)(`the native backend${missing ? ` (skipped, the addon is not built: ${missing})` : ''}`, () => {
  it('works in place on a view of a SharedArrayBuffer that does not start at its first byte', () => {
    const buffer = new SharedArrayBuffer(4 * 300);
    const heap = new Float32Array(buffer, 4 * 40, 200);
    heap.forEach((_, i) => (heap[i] = Math.sin(i)));
    const reference = new JsKernels(heap.slice());
    const index = Int32Array.from([9, 3, 3, 0, 7, 1]);
    for (const k of [new NativeKernels(heap), reference]) {
      k.gatherRows(4, 5, index, 2, 0, 100, false);
      k.gemm(false, true, 2, 3, 5, 100, 5, 0, 5, 150, 3, false);
    }
    expect(Array.from(heap.subarray(100, 120))).toEqual(Array.from(reference.heap.subarray(100, 120)));
    for (let i = 150; i < 156; i++) expect(heap[i]).toBeCloseTo(reference.heap[i], 5);
    // Nothing before the view was written.
    expect(Array.from(new Float32Array(buffer, 0, 40))).toEqual(new Array(40).fill(0));
  });

  it('names the BLAS it runs on, which runs one thread per calling thread (charnn\'s threads share the cores)', () => {
    expect(blasInfo()).toMatch(/OpenBLAS|Accelerate/);
    if (blasInfo().startsWith('OpenBLAS')) expect(blasInfo()).toMatch(/^OpenBLAS [\d.]+, \w+ kernels, 1 thread$/);
  });

  it('N+M iterations in one run equal N, stop, resume, M — byte for byte, on two threads', async () => {
    const common = ['corpus.txt', ...TINY, '--backend', 'native', '--threads', '2', '--dropout', '0.2'];
    const once = await charnn(['train', ...common, '--max-iters', '16', '--checkpoint-dir', 'once'], dir);
    expect(once.code, once.stderr).toBe(0);
    expect(once.stderr).toContain(`native kernels (${blasInfo()})`);
    expect((await charnn(['train', ...common, '--max-iters', '9', '--checkpoint-dir', 'twice'], dir)).code).toBe(0);
    const resumed = await charnn(['train', 'corpus.txt', '--resume', '--max-iters', '16', '--backend', 'native', '--threads', '2', '--checkpoint-dir', 'twice'], dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    expectSameWeights(path.join(dir, 'once/latest.json'), path.join(dir, 'twice/latest.json'), 16);
  });

  it('worker threads give the weights of one thread, up to the order of float sums', async () => {
    const common = ['corpus.txt', ...TINY, '--model', 'gru', '--backend', 'native', '--max-iters', '6', '--grad-clip', '0.1'];
    expect((await charnn(['train', ...common, '--threads', '1', '--checkpoint-dir', 'one-thread'], dir)).code).toBe(0);
    const r = await charnn(['train', ...common, '--threads', '2', '--checkpoint-dir', 'two-threads'], dir);
    expect(r.code, r.stderr).toBe(0);
    const one = readJson(path.join(dir, 'one-thread/latest.json')), two = readJson(path.join(dir, 'two-threads/latest.json'));
    for (const name of Object.keys(one.tensors)) {
      const x = floats(one.tensors[name].data), y = floats(two.tensors[name].data);
      const scale = Math.max(1e-3, ...Array.from(x, Math.abs));
      for (let i = 0; i < x.length; i++) expect(Math.abs(x[i] - y[i]) / scale, `${name}[${i}]`).toBeLessThan(1e-4);
    }
    expect(two.training.lastValLoss).toBeCloseTo(one.training.lastValLoss, 5);
  });
});

describe('without the addon (CHARNN_NATIVE_ADDON naming a file that is not there)', () => {
  const unloadable = { CHARNN_NATIVE_ADDON: '/nonexistent/charnn.node' };

  it('charnn train runs on wasm and says once, on its start line, why not native', async () => {
    const r = await charnn(['train', 'corpus.txt', ...TINY, '--max-iters', '3', '--checkpoint-dir', 'fallback'], dir, unloadable);
    expect(r.code, r.stderr).toBe(0);
    const said = r.stderr.split('\n').filter((line) => line.includes('native backend not built'));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain('wasm kernels (native backend not built: CHARNN_NATIVE_ADDON=/nonexistent/charnn.node does not load');
    expect(said[0]).toContain('see README');
    expect(readJson(path.join(dir, 'fallback/latest.json')).training.iteration).toBe(3);
  });

  it('asking for --backend native is a usage error naming the reason and the way out', async () => {
    const r = await charnn(['train', 'corpus.txt', ...TINY, '--max-iters', '3', '--backend', 'native', '--checkpoint-dir', 'refused'], dir, unloadable);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the native backend is not available: CHARNN_NATIVE_ADDON=\/nonexistent\/charnn\.node does not load .*\(or use --backend wasm\)/);
    expect(hasStackTrace(r.stderr)).toBe(false);
  });
});
