import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, tempDir } from './helpers/cli.js';
import { readmeCommands, ROOT, section } from './helpers/readme.js';

/**
 * README's "Use it from your own project", as a user does it: the package packed (`npm pack`), installed
 * into a project of its own from the tarball, its command line run there, and README's library examples
 * run there as README prints them (taken from README, so the two cannot drift apart).
 */
let packs: string;
let project: string;
let tarball: string;

beforeAll(async () => {
  packs = tempDir('pack');
  project = tempDir('project');
  // The global setup has just built dist/ and build/; `prepare` would build them again.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', packs], ROOT);
  expect(packed.code, packed.stderr).toBe(0);
  tarball = path.join(packs, packed.stdout.trim().split('\n').at(-1)!);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'my-project', private: true }));
  const installed = await run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], project);
  expect(installed.code, installed.stderr).toBe(0);
});

afterAll(() => {
  for (const dir of [packs, project]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('charnn installed from its tarball into another project', () => {
  it('README says how: npm pack, then npm install of the tarball it names', () => {
    const own = section('Use it from your own project');
    expect(own).toContain('npm pack');
    expect(own).toContain(`npm install /path/to/${path.basename(tarball)}`);
  });

  it('the tarball holds the built code and the corpora, not the sources or the tests', async () => {
    const listed = await run('tar', ['-tzf', tarball], project);
    const files = listed.stdout.trim().split('\n');
    for (const file of ['package/bin/charnn.js', 'package/dist/index.js', 'package/dist/train/worker.js', 'package/build/kernels.wasm', 'package/corpora/lighthouse.txt']) {
      expect(files).toContain(file);
    }
    expect(files.filter((f) => /^package\/(src|test|assembly|scripts)\//.test(f))).toEqual([]);
  });

  it('npx charnn trains there, and README\'s library examples run there as printed', async () => {
    // A small model of the Quick start's corpus, in the project's ./checkpoints/lighthouse as the examples expect.
    const trained = await run('npx', ['--no-install', 'charnn', 'train', 'node_modules/charnn/corpora/lighthouse.txt', '--layers', '1', '--hidden', '32',
      '--seq-length', '16', '--batch-size', '4', '--max-iters', '20', '--eval-every', '10'], project);
    expect(trained.code, trained.stderr).toBe(0);
    const examples = [...section('Use it from Node').matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(examples.length).toBeGreaterThanOrEqual(2);
    const outputs: string[] = [];
    for (const [i, code] of examples.entries()) {
      fs.writeFileSync(path.join(project, `example-${i}.mjs`), code);
      const r = await run(process.execPath, [`example-${i}.mjs`], project);
      expect(r.code, `README's example ${i + 1}:\n${code}\n${r.stderr}`).toBe(0);
      expect(r.stderr, `README's example ${i + 1}`).toBe('');
      expect(r.stdout.length, `README's example ${i + 1}`).toBeGreaterThan(0);
      outputs.push(r.stdout);
    }
    // The first is the sampler: the prime, then 300 characters of the model's own.
    const prime = /prime: '([^']*)'/.exec(examples[0])![1];
    expect(outputs[0].startsWith(prime)).toBe(true);
    expect([...outputs[0]].length).toBe(prime.length + 300);
  });

  it('README\'s commands on the Quick start\'s model run there as printed, without a warning', async () => {
    // Those that read no file of the clone and train nothing (the Quick start's training is checked by hand).
    const commands = readmeCommands().filter((c) => !/ train |corpora\/|notes\/|shakespeare/.test(c));
    expect(commands.length).toBeGreaterThanOrEqual(5);
    const results = await Promise.all(commands.map((command) => run('bash', ['-c', command], project)));
    results.forEach((r, i) => {
      expect(r.code, `${commands[i]}\n${r.stderr}`).toBe(0);
      expect(r.stderr, commands[i]).not.toMatch(/warning|error/i);
    });
  });
});
