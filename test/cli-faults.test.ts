import { spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, charnn, hasStackTrace, readJson, runNode, startCharnn, syntheticText, tempDir } from './helpers/cli.js';

/**
 * Nothing is lost, whatever happens: a disk that fills up, a short write, two runs on one folder,
 * kill -9, SIGTERM and SIGHUP, a folder that cannot be used. Every case runs the real CLI.
 */
const TINY = ['--layers', '1', '--hidden', '16', '--seq-length', '16', '--batch-size', '4', '--threads', '1'];
const FAULTY_FS = fileURLToPath(new URL('./helpers/faulty-fs.mjs', import.meta.url));

let dir: string;

beforeAll(async () => {
  dir = tempDir('faults');
  fs.writeFileSync(path.join(dir, 'corpus.txt'), syntheticText(6000));
});

/** charnn with checkpoint writes failing as `fault` says (see helpers/faulty-fs.mjs). */
function charnnWithFault(args: string[], fault: Record<string, string>) {
  return runNode(BIN, args, dir, fault, { nodeOptions: ['--import', FAULTY_FS] });
}

const oneLine = (stderr: string) => stderr.trim().split('\n').at(-1)!;

/** Resolves with the first JSON event of this type that the child prints on stdout. */
function nextEvent(child: ChildProcessWithoutNullStreams, type: string): Promise<any> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (d: Buffer) => {
      buffer += d;
      for (const line of buffer.split('\n').slice(0, -1)) {
        const event = JSON.parse(line);
        if (event.type === type) {
          child.stdout.off('data', onData);
          resolve(event);
          return;
        }
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
    };
    child.stdout.on('data', onData);
    child.on('close', (code) => reject(new Error(`charnn exited (${code}) before a "${type}" event`)));
  });
}

function exited(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr, stdout })));
}

const files = (folder: string) => fs.readdirSync(path.join(dir, folder)).sort();

describe('writes that fully happen or not at all', () => {
  it('short writes are completed: the checkpoint equals one written without them', async () => {
    const args = ['train', 'corpus.txt', ...TINY, '--max-iters', '10', '--eval-every', '10'];
    expect((await charnn([...args, '--checkpoint-dir', 'plain'], dir)).code).toBe(0);
    const r = await charnnWithFault([...args, '--checkpoint-dir', 'short'], { FAULT: 'short-write' });
    expect(r.code, r.stderr).toBe(0);
    for (const name of ['latest.json', 'best.json']) {
      expect(readJson(path.join(dir, 'short', name)).tensors).toEqual(readJson(path.join(dir, 'plain', name)).tensors);
    }
    expect((await charnn(['info', 'short/latest.json'], dir)).code).toBe(0);
  });

  it('a disk that fills up while the corpus index is written ends the run well (exit 0) with a warning, the checkpoints whole and no temp file', async () => {
    // The evaluation at the end writes best.json and latest.json; the disk is full for the index after them.
    const r = await charnnWithFault(['train', 'corpus.txt', ...TINY, '--max-iters', '10', '--eval-every', '10', '--checkpoint-dir', 'index-full'],
      { FAULT: 'enospc', FAULT_AFTER: '2' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: the corpus index was not written \(.*\); sample --copies and --max-copy need it: charnn index builds it later/);
    expect(files('index-full')).toEqual(['best.json', 'latest.json']);
    expect((await charnn(['info', 'index-full/latest.json'], dir)).code).toBe(0);
  });

  it('a disk that fills up during a save keeps the previous checkpoints, says so in one line, exits 1 and leaves no temp file', async () => {
    // The first evaluation writes best.json and latest.json; the disk is full at the second.
    const r = await charnnWithFault(['train', 'corpus.txt', ...TINY, '--max-iters', '20', '--eval-every', '10', '--checkpoint-dir', 'full'],
      { FAULT: 'enospc', FAULT_AFTER: '2' });
    expect(r.code, r.stderr).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/^charnn: could not save (best|latest)\.json in full: the disk is full \(ENOSPC\): the checkpoint needs [\d.]+ kB, [\d.]+ [kMG]B free — free some space or use another --checkpoint-dir; the previous checkpoint there is intact$/);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(files('full')).toEqual(['best.json', 'latest.json']);
    for (const name of ['latest.json', 'best.json']) {
      const info = await charnn(['info', `full/${name}`, '--json'], dir);
      expect(info.code, info.stderr).toBe(0);
      expect(JSON.parse(info.stdout).iteration).toBe(10);
    }
  });

  it('best.json is written before latest.json, so latest never records a best that best.json lacks', async () => {
    // The disk fills after one file of the first evaluation: best.json exists, latest.json does not yet.
    const r = await charnnWithFault(['train', 'corpus.txt', ...TINY, '--max-iters', '10', '--eval-every', '10', '--checkpoint-dir', 'order'],
      { FAULT: 'enospc', FAULT_AFTER: '1' });
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/could not save latest\.json in order/);
    expect(files('order')).toEqual(['best.json']);
  });
});

