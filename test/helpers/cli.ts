import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** The built command line, run as a user runs it. */
export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/charnn.js');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `charnn ...args` to completion in `cwd`; `input` is piped to its standard input. */
export function charnn(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, input?: string | Uint8Array): Promise<RunResult> {
  return runNode(BIN, args, cwd, env, { input });
}

/**
 * Runs a Node script (the CLI, or one of scripts/) to completion in `cwd`, with `input` on its standard
 * input and `nodeOptions` before the script.
 */
export function runNode(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {},
  { input, nodeOptions = [] }: { input?: string | Uint8Array; nodeOptions?: string[] } = {}): Promise<RunResult> {
  return run(process.execPath, [...nodeOptions, file, ...args], cwd, env, input);
}

/**
 * Runs a program (node, npm, a shell) to completion in `cwd`, with `input` on its standard input.
 * Asynchronous, so that the test runner's worker keeps answering its own messages however long a run
 * takes on a loaded machine (a blocking spawnSync over a minute makes vitest fail the suite). The timeout
 * only catches a hang: it is far beyond any test's run.
 */
export function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, input?: string | Uint8Array): Promise<RunResult> {
  const child = spawn(command, args, {
    cwd, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'], timeout: 540_000,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.on('error', () => {}); // a run that exits without reading its input
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `charnn ...args` without waiting, for tests that signal or stream. */
export function startCharnn(args: string[], cwd: string) {
  return spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
}

/** The folders tempDir made in this test file: test/helpers/cleanup.ts removes them after its last test. */
export const tempDirs: string[] = [];

/** A fresh temporary folder for one test file, removed when the file's tests are done. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `charnn-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

/** A deterministic English-like text of about `chars` characters, for training in tests. */
export function syntheticText(chars: number, seed = 1): string {
  const words = ['the', 'lamp', 'kettle', 'sea', 'light', 'keeper', 'night', 'storm', 'boat', 'bell', 'and', 'a', 'of', 'rings', 'sings', 'waits'];
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  let text = '';
  while (text.length < chars) {
    const n = 3 + Math.floor(next() * 6);
    const line = Array.from({ length: n }, () => words[Math.floor(next() * words.length)]).join(' ');
    text += line.charAt(0).toUpperCase() + line.slice(1) + '.\n';
  }
  return text;
}

/** The events `charnn train --json` printed, one JSON object a line. */
export function jsonEvents(stdout: string): any[] {
  return stdout.trim().split('\n').map((l) => JSON.parse(l));
}

/** A checkpoint's JSON, parsed. */
export function readJson(file: string): any {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/**
 * The checkpoint `b` is at `iteration` and holds exactly `a`'s tensors, to the bit (an interrupted and
 * resumed run, or one perturbed in a way that must not change it, against a clean one). Returns both.
 */
export function expectSameWeights(a: string, b: string, iteration: number): { a: any; b: any } {
  const once = readJson(a), twice = readJson(b);
  expect(twice.training.iteration).toBe(iteration);
  expect(Object.keys(twice.tensors).sort()).toEqual(Object.keys(once.tensors).sort());
  for (const name of Object.keys(once.tensors)) expect(twice.tensors[name].data, name).toBe(once.tensors[name].data);
  return { a: once, b: twice };
}

/** No stack trace leaked to the user. */
export function hasStackTrace(stderr: string): boolean {
  return /\n\s+at .+:\d+:\d+/.test(stderr);
}

/** Older names of `charnn` and `runNode`, which never blocked the test worker either. */
export const charnnAsync = charnn;
export const runNodeAsync = runNode;
