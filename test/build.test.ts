import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshen, staleParts } from './helpers/build.js';
import { tempDir } from './helpers/cli.js';

/**
 * The suite's global setup (test/helpers/build.ts) rebuilds before the tests run whatever is older than
 * its sources, so `npx vitest` never runs a stale dist/ (the training worker included). Checked on a
 * tree of its own, with the real layout and dated files.
 */
let root: string;
const HOUR = 3600;

/** Writes `file` under the tree, dated `age` seconds ago. */
function write(file: string, age: number): void {
  const full = path.join(root, file);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, file);
  const when = Date.now() / 1000 - age;
  fs.utimesSync(full, when, when);
}

beforeAll(() => {
  root = tempDir('build');
  for (const file of ['package.json', 'tsconfig.json', 'src/train/engine.ts', 'src/train/worker.ts', 'assembly/kernels.ts']) write(file, 3 * HOUR);
  write('build/kernels.wasm', 2 * HOUR);
  write('dist/index.js', 2 * HOUR);
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('the build before the tests', () => {
  it('runs nothing when every output is newer than its sources', () => {
    expect(staleParts(root)).toEqual([]);
    expect(freshen(root, () => expect.fail('nothing to build'))).toEqual([]);
  });

  it('rebuilds the TypeScript after an edit to the worker, deep in src/, and only that', () => {
    write('src/train/worker.ts', HOUR);
    const ran: string[] = [];
    expect(freshen(root, (script) => {
      ran.push(script);
      write('dist/index.js', 0.75 * HOUR);
    })).toEqual(['build:ts']);
    expect(ran).toEqual(['build:ts']);
    expect(staleParts(root)).toEqual([]);
  });

  it('rebuilds the WebAssembly after an edit to assembly/, and both after one to package.json (the scripts live there)', () => {
    write('assembly/kernels.ts', HOUR);
    expect(staleParts(root)).toEqual(['build:wasm']);
    write('package.json', 0.5 * HOUR);
    expect(staleParts(root)).toEqual(['build:wasm', 'build:ts']);
  });

  it('builds what was never built', () => {
    fs.rmSync(path.join(root, 'dist'), { recursive: true });
    fs.rmSync(path.join(root, 'build'), { recursive: true });
    expect(staleParts(root)).toEqual(['build:wasm', 'build:ts']);
  });

  it('a failed build stops the suite and stays stale, though tsc wrote its output', () => {
    write('build/kernels.wasm', 0);
    write('src/model/model.ts', HOUR);
    expect(() => freshen(root, (script) => {
      if (script === 'build:ts') {
        write('dist/index.js', 0); // tsc emits even when it reports type errors
        throw new Error('tsc: error TS2322');
      }
    })).toThrow(/npm run build:ts failed; fix the build before running the tests/);
    expect(staleParts(root)).toEqual(['build:ts']);
  });
});