describe('a real full disk (a small tmpfs; needs root)', () => {
  const mount = path.join(tempDir('tmpfs'), 'disk');
  fs.mkdirSync(mount);
  const mounted = process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mount]).status === 0;
  if (!mounted) console.log('skipping the tmpfs tests: they need root and mount -t tmpfs');
  afterAll(async () => {
    if (mounted) spawnSync('umount', [mount]);
  });

  it.skipIf(!mounted)('resuming on a nearly full disk fails at the save with exit 1 and the good checkpoints intact', async () => {
    const ck = path.join(mount, 'ck');
    const args = ['train', 'corpus.txt', '--layers', '1', '--hidden', '48', '--seq-length', '16', '--batch-size', '4', '--threads', '1', '--eval-every', '10', '--checkpoint-dir', ck];
    expect((await charnn([...args, '--max-iters', '10'], dir)).code).toBe(0);
    const before = ['latest.json', 'best.json'].map((f) => fs.readFileSync(path.join(ck, f)));
    // Leave 24 kB: room for the lock and the probe, not for a checkpoint of ~170 kB.
    const free = fs.statfsSync(mount).bavail * fs.statfsSync(mount).bsize;
    fs.writeFileSync(path.join(mount, 'filler'), Buffer.alloc(free - 24 * 1024));
    const r = await charnn([...args, '--resume', '--max-iters', '30'], dir);
    expect(r.code, r.stderr).toBe(1);
    expect(oneLine(r.stderr)).toMatch(new RegExp(`could not save (best|latest)\\.json in ${ck}: the disk is full \\(ENOSPC\\): the checkpoint needs \\d+\\.\\d kB, \\d+\\.\\d kB free`));
    expect(['latest.json', 'best.json'].map((f) => fs.readFileSync(path.join(ck, f)))).toEqual(before);
    expect(fs.readdirSync(ck).sort()).toEqual(['best.json', 'corpus.index', 'latest.json']);

    // With no room left at all, the run stops before training (exit 2), at the folder check.
    fs.appendFileSync(path.join(mount, 'filler'), Buffer.alloc(fs.statfsSync(mount).bavail * fs.statfsSync(mount).bsize));
    const full = await charnn([...args, '--resume', '--max-iters', '30'], dir);
    expect(full.code).toBe(2);
    expect(full.stderr).toBe(`charnn: cannot use ${ck} as the checkpoint folder: the disk is full; use another --checkpoint-dir\n`);
    expect(fs.readdirSync(ck).sort()).toEqual(['best.json', 'corpus.index', 'latest.json']);
  });

  it.skipIf(!mounted)('a read-only file system is found out before training (exit 2)', async () => {
    expect(spawnSync('mount', ['-o', 'remount,ro', mount]).status).toBe(0);
    try {
      const r = await charnn(['train', 'corpus.txt', ...TINY, '--max-iters', '5', '--checkpoint-dir', path.join(mount, 'new')], dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`charnn: cannot use ${path.join(mount, 'new')} as the checkpoint folder: the file system is read-only; use another --checkpoint-dir\n`);
    } finally {
      spawnSync('mount', ['-o', 'remount,rw', mount]);
    }
  });
});

describe('the checkpoint folder is checked before any training', () => {
  it('a file where the folder should be: exit 2, one line, nothing trained', async () => {
    fs.writeFileSync(path.join(dir, 'a-file'), 'x');
    for (const folder of ['a-file', 'a-file/sub']) {
      const r = await charnn(['train', 'corpus.txt', ...TINY, '--max-iters', '5', '--checkpoint-dir', folder], dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`charnn: cannot use ${folder} as the checkpoint folder: a file is in the way (it, or a folder above it, is not a folder); use another --checkpoint-dir\n`);
    }
  });

  it('a run that stops at a usage error leaves no folder behind', async () => {
    const r = await charnn(['train', 'corpus.txt', ...TINY, '--batch-size', '100000', '--checkpoint-dir', 'never/made'], dir);
    expect(r.code).toBe(2);
    expect(fs.existsSync(path.join(dir, 'never'))).toBe(false);
  });
});

