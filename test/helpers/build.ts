import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The suite's global setup: the tests run the built CLI (dist/, build/), and the library's training
 * starts its worker threads from dist/ too, so whatever `vitest` is started by (`npm test`, `npx vitest
 * run test/x.test.ts`, CI), the build is brought up to date first — and only the parts whose sources
 * changed since they were built, so an up-to-date tree costs a few milliseconds.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** What each built part is made from: its package.json script, its sources, and one file it writes. */
export const PARTS = [
  { script: 'build:wasm', sources: ['assembly', 'package.json'], output: 'build/kernels.wasm' },
  // The native addon: its build never fails, and writes this status line whether it built or not (why not).
  { script: 'build:native', sources: ['native', 'scripts/build-native.mjs'], output: 'build/native-build.txt' },
  // The browser bundles (scripts/export-bundle.mjs, before tsc) hold the page's assets and the WebAssembly
  // inline; the command line's bundle (scripts/cli-bundle.mjs, after tsc) is what bin/charnn.js runs.
  { script: 'build:ts', sources: ['src', 'assets', 'scripts/export-bundle.mjs', 'scripts/cli-bundle.mjs', 'build/kernels.wasm', 'tsconfig.json', 'package.json'], output: 'dist/index.js' },
] as const;

/** The latest modification time of a file, or of any file below a folder (0 when there is none). */
function newest(file: string): number {
  if (!fs.existsSync(file)) return 0;
  const stat = fs.statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...fs.readdirSync(file).map((name) => newest(path.join(file, name))));
}

/** Whether a part's output is missing or older than one of its sources; a part with no sources is not built. */
function isStale({ sources, output }: (typeof PARTS)[number], root: string): boolean {
  const times = sources.map((source) => newest(path.join(root, source)));
  if (times.every((time) => time === 0)) return false;
  const built = fs.existsSync(path.join(root, output)) ? fs.statSync(path.join(root, output)).mtimeMs : -1;
  return times.some((time) => time > built);
}

/** The scripts whose output is missing or older than one of its sources, in build order. */
export function staleParts(root: string): string[] {
  return PARTS.filter((part) => isStale(part, root)).map(({ script }) => script);
}

/** Runs the stale parts' scripts; a failed build stays stale (its output is dated back) and stops the suite. */
export function freshen(root: string, run = (script: string) => execFileSync('npm', ['run', '--silent', script], { cwd: root, stdio: 'inherit' })): string[] {
  const ran: string[] = [];
  // In order, each checked after the one before has run: a new kernels.wasm makes the bundles stale.
  for (const part of PARTS) {
    if (!isStale(part, root)) continue;
    const { script } = part;
    ran.push(script);
    try {
      run(script);
    } catch (error) {
      const output = path.join(root, part.output);
      if (fs.existsSync(output)) fs.utimesSync(output, 0, 0); // tsc writes its output even when it reports errors
      throw new Error(`npm run ${script} failed; fix the build before running the tests`, { cause: error });
    }
  }
  return ran;
}

export default function setup(): void {
  freshen(ROOT);
}
