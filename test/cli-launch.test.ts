import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNode, tempDir } from './helpers/cli.js';

/**
 * bin/charnn.js starts the command line from its bundle with V8's code cache (src/cli/launch.ts). Checked
 * in fresh Node processes, as bin/charnn.js loads it: the built cache is used, and a cache that does not
 * fit (another build's, or one V8 refuses) is left unused, the command still runs, and the run replaces it.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LAUNCH = path.join(ROOT, 'dist/cli/launch.js');

let dir: string;
/** A copy of the package's bundle and package.json, in the same layout, whose cache the tests may spoil. */
let bundle: string;

beforeAll(() => {
  dir = tempDir('launch');
  bundle = path.join(dir, 'dist/cli-bundle/main.cjs');
  fs.mkdirSync(path.dirname(bundle), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'dist/cli-bundle/main.cjs'), bundle);
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Loads `file` (the built bundle by default) as bin/charnn.js does, runs `args`, saves; prints the cache's state, the exit code and whether it saved. */
async function launch(args: string[], file?: string) {
  const script = `
    const { loadCli } = await import(${JSON.stringify(LAUNCH)});
    const cli = loadCli(${file ? JSON.stringify(file) : ''});
    const code = await cli.main(['node', 'charnn', ...${JSON.stringify(args)}]);
    process.stderr.write(JSON.stringify({ cache: cli.cache, code, saved: cli.save() }) + '\\n');`;
  const r = await runNode('--input-type=module', ['-e', script], dir);
  expect(r.code, r.stderr).toBe(0);
  return { ...(JSON.parse(r.stderr.trim().split('\n').pop()!) as { cache: string; code: number; saved: boolean }), stdout: r.stdout };
}

describe('the command line starts from its code cache', () => {
  it('the build made a cache that this Node uses, so a run does not write one', async () => {
    expect(fs.existsSync(path.join(ROOT, 'dist/cli-bundle/main.cjs.cache'))).toBe(true);
    const r = await launch(['--version']);
    expect(r).toMatchObject({ cache: 'used', code: 0, saved: false });
    expect(r.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('another build\'s cache is not used; the command runs, and writes a cache that the next run uses', async () => {
    const cache = `${bundle}.cache`;
    const built = fs.readFileSync(path.join(ROOT, 'dist/cli-bundle/main.cjs.cache'));
    // The same V8 data under another build's first line: it would fit V8's own checks.
    fs.writeFileSync(cache, Buffer.concat([Buffer.from('// charnn cli 0123456789abcdef\n'), built.subarray(built.indexOf(10) + 1)]));
    const first = await launch(['train', '--help'], bundle);
    expect(first).toMatchObject({ cache: 'absent', code: 0, saved: true });
    expect(first.stdout).toContain('Usage: charnn train');
    expect(fs.readFileSync(cache).subarray(0, 14).toString()).toBe('// charnn cli ');
    expect(await launch(['train', '--help'], bundle)).toMatchObject({ cache: 'used', code: 0, saved: false });
  });

  it('a cache V8 refuses (damaged) is not used; the command runs, and the run replaces it', async () => {
    const cache = `${bundle}.cache`;
    const header = fs.readFileSync(bundle, 'utf8').split('\n')[0] + '\n';
    fs.writeFileSync(cache, Buffer.concat([Buffer.from(header), Buffer.alloc(4096, 7)]));
    const first = await launch(['--version'], bundle);
    expect(first).toMatchObject({ cache: 'rejected', code: 0, saved: true });
    expect(await launch(['--version'], bundle)).toMatchObject({ cache: 'used', code: 0, saved: false });
  });

  it('no cache at all: the command runs, and writes one', async () => {
    fs.rmSync(`${bundle}.cache`, { force: true });
    expect(await launch(['--version'], bundle)).toMatchObject({ cache: 'absent', code: 0, saved: true });
    expect(fs.readdirSync(path.dirname(bundle)).sort()).toEqual(['main.cjs', 'main.cjs.cache']); // no temporary file left
  });

});

describe('a command line that cannot start', () => {
  it('a folder that was never built: bin/charnn.js says so in one line and exits 1, without a stack trace', async () => {
    const pkg = path.join(dir, 'unbuilt');
    fs.mkdirSync(path.join(pkg, 'bin'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'bin/charnn.js'), path.join(pkg, 'bin/charnn.js'));
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
    const hint = "; run npm install (or npm run build) in charnn's folder\n";
    let r = await runNode(path.join(pkg, 'bin/charnn.js'), ['--version'], pkg);
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: `charnn: cannot start the command line: it is not built${hint}` });
    // Built by another charnn: a bundle without the first line that names its build.
    fs.mkdirSync(path.join(pkg, 'dist/cli-bundle'), { recursive: true });
    fs.cpSync(path.join(ROOT, 'dist/cli'), path.join(pkg, 'dist/cli'), { recursive: true });
    fs.writeFileSync(path.join(pkg, 'dist/cli-bundle/main.cjs'), 'module.exports = {};\n');
    r = await runNode(path.join(pkg, 'bin/charnn.js'), ['--version'], pkg);
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: `charnn: cannot start the command line: ${path.join(pkg, 'dist/cli-bundle/main.cjs')} is not charnn's command-line bundle${hint}` });
  });
});