describe('one run per checkpoint folder', () => {
  it('a second train on a folder in use is exit 2 naming the PID; sample and info still read it; a killed run\'s lock is taken over', async () => {
    const first = startCharnn(['train', 'corpus.txt', ...TINY, '--max-iters', '1000000', '--eval-every', '5', '--checkpoint-dir', 'busy', '--json'], dir);
    const firstDone = exited(first);
    await nextEvent(first, 'checkpoint');
    const lock = readJson(path.join(dir, 'busy/charnn.lock'));
    expect(lock.pid).toBe(first.pid);
    for (const extra of [['--force'], ['--resume']]) {
      const r = await charnn(['train', 'corpus.txt', ...TINY, '--checkpoint-dir', 'busy', ...extra], dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`charnn: busy is in use by charnn (PID ${first.pid}, started ${lock.started}); wait for it or use another --checkpoint-dir\n`);
    }
    expect((await charnn(['info', 'busy/latest.json'], dir)).code).toBe(0);
    expect((await charnn(['sample', '--checkpoint', 'busy/best.json', '--length', '20'], dir)).code).toBe(0);

    first.kill('SIGKILL');
    expect((await firstDone).signal).toBe('SIGKILL');
    const next = await charnn(['train', 'corpus.txt', ...TINY, '--resume', '--max-iters', '1', '--checkpoint-dir', 'busy'], dir);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain(`took over busy/charnn.lock from a run that is gone (PID ${first.pid}, started ${lock.started})`);
    expect(fs.existsSync(path.join(dir, 'busy/charnn.lock'))).toBe(false);
  });

  it('of two runs started together on one folder, one trains and the other is refused', async () => {
    const args = ['train', 'corpus.txt', ...TINY, '--max-iters', '30', '--eval-every', '10', '--checkpoint-dir', 'twins'];
    const results = await Promise.all([exited(startCharnn(args, dir)), exited(startCharnn(args, dir))]);
    expect(results.map((r) => r.code).sort()).toEqual([0, 2]);
    expect(results.find((r) => r.code === 2)!.stderr).toMatch(/^charnn: (twins is in use by charnn \(PID \d+|twins\/latest\.json already holds a training run)/);
  });
});

describe('kill -9 leaves nothing behind that a run does not clean up', () => {
  it('after kill -9s during training and one clean run, the folder holds only the checkpoints', async () => {
    const args = ['train', 'corpus.txt', ...TINY, '--max-iters', '1000000', '--eval-every', '1', '--checkpoint-dir', 'killed', '--json'];
    for (let kill = 0; kill < 6; kill++) {
      const child = startCharnn(kill === 0 ? args : [...args, '--resume'], dir);
      const done = exited(child);
      for (let saves = 0; saves <= kill; saves++) await nextEvent(child, 'checkpoint');
      child.kill('SIGKILL');
      await done;
    }
    // A temp file as a killed run leaves it mid-write (the PID of a process that has ended).
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    fs.writeFileSync(path.join(dir, `killed/latest.json.${gone}.tmp`), '{"format":"charnn-chec');
    const r = await charnn(['train', 'corpus.txt', ...TINY, '--resume', '--max-iters', '1', '--checkpoint-dir', 'killed'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`removed \\d+ temp file\\(s\\) left by runs that were killed: .*latest\\.json\\.${gone}\\.tmp`));
    expect(files('killed')).toEqual(['best.json', 'corpus.index', 'latest.json']);
  });
});

describe('SIGTERM and SIGHUP stop training as Ctrl-C does', () => {
  for (const [signal, code] of [['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    it(`${signal}: finishes the iteration, saves, says where, exits ${code}`, async () => {
      const folder = `signal-${signal}`;
      const child = startCharnn(['train', 'corpus.txt', ...TINY, '--max-iters', '1000000', '--eval-every', '1000', '--checkpoint-dir', folder, '--json'], dir);
      const done = exited(child);
      await nextEvent(child, 'iteration');
      child.kill(signal);
      const r = await done;
      expect(r.code).toBe(code);
      expect(r.stderr).toContain(`interrupted (${signal}): saving a checkpoint`);
      const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
      expect(last).toMatchObject({ type: 'done', reason: 'interrupted', latest: `${folder}/latest.json` });
      expect(readJson(path.join(dir, folder, 'latest.json')).training.iteration).toBe(last.iteration);
      expect(files(folder)).toEqual(['best.json', 'latest.json']);
    });
  }
});

describe('divergence', () => {
  it('a loss that grows past 3× its start stops training (exit 1) with advice for a sensible learning rate', async () => {
    const r = await charnn(['train', 'corpus.txt', ...TINY, '--lr', '1e6', '--max-iters', '50', '--checkpoint-dir', 'diverged'], dir);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/^charnn: training diverged at iteration \d+ \((validation )?loss [\d.e+]+, over 3× the [\d.]+ it started at\); no checkpoint was written; lower the learning rate, e\.g\. --lr 0\.002$/);
  });
});
